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
import re
from itertools import repeat
from typing import Any

from rich import box
from rich._wrap import divide_line
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

_BOLD, _ITALIC, _RESET = "\x1b[1m", "\x1b[3m", "\x1b[0m"
# a cell of one markup style over text with no markup, escape or :emoji: code (a totals group's name)
_STYLED = re.compile(r"\[([a-z]+(?: [a-z]+)*)\]([^\[\]\\]+)\[/(?:\1)?\]")


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
    styled = _STYLED.fullmatch(cell) if "[" in cell else None
    if styled and styled[2].count(":") < 2 and getattr(console, "_markup", False):  # "[italic]name:[/italic]"
        cell = styled[2]
        if color:
            system = getattr(console, "_color_system", None)
            if system is None:
                return None
            shown = console.get_style(styled[1]).render(cell, color_system=system)  # as below
    elif "[" in cell or ":" in cell:  # markup or an :emoji: code: what rich makes of it
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


def _plain_column(cells: list[Any]) -> list[str] | None:
    """``cells`` when every one is plain ASCII text (no markup, no :emoji:, one line, no outer
    blanks): what such a column shows, checked on the whole column at once."""
    try:
        joined = "\x00".join(cells)
    except TypeError:  # a cell that is not a string
        return None
    if not joined.isascii() or "[" in joined or ":" in joined or "\n" in joined:
        return None
    cells = list(cells)
    return cells if list(map(str.strip, cells)) == cells else None


