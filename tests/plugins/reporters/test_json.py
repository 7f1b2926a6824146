"""``--format json`` and ``Report.to_json()`` write their long lists from columns
(``report_views.json_fields``): the same bytes as the standard library's indented text of
``Report.to_dict()`` (built row by row)."""

from __future__ import annotations

import json
import types

import pytest

import analyzer
from analyzer import zoo
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricResult, Quantity
from analyzer.core.plugins import load_plugins
from analyzer.core.report import Report, json_default


class Some(Metric):
    """Values on some layers only, of changing types: rows of several shapes, Nones, floats, NaN."""

    name = "some"
    quantities = (Quantity("odd", "u", "i on odd layers"), Quantity("ratio_x", "u", "a float", aggregate="max"),
                  Quantity("tag", "", "text", aggregate="none", format="text"))  # fmt: skip

    def compute(self, ctx):
        rows = {}
        for i, layer in enumerate(ctx.layers):
            if i % 2:
                rows[layer.name] = {"odd": i, "ratio_x": i / 3, "tag": f'"{i}" <&>'}
            elif i % 5 == 0:
                rows[layer.name] = {"ratio_x": float("nan") if i == 0 else float(i), "odd": None}
        return MetricResult(layers=rows, totals={"odd": 1})


class Clash(Metric):
    """Quantities named like a row's fields: the row's own field keeps its place and its value."""

    name = "clash"
    quantities = (Quantity("nodes", "u", "x"), Quantity("scope", "u", "y"), Quantity("incomplete", "u", "z"))

    def compute(self, ctx):
        return MetricResult(layers={layer.name: {"nodes": i, "scope": 2 * i, "incomplete": 1}
                                    for i, layer in enumerate(ctx.layers)}, totals={})  # fmt: skip


def _reports():
    yield analyzer.analyze(zoo.resnet50())
    yield analyzer.analyze(zoo.tiny_cnn(), devices=["raspberry-pi-4", "stm32f746"])
    some = types.SimpleNamespace(analyzer_register_metrics=hookimpl(lambda register: register(Some())))
    yield analyzer.analyze(zoo.tiny_cnn(), plugins=load_plugins(extra=[some], entry_points=False))
    clash = types.SimpleNamespace(analyzer_register_metrics=hookimpl(lambda register: register(Clash())))
    yield analyzer.analyze(zoo.tiny_cnn(), plugins=load_plugins(extra=[clash], entry_points=False))
    from tests.core.test_completeness import chain_with

    incomplete = analyzer.analyze(chain_with("unknown", "aten::frob"))
    yield incomplete
    yield Report.from_dict(json.loads(incomplete.to_json()))  # rows of plain dicts
    doc = json.loads(analyzer.analyze(zoo.mobilenet_v2()).to_json())
    del doc["layers"][1]["params"], doc["layers"][2]["macs"]  # a blocked metric's contract fields: null
    yield Report.from_dict(doc)


@pytest.mark.parametrize("report", list(_reports()), ids=lambda r: r.model.get("name", "?"))
def test_the_document_is_iter_json(report) -> None:
    reporter = analyzer.load_plugins().reporter("json")
    text = "".join(reporter.iter_report(report))
    assert text == json.dumps(report.to_dict(), indent=2, default=json_default) + "\n"
    assert text == report.to_json() + "\n"
    assert reporter.render_report(report) == text


@pytest.mark.parametrize("report", list(_reports()), ids=lambda r: r.model.get("name", "?"))
def test_batches_join_up(monkeypatch, report) -> None:
    """Rows are turned into columns a batch at a time (the engine's rows: slices of the stored
    columns; others: row by row): the batches' rows join up."""
    from analyzer.core import report_views

    monkeypatch.setattr(report_views, "BATCH", 7)
    text = json.dumps(report.to_dict(), indent=2, default=json_default) + "\n"
    assert "".join(analyzer.load_plugins().reporter("json").iter_report(report)) == text
