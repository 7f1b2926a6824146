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


def _plain_cell(cell: Any, console: Console, color: bool) -> str | None:
    """The text a cell shows, or None when rich must draw it (styled under colour, several lines)."""
    if type(cell) is not str:
        return None
    if "[" in cell or ":" in cell:  # markup or an :emoji: code: what rich makes of it
        text = console.render_str(cell, highlight=False)
        if color and text.spans:
            return None
        cell = text.plain
    if "\n" in cell or (cell and (cell[0].isspace() or cell[-1].isspace())):
        return None  # rich justifies stripped text
    return cell


def render(table: Any, console: Console, color: bool) -> str | None:
    """``table`` as rich prints it on ``console`` (its width; colour when ``color``), or None."""
    if not isinstance(table, Table) or not _simple(table):
        return None
    if console.legacy_windows or not console.encoding.lower().startswith("utf"):
        return None  # rich substitutes ASCII boxes there
    headers: list[str] = []
    columns: list[list[str]] = []
    widths: list[int] = []
    for col in table.columns:
        header = _plain_cell(col.header, console, color)
        if header is None or (color and not header):  # rich writes an empty bold header unstyled
            return None
        cells = []
        widest = max(_width(header), col.min_width or 0)
        for cell in col._cells:
            text = _plain_cell(cell, console, color)
            if text is None:
                return None
            cells.append(text)
            w = _width(text)
            if w > widest:
                widest = w
        if col.max_width is not None and widest > col.max_width:
            return None  # rich folds the column
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
    title = table.title
    if total > console.width or (
        title and (_width(title) > total or "[" in title or "\n" in title)
    ):
        return None  # rich shrinks the table or wraps the title
    rights = [c.justify == "right" for c in table.columns]

    def just(text: str, w: int, right: bool) -> str:
        pad = w - _width(text)
        return " " * pad + text if right else text + " " * pad

    def rule(left: str, horizontal: str, cross: str, right: str) -> str:
        return left + cross.join(horizontal * w for w in spans) + right

    lines = []
    if title:
        line = title + " " * (total - _width(title))
        lines.append(_ITALIC + line + _RESET if color else line)
    lines.append(rule(b.top_left, b.top, b.top_divider, b.top_right))
    cells = []
    for h, w, r, lp, rp in zip(headers, widths, rights, lpad, rpad, strict=True):
        text = just(h, w, r)
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
    for i, row in enumerate(table.rows):
        cells = [
            " " * lp + just(col[i], w, r) + " " * rp
            for col, (w, r, lp, rp) in zip(columns, layout, strict=True)
        ]
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