def render(table: Any, console: Console, color: bool) -> str | None:
    """``table`` as rich prints it on ``console`` (its width; colour when ``color``), or None."""
    if not isinstance(table, Table) or not _simple(table):
        return None
    if console.legacy_windows or not console.encoding.lower().startswith("utf"):
        return None  # rich substitutes ASCII boxes there
    headers: list[tuple[str, int]] = []
    columns: list[tuple[list[str], list[int]]] = []  # per column: what each cell shows, its width
    widths: list[int] = []
    for col in table.columns:
        header = _plain_cell(col.header, console, False)  # bold under colour: written below
        if header is None or (color and "[" in col.header):
            return None  # rich mixes the header's markup into the bold
        texts = _plain_column(col._cells)
        if texts is not None:  # plain ASCII text: as it is, as wide as it is long
            shown_widths = list(map(len, texts))
        else:
            texts, shown_widths = [], []
            for cell in col._cells:
                if type(cell) is str and cell.isascii() and not ("[" in cell or ":" in cell or "\n" in cell) \
                        and cell.strip() == cell:  # fmt: skip
                    texts.append(cell)  # plain: as it is (the column's markup is in other cells)
                    shown_widths.append(len(cell))
                    continue
                shown = _plain_cell(cell, console, color)
                if shown is None:
                    return None
                texts.append(shown[0])
                shown_widths.append(shown[1])
        widest = max(header[1], col.min_width or 0, max(shown_widths, default=0))
        if col.max_width is not None and widest > col.max_width:
            if max(shown_widths, default=0) > col.max_width:
                return None  # rich folds the column's cells
            widest = col.max_width  # only the header is wider: rich wraps it (below)
        if color and not widest:
            return None  # an empty column: rich writes its bold header unstyled
        headers.append(header)
        columns.append((texts, shown_widths))
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
    console_width = console.width  # (each read asks the terminal its height)
    if (
        total > console_width
    ):  # rich shrinks the wrapable columns (its own arithmetic), cells then wrap
        if any(c.no_wrap or c.width is not None or c.overflow != "fold" for c in table.columns):
            return None
        shrunk = table._collapse_widths(spans, [True] * n_cols, console_width - n_cols - 1)
        if sum(shrunk) + n_cols + 1 > console_width or any(
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
            wrapped.append(_wrap((h, hw), w, col.justify, console))
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
    justify = [c.justify for c in table.columns]
    # each column's cells justified to its width, then each row one join: the padding between two
    # columns is the same everywhere (only the outer edges may go without)
    justified = []
    wrapped_rows: set[int] = set()  # rows with a cell wider than its (shrunk) column
    for (texts, shown_widths), w, r in zip(columns, widths, rights, strict=True):
        if shown_widths == list(map(len, texts)):
            justified.append(list(map(str.rjust if r else str.ljust, texts, repeat(w))))
        else:
            justified.append([" " * (w - x) + t if r else t + " " * (w - x) for t, x in zip(texts, shown_widths, strict=True)])
        if max(shown_widths, default=0) > w:
            wrapped_rows.update(i for i, x in enumerate(shown_widths) if x > w)
    left = b.mid_left + " " * lpad[0]
    between = " " * rpad[0] + b.mid_vertical + " " * (lpad[1] if n_cols > 1 else 0)
    right = " " * rpad[-1] + b.mid_right
    blanks = [" " * w for w in widths]
    body = [left + between.join(cells) + right for cells in zip(*justified, strict=True)] if n else []
    breaks = [i for i, row in enumerate(table.rows) if row.end_section and i < n - 1]
    if not wrapped_rows and not breaks:
        lines += body
    # the columns with a cell wider than the column (the shrunk ones): only theirs wrap
    narrow = [c for c, ((texts, shown_widths), w) in enumerate(zip(columns, widths, strict=True))
              if max(shown_widths, default=0) > w]  # fmt: skip
    if wrapped_rows and any("\x1b" in columns[c][0][i] for c in range(n_cols) for i in wrapped_rows):
        return None  # a styled cell among the lines: rich's
    for i, line in enumerate(body if wrapped_rows or breaks else ()):
        if i not in wrapped_rows:
            lines.append(line)
        else:  # a shrunk column: its cell wraps, top-aligned; the row's other cells on its first line
            parts: list[list[str]] = [[cells[i]] for cells in justified]
            for c in narrow:
                (texts, shown_widths), w = columns[c], widths[c]
                if shown_widths[i] > w:
                    parts[c] = [just(p, w, rights[c]) for p in _wrap((texts[i], shown_widths[i]), w, justify[c], console)]
            for k in range(max(map(len, parts))):
                lines.append(left + between.join([p[k] if k < len(p) else blank for p, blank in zip(parts, blanks, strict=True)]) + right)
        if table.rows[i].end_section and i < n - 1:
            lines.append(section)
    lines.append(rule(b.bottom_left, b.bottom, b.bottom_divider, b.bottom_right))
    return "\n".join(lines) + "\n"


def _wrap(cell: tuple[str, int], width: int, justify: str, console: Console) -> list[tuple[str, int]]:
    """A cell's lines in a column ``width`` wide, as rich wraps it (overflow "fold"): a single word
    of ASCII (a layer name) folds every ``width`` characters; printable ASCII breaks where rich's
    ``divide_line`` breaks it (a header), each line then trimmed as ``Text.wrap`` trims it."""
    text = cell[0]
    if text.isascii() and text.isprintable() and justify in ("left", "right"):
        if " " not in text:  # no whitespace: no word breaks
            return [(text[i : i + width], len(text[i : i + width])) for i in range(0, len(text), width)]
        bounds = [0, *divide_line(text, width, fold=True), len(text)]
        lines = []
        for start, end in zip(bounds, bounds[1:], strict=False):
            line = text[start:end]
            if len(line) > width:  # Text.rstrip_end: trailing blanks beyond the width
                line = line[: max(width, len(line.rstrip()))]
            line = line[:width].rstrip() if justify == "right" else line[:width]  # Lines.justify, truncate
            lines.append((line, len(line)))
        return lines
    return [(p, _width(p)) for p in (line.plain for line in Text(text).wrap(console, width, justify=justify, overflow="fold"))]


def line(text: str, console: Console, color: bool) -> str | None:
    """A string as rich prints it whole (``soft_wrap``): plain printable text, or one markup style
    over it (the model's line in bold), or None for anything else (other markup, escapes, tabs,
    a possible :emoji: code) that rich must print."""
    styled = _STYLED.fullmatch(text) if "[" in text else None
    if styled:
        text = styled[2]
    elif "[" in text:
        return None
    if text.count(":") > 1 or not text.isprintable() or not getattr(console, "_markup", False):
        return None
    if color and styled:
        system = getattr(console, "_color_system", None)
        if system is None:
            return None
        return console.get_style(styled[1]).render(text, color_system=system) + "\n"
    return text + "\n"


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
        if not grid:
            text = None
        elif type(r) is str:
            text = line(r, console, color)
        else:
            text = render(r, console, color)
        if text is not None:
            buf.write(text)
        else:
            console.print(r, soft_wrap=isinstance(r, str))
    return buf.getvalue()
