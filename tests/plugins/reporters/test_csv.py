"""``--format csv`` of the layers is written a column at a time: the same text as each row's
``to_dict()`` (less nodes and incomplete, plus DEVICE.FIELD columns) through a DictWriter."""

from __future__ import annotations

import csv
import io

import pytest

import analyzer
from analyzer import zoo
from analyzer.core.completeness import MARKS
from analyzer.plugins.reporters import common
from analyzer.plugins.reporters.csv import DEVICE_FIELDS


def _by_rows(report: analyzer.Report, columns, header: list[str]) -> str:
    """The header and layer rows of the CSV straight from their definition, row by row (dicts);
    ``header``'s columns beyond the rows' are the TOTAL row's (totals no layer has): empty."""
    rows = []
    for row in report.layers:
        d = row.to_dict()
        d.pop("nodes", None)
        marks = d.pop("incomplete", None) or {}
        for result in report.hardware:
            hw = {r.get("name"): r for r in result.layers}.get(row.name, {})
            d.update((f"{result.device}.{f}", hw[f]) for f in DEVICE_FIELDS if f in hw)
        rows.append((d, marks))
    keys = list(dict.fromkeys(k for d, _ in rows for k in d))
    if columns is not None:
        keep = {"name", "op", "scope", "output_shapes", *common.select_columns(report, columns)}
        keys = [k for k in keys if k in keep or ("." in k and k.split(".", 1)[1] in keep)]
    keys += [k for k in header if k not in keys]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for d, marks in rows:
        cells = []
        for k in keys:
            v = d.get(k, "")
            if isinstance(v, list):
                v = ";".join("x".join(map(str, s)) if isinstance(s, list) else str(s) for s in v)
            if marks.get(k) and v not in (None, ""):
                v = f"{MARKS[marks[k]]}{v}"
            cells.append(v)
        w.writerow(cells)
    return buf.getvalue()


def _reports():
    from tests.core.test_completeness import chain_with, whole_model_opaque

    yield analyzer.analyze(zoo.tiny_cnn(), devices=["raspberry-pi-4", "stm32f746"])
    yield analyzer.analyze(zoo.resnet50())
    yield analyzer.analyze(chain_with("unknown", "aten::frob"))  # incomplete: marked values
    yield analyzer.analyze(whole_model_opaque())


@pytest.mark.parametrize("columns", [None, ["all"], ["macs", "params"]])
def test_the_layer_rows_are_each_rows_dict(columns) -> None:
    reporter = analyzer.load_plugins().reporter("csv")
    for report in _reports():
        lines = reporter.render_report(report, columns=columns).splitlines(keepends=True)
        header = lines[0].rstrip("\n").split(",")
        assert "".join(lines[: 1 + len(report.layers)]) == _by_rows(report, columns, header)
        assert lines[1 + len(report.layers)].startswith("TOTAL,")
