"""``--format csv``: one row per layer, every per-layer quantity a column, then a TOTAL row."""

from __future__ import annotations

import csv
import io

from analyzer.core.compare import Comparison
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import Report
from analyzer.core.reporter import Reporter


def _cell(value: object) -> object:
    if isinstance(value, list):
        return ";".join("x".join(map(str, s)) if isinstance(s, list) else str(s) for s in value)
    return value


class CsvReporter(Reporter):
    name = "csv"
    suffix = ".csv"

    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None
    ) -> str:
        if depth is not None:
            rows = [m.to_dict() for m in report.modules(depth)]
        else:
            rows = [row.to_dict() for row in report.layers]
            for r in rows:
                r.pop("nodes", None)
        columns = list(dict.fromkeys(k for r in rows for k in r))
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: _cell(v) for k, v in r.items()})
        totals = {k: report.totals.get(k, "") for k in columns if k in report.totals}
        w.writerow({columns[0]: "TOTAL", **totals})
        return buf.getvalue()

    def render_comparison(self, comparison: Comparison, *, color: bool = False, width: int | None = None) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["quantity", *comparison.labels, "equal", "explanation"])
        for r in comparison.totals():
            w.writerow([r["quantity"], *r["values"], r["equal"], r["explanation"]])
        return buf.getvalue()


@hookimpl
def analyzer_register_reporters(register):
    register(CsvReporter())
