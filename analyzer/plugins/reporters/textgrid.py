"""Rich tables written by hand: the same characters as rich's renderer, a hundred times faster.

rich lays a table out cell by cell through its segment machinery: 230 ms
for ResNet-50's per-layer table against 6 ms for the analysis itself
(bench/render.py). The tables the reporters build are simple (one box
style, one line per cell, plain or right-aligned text), so ``render``
writes them directly: the same bytes rich writes, colours included (bold
headers, an italic title), tested against rich on the zoo's reports. It
answers None for anything it does not reproduce exactly (a table wider
than the console, which rich would shrink; a cell of several lines or
with styled markup under colour; another box or padding), and the caller
lets rich render that one.
"""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

_BOLD, _ITALIC, _RESET = "\x1b[1m", "\x1b[3m", "\x1b[0m"


def _width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _simple(table: Table) -> bool:
    """Only the layout options ``render`` reproduces."""
    t = table
    return (
        t.box in (box.HEAVY_HEAD, box.SIMPLE_HEAD) and t.show_edge and t.show_header and not t.show_footer
        and not t.show_lines and not t.leading and not t.expand and t.caption is None and t.style in ("none", "", None)
        and t.padding == (0, 1, 0, 1) and t.title_justify == "left" and t.header_style == "bold"
        and t.width is None and t.min_width is None and not t.row_styles and not t.border_style
        and isinstance(t.title, str | None) and t.title_style is None
        and all(not r.style for r in t.rows)
        and all(not c.style and not c.header_style and not c.footer and c.justify in ("left", "right")
                and c.width is None and c.ratio is None and isinstance(c.header, str) for c in t.columns)
    )  # fmt: skip


def _plain_cell(cell: Any, console: Console, color: bool) -> tuple[str, int] | None:
    """What a cell shows and its width in cells, or None when rich must draw it (several lines,
    several styles under colour)."""
    if type(cell) is not str:
        return None
    shown = None
    if "[" in cell or ":" in cell:  # markup or an :emoji: code: what rich makes of it
        text = console.render_str(cell, highlight=False)
        cell = text.plain
        if (
            color and text.spans
        ):  # one style over the whole text (a totals group's name): as rich writes it
            span = text.spans[0]
            system = getattr(console, "_color_system", None)
            if (
                len(text.spans) > 1
                or text.style
                or span.start
                or span.end != len(cell)
                or system is None
            ):
                return None
            style = console.get_style(span.style) if isinstance(span.style, str) else span.style
            shown = style.render(cell, color_system=system)
    if "\n" in cell or (cell and (cell[0].isspace() or cell[-1].isspace())):
        return None  # rich justifies stripped text
    return (cell if shown is None else shown), _width(cell)


