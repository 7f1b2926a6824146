"""``--format markdown``: GitHub-flavoured tables for papers, issues and docs."""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.core.compare import Comparison
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import Report
from analyzer.core.reporter import Reporter
from analyzer.plugins.reporters import common


def md_table(headers: list[str], rows: list[list[str]], numeric_from: int = 1, numeric_to: int | None = None) -> str:
    """A GFM table; columns ``numeric_from`` up to (not including) ``numeric_to`` are right-aligned."""
    end = len(headers) if numeric_to is None else numeric_to
    align = ["---:" if numeric_from <= i < end else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


class MarkdownReporter(Reporter):
    name = "markdown"
    suffix = ".md"

    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None,
        columns: Sequence[str] | None = None, binary_units: bool = False,
    ) -> str:  # fmt: skip
        title, headers, rows, numeric_from = common.detail_table(report, depth, columns, binary_units)
        totals = [row for group, rows in common.total_groups(report, columns, binary_units)
                  for row in ([f"*{group}*", "", "", ""], *rows)]  # fmt: skip
        parts = [f"**{common.model_line(report)}**", f"### {title}", md_table(headers, rows, numeric_from),
                 "### Totals", md_table(common.TOTAL_HEADERS, totals)]  # fmt: skip
        if report.hardware:
            parts += ["### Hardware", md_table(common.HARDWARE_HEADERS, common.hardware_cells(report))]
            parts += [f"- {line}" for line in common.hardware_notes(report)]
        if not report.completeness.complete:
            parts += ["### Not counted", md_table(common.UNCOUNTED_HEADERS, common.uncounted_cells(report), 3, 4),
                      f"**{common.completeness_line(report)}**"]  # fmt: skip
        parts += [f"> warning: {common.one_line(w)}" for w in report.warnings]
        return common.printable("\n\n".join(parts) + "\n")  # names from a file never reach a terminal raw

    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None,
        columns: Sequence[str] | None = None, binary_units: bool = False,
    ) -> str:  # fmt: skip
        headers, rows = common.comparison_cells(comparison, binary_units)
        n = len(comparison.labels)
        parts = ["### Totals", md_table(headers, rows, 1, n + 1)]
        if depth is not None:
            for title, t_headers, t_rows, numeric_from in common.comparison_detail_tables(comparison, depth, columns, binary_units):
                parts += [f"### {title}", md_table(t_headers, t_rows, numeric_from)]
        else:
            a_headers, a_rows = common.aligned_cells(comparison, mark=lambda t: f"**{t}**", columns=columns, binary=binary_units)
            parts += ["### Layers aligned across models", md_table(a_headers, a_rows, n, len(a_headers) - 1)]
        if any(rep.hardware for rep in comparison.reports):
            parts += ["### Hardware", md_table(common.COMPARISON_HARDWARE_HEADERS, common.comparison_hardware_cells(comparison), 2)]
            parts += [f"- {line}" for line in common.comparison_hardware_notes(comparison)]
        parts += [f"**{line}**" for line in common.comparison_notes(comparison)]
        return common.printable("\n\n".join(parts) + "\n")


@hookimpl
def analyzer_register_reporters(register):
    register(MarkdownReporter())
