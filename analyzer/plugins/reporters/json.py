"""``--format json``: the versioned report document (docs/report-schema.md)."""

from __future__ import annotations

import json

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

    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None,
        **view: object,
    ) -> str:  # fmt: skip
        """The whole document; ``depth`` changes nothing, each report already holds its full module tree."""
        return json.dumps(comparison.to_dict(), indent=2, default=json_default) + "\n"


@hookimpl
def analyzer_register_reporters(register):
    register(JsonReporter())