def render(table: Any, console: Console, color: bool) -> str | None:
    """``table`` as rich prints it on ``console`` (its width; colour when ``color``), or None."""
    if not isinstance(table, Table) or not _simple(table):
        return None
    if console.legacy_windows or not console.encoding.lower().startswith("utf"):
        return None  # rich substitutes ASCII boxes there
    headers: list[tuple[str, int]] = []
    columns: list[list[tuple[str, int]]] = []
    widths: list[int] = []
    for col in table.columns:
        header = _plain_cell(col.header, console, False)  # bold under colour: written below
        if header is None or (color and "[" in col.header):
            return None  # rich mixes the header's markup into the bold
        cells = []
        widest = max(header[1], col.min_width or 0)
        for cell in col._cells:
            if (type(cell) is str and cell.isascii() and "[" not in cell and ":" not in cell  # plain text
                    and (not cell or not (cell[0].isspace() or cell[-1].isspace() or "\n" in cell))):  # fmt: skip
                shown = (cell, len(cell))
            else:
                shown = _plain_cell(cell, console, color)
                if shown is None:
                    return None
            cells.append(shown)
            if shown[1] > widest:
                widest = shown[1]
        if col.max_width is not None and widest > col.max_width:
            if any(c[1] > col.max_width for c in cells):
                return None  # rich folds the column's cells
            widest = col.max_width  # only the header is wider: rich wraps it (below)
        if color and not widest:
            return None  # an empty column: rich writes its bold header unstyled
        headers.append(header)
        columns.append(cells)
        widths.append(widest)
    if not widths:
        return None
    b, n_cols = table.box, len(widths)
    lpad = [0 if i == 0 and not table.pad_edge else 1 for i in range(n_cols)]
    rpad = [0 if i == n_cols - 1 and not table.pad_edge else 1 for i in range(n_cols)]
    spans = [w + lp + rp for w, lp, rp in zip(widths, lpad, rpad, strict=True)]
    if 0 in spans:
        return None  # an empty column without padding: rich gives it a cell anyway
    total = sum(spans) + n_cols + 1  # the box's one-cell edges and dividers
    if (
        total > console.width
    ):  # rich shrinks the wrapable columns (its own arithmetic), cells then wrap
        if any(c.no_wrap or c.width is not None or c.overflow != "fold" for c in table.columns):
            return None
        shrunk = table._collapse_widths(spans, [True] * n_cols, console.width - n_cols - 1)
        if sum(shrunk) + n_cols + 1 > console.width or any(
            (c.min_width is not None or c.max_width is not None) and new < old
            for c, new, old in zip(table.columns, shrunk, spans, strict=True)
        ):
            return None  # rich's last resort (every column reduced), or a bounded column shrunk
        spans = [min(s_, c_) for s_, c_ in zip(spans, shrunk, strict=True)]
        widths = [s_ - lp - rp for s_, lp, rp in zip(spans, lpad, rpad, strict=True)]
        if min(widths) < 1:
            return None
        total = sum(spans) + n_cols + 1
    title = table.title
    if title and (_width(title) > total or "[" in title or "\n" in title):
        return None  # rich wraps the title
    rights = [c.justify == "right" for c in table.columns]

    def just(cell: tuple[str, int], w: int, right: bool) -> str:
        text, width = cell
        return " " * (w - width) + text if right else text + " " * (w - width)

    def rule(left: str, horizontal: str, cross: str, right: str) -> str:
        return left + cross.join(horizontal * w for w in spans) + right

    lines = []
    if title:
        line = title + " " * (total - _width(title))
        lines.append(_ITALIC + line + _RESET if color else line)
    lines.append(rule(b.top_left, b.top, b.top_divider, b.top_right))
    # a header wider than its column (a narrow terminal's fixed-width numbers) wraps as rich wraps
    # it, and the header row is bottom-aligned
    wrapped = []
    for (h, hw), w, col in zip(headers, widths, table.columns, strict=True):
        if hw <= w:
            wrapped.append([(h, hw)])
        else:
            parts = [
                line.plain
                for line in Text(h).wrap(console, w, justify=col.justify, overflow="fold")
            ]
            wrapped.append([(p, _width(p)) for p in parts])
    height = max(len(x) for x in wrapped)
    for k in range(height):
        cells = []
        for lines_, w, r, lp, rp in zip(wrapped, widths, rights, lpad, rpad, strict=True):
            at = k - (height - len(lines_))
            if at < 0:  # above a shorter header: blank, one bold run under colour as rich writes it
                blank = " " * (lp + w + rp)
                cells.append(_BOLD + blank + _RESET if color else blank)
                continue
            text = just(lines_[at], w, r)
            if color:
                pad = _BOLD + " " + _RESET
                cells.append(pad * lp + _BOLD + text + _RESET + pad * rp)
            else:
                cells.append(" " * lp + text + " " * rp)
        lines.append(b.head_left + b.head_vertical.join(cells) + b.head_right)
    lines.append(rule(b.head_row_left, b.head_row_horizontal, b.head_row_cross, b.head_row_right))
    section = rule(b.row_left, b.row_horizontal, b.row_cross, b.row_right)
    n = len(table.rows)
    layout = list(zip(widths, rights, lpad, rpad, strict=True))
    justify = [c.justify for c in table.columns]
    for i, row in enumerate(table.rows):
        cells = [
            " " * lp + just(col[i], w, r) + " " * rp
            for col, (w, r, lp, rp) in zip(columns, layout, strict=True)
        ]
        if any(
            col[i][1] > w for col, w in zip(columns, widths, strict=True)
        ):  # a shrunk column: wrap
            if any("\x1b" in col[i][0] for col in columns):
                return None  # a styled cell's lines: rich's
            wraps = [
                [(p, _width(p)) for p in (line.plain for line in Text(col[i][0]).wrap(console, w, justify=jf, overflow="fold"))]
                if col[i][1] > w else [col[i]]
                for col, w, jf in zip(columns, widths, justify, strict=True)
            ]  # fmt: skip
            for k in range(max(len(x) for x in wraps)):  # top-aligned
                cells = [
                    " " * lp + (just(x[k], w, r) if k < len(x) else " " * w) + " " * rp
                    for x, (w, r, lp, rp) in zip(wraps, layout, strict=True)
                ]
                lines.append(b.mid_left + b.mid_vertical.join(cells) + b.mid_right)
            if row.end_section and i < n - 1:
                lines.append(section)
            continue
        lines.append(b.mid_left + b.mid_vertical.join(cells) + b.mid_right)
        if row.end_section and i < n - 1:
            lines.append(section)
    lines.append(rule(b.bottom_left, b.bottom, b.bottom_divider, b.bottom_right))
    return "\n".join(lines) + "\n"


def to_text(
    *renderables: Any, color: bool = False, width: int | None = None, grid: bool = True
) -> str:
    """Render rich objects to a string as ``common.rich_text`` does: tables by ``render`` where it
    can (``grid=False``: rich alone, the reference in tests), strings as one line each."""
    buf = io.StringIO()
    console = Console(
        file=buf, force_terminal=color, no_color=not color, width=width or 200, highlight=False
    )
    for r in renderables:
        text = render(r, console, color) if grid else None
        if text is not None:
            buf.write(text)
        else:
            console.print(r, soft_wrap=isinstance(r, str))
    return buf.getvalue()
