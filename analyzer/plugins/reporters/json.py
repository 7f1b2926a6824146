"""``--format json``: the versioned report document (docs/report-schema.md)."""

from __future__ import annotations

from collections.abc import Iterator

from analyzer.core import jsonwriter
from analyzer.core.compare import Comparison
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import Report, json_default
from analyzer.core.reporter import Reporter


class JsonReporter(Reporter):
    name = "json"
    suffix = ".json"

    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None,
        **view: object,
    ) -> str:  # fmt: skip
        """The whole document: every quantity with its metadata (``columns``, ``binary_units`` change nothing)."""
        return report.to_json() + "\n"

    def iter_report(self, report: Report, **options: object) -> Iterator[str]:
        """The document of ``render_report`` in pieces (``Report.iter_json``), for large graphs."""
        yield from report.iter_json()
        yield "\n"

    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None,
        **view: object,
    ) -> str:  # fmt: skip
        """The whole document; ``depth`` changes nothing, each report already holds its full module tree."""
        return jsonwriter.dumps(comparison.to_dict(), json_default) + "\n"  # json.dumps(indent=2)'s text


@hookimpl
def analyzer_register_reporters(register):
    register(JsonReporter())
