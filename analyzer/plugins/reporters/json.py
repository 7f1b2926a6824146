"""``--format json``: the versioned report document (docs/report-schema.md).

The document is ``Report.iter_json()``'s text, byte for byte (tested),
written by ``report_views.json_fields``: its two long lists come from
columns (the layer rows a batch at a time, the module roll-ups straight
from the roll-up's columns), without a dict per row (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from analyzer.core import jsonwriter
from analyzer.core.compare import Comparison
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import Report, json_default
from analyzer.core.report_views import json_fields
from analyzer.core.reporter import Reporter


class JsonReporter(Reporter):
    name = "json"
    suffix = ".json"

    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None,
        **view: object,
    ) -> str:  # fmt: skip
        """The whole document: every quantity with its metadata (``columns``, ``binary_units`` change nothing)."""
        return "".join(self.iter_report(report))

    def iter_report(self, report: Report, **options: object) -> Iterator[str]:
        """The document of ``render_report`` in pieces (``Report.iter_json``'s), for large graphs."""
        yield from jsonwriter.iter_object(json_fields(report), json_default, 2)
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
