"""Terminal tables (rich): the default ``--format table``."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.markup import escape
from rich.table import Row, Table

from analyzer.core.compare import Comparison
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import Report
from analyzer.core.reporter import Reporter
from analyzer.plugins.reporters import common


def _table(title: str, headers: list[str], rows: list[list[str]], numeric_from: int = 1, narrow: bool = False) -> Table:
    """A rich table; ``narrow`` (a small terminal) draws no vertical rules and never breaks a number."""
    t = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
              pad_edge=not narrow)  # fmt: skip
    cells = list(zip(*rows, strict=True)) if narrow and rows else []  # by column
    for i, h in enumerate(headers):
        numeric = i >= numeric_from
        widest = (max(map(len, cells[i])) if cells else 0) if narrow and numeric else None
        t.add_column(h, justify="right" if numeric else "left", overflow="fold", min_width=widest, max_width=widest)
    _add_rows(t, rows)
    return t


def _add_rows(table: Table, rows: list[list[str]], raw: bool = False) -> None:
    """``table.add_row`` of each row, a column at a time (what add_row stores, without its per-cell
    checks: the cells are strings). Cells hold names from the model (an untrusted file's): text,
    never markup, unless ``raw`` (markup the caller wrote, names it escaped)."""
    if not rows:
        return
    if any(len(row) != len(table.columns) for row in rows):
        for row in rows:
            table.add_row(*(row if raw else map(_safe, row)))
        return
    for column, cells in zip(table.columns, zip(*rows, strict=True), strict=True):
        if raw:
            column._cells.extend(cells)
            continue
        joined = "".join(cells)
        if joined.isprintable() and "[" not in joined:
            column._cells.extend(cells)
        else:
            column._cells.extend(map(_safe, cells))
    table.rows.extend(Row() for _ in rows)


def _safe(cell: str) -> str:
    return cell if cell.isprintable() and "[" not in cell else escape(common.printable(cell))


NARROW = 120  # columns


class TableReporter(Reporter):
    name = "table"
    suffix = ".txt"

    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None,
        columns: Sequence[str] | None = None, binary_units: bool = False,
    ) -> str:  # fmt: skip
        """``columns`` (quantity or group names) chooses the per-layer columns; the totals block
        lists every quantity with a total; ``binary_units`` shows bytes in KiB/MiB/GiB."""
        parts: list = [
            f"[bold]{escape(common.model_line(report))}[/bold]",
            _table(*common.detail_table(report, depth, columns, binary_units, compact=_narrow(width)), narrow=_narrow(width)),
            _totals_table(common.total_groups(report, columns, binary_units)),
        ]
        if report.hardware:
            parts.append(_table("Hardware", common.HARDWARE_HEADERS, common.hardware_cells(report)))
            parts += [escape(line) for line in common.hardware_notes(report)]  # they name layers
        if not report.completeness.complete:
            parts.append(_table("Not counted", common.UNCOUNTED_HEADERS, common.uncounted_cells(report), numeric_from=3))
            parts.append(f"[bold red]{escape(common.completeness_line(report))}[/bold red]")
        parts += [f"[yellow]warning:[/yellow] {escape(common.one_line(w))}" for w in report.warnings]
        return common.rich_text(*parts, color=color, width=width)

    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None,
        columns: Sequence[str] | None = None, binary_units: bool = False,
    ) -> str:  # fmt: skip
        headers, rows = common.comparison_cells(comparison, binary_units)
        parts: list = [_table("Totals", headers, rows)]
        if depth is not None:
            parts += [_table(*t) for t in common.comparison_detail_tables(comparison, depth, columns, binary_units)]
        else:
            parts.append(_aligned_table(comparison, columns, binary_units))
        if any(rep.hardware for rep in comparison.reports):
            parts.append(_table("Hardware", common.COMPARISON_HARDWARE_HEADERS, common.comparison_hardware_cells(comparison), 2))
            parts += [escape(line) for line in common.comparison_hardware_notes(comparison)]
        parts += [f"[bold red]{escape(line)}[/bold red]" for line in common.comparison_notes(comparison)]
        return common.rich_text(*parts, color=color, width=width)


def _totals_table(groups: list[tuple[str, list[list[str]]]]) -> Table:
    """The totals, one section per group headed by its name (what ``--columns GROUP`` selects)."""
    t = _table("Totals", common.TOTAL_HEADERS, [])
    cells: list[list[str]] = []
    ends = []  # the last row of each group but the last: a section ends there
    for group, rows in groups:
        if cells:
            ends.append(len(cells) - 1)
        cells.append([f"[italic]{escape(group)}:[/italic]", "", "", ""])  # markup: added as it is
        cells += rows
    _add_rows(t, cells, raw=True)  # the quantities' names and values, as the metrics declare them
    for i in ends:
        t.rows[i].end_section = True
    return t


def _narrow(width: int | None) -> bool:
    """A terminal narrower than the exact per-layer table: counts there read 724.4M, not 724,406,816."""
    return width is not None and width < NARROW


def _aligned_table(comparison: Comparison, columns: Sequence[str] | None, binary: bool) -> Table:
    n = len(comparison.labels)
    a_headers, a_rows = common.aligned_cells(comparison, mark=lambda t: f"[bold red]{escape(t)}[/bold red]",
                                             columns=columns, binary=binary)  # fmt: skip
    aligned = Table(title="Layers aligned across models ((...) = layers between two weighted layers)",
                    title_justify="left", header_style="bold")  # fmt: skip
    for i, h in enumerate(a_headers):
        aligned.add_column(h, justify="right" if n <= i < len(a_headers) - 1 else "left", overflow="fold")
    for row in a_rows:
        # layer names (the model's, text) | values (marked with markup here) | the explanation (names again)
        safe = [escape(common.printable(c)) for c in row[:n]]
        aligned.add_row(*safe, *row[n:-1], escape(common.printable(row[-1])))
    return aligned


@hookimpl
def analyzer_register_reporters(register):
    register(TableReporter())
