"""Terminal tables (rich): the default ``--format table``."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from analyzer.core.compare import Comparison
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import Report
from analyzer.core.reporter import Reporter
from analyzer.plugins.reporters import common


def _table(title: str, headers: list[str], rows: list[list[str]], numeric_from: int = 1) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold")
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if i >= numeric_from else "left", overflow="fold")
    for row in rows:
        t.add_row(*row)
    return t


class TableReporter(Reporter):
    name = "table"
    suffix = ".txt"

    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None
    ) -> str:
        parts: list = [
            f"[bold]{common.model_line(report)}[/bold]",
            _table(*common.detail_table(report, depth)),
            _table("Totals", ["quantity", "value", "", "unit"], common.total_cells(report)),
        ]
        if report.hardware:
            parts.append(_table("Hardware", common.HARDWARE_HEADERS, common.hardware_cells(report)))
            parts += common.hardware_notes(report)
        if not report.completeness.complete:
            parts.append(_table("Not counted", common.UNCOUNTED_HEADERS, common.uncounted_cells(report), numeric_from=3))
            parts.append(f"[bold red]{escape(common.completeness_line(report))}[/bold red]")
        parts += [f"[yellow]warning:[/yellow] {escape(common.one_line(w))}" for w in report.warnings]
        return common.rich_text(*parts, color=color, width=width)

    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None
    ) -> str:
        headers, rows = common.comparison_cells(comparison)
        parts: list = [_table("Totals", headers, rows)]
        if depth is not None:
            parts += [_table(*t) for t in common.comparison_detail_tables(comparison, depth)]
        else:
            parts.append(_aligned_table(comparison))
        if any(rep.hardware for rep in comparison.reports):
            parts.append(_table("Hardware", common.COMPARISON_HARDWARE_HEADERS, common.comparison_hardware_cells(comparison), 2))
            parts += [escape(line) for line in common.comparison_hardware_notes(comparison)]
        parts += [f"[bold red]{escape(line)}[/bold red]" for line in common.comparison_notes(comparison)]
        return common.rich_text(*parts, color=color, width=width)


def _aligned_table(comparison: Comparison) -> Table:
    n = len(comparison.labels)
    a_headers, a_rows = common.aligned_cells(comparison, mark=lambda t: f"[bold red]{escape(t)}[/bold red]")
    aligned = Table(title="Layers aligned across models ((...) = layers between two weighted layers)",
                    title_justify="left", header_style="bold")  # fmt: skip
    for i, h in enumerate(a_headers):
        aligned.add_column(h, justify="right" if n <= i < len(a_headers) - 1 else "left", overflow="fold")
    for row in a_rows:
        aligned.add_row(*row[:-1], escape(row[-1]))
    return aligned


@hookimpl
def analyzer_register_reporters(register):
    register(TableReporter())
