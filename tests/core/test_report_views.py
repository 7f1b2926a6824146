"""Report and Comparison in Python: a readable repr, notebook HTML, DataFrames and JSON (docs/reports.md)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import analyzer
from analyzer import GraphBuilder, zoo
from analyzer.plugins.reporters import common
from analyzer.plugins.reporters.html import render_comparison_html, render_html
from analyzer.plugins.reporters.json import JsonReporter

DEVICES = ["stm32f746", "a100-sxm-80gb"]


@pytest.fixture(scope="module")
def report():
    return analyzer.analyze(zoo.tiny_cnn(), devices=DEVICES)


@pytest.fixture(scope="module")
def comparison():
    return analyzer.compare([zoo.alexnet(), zoo.tiny_cnn()], labels=["alexnet", "tiny_cnn"])


def test_repr_names_the_model_its_totals_in_human_units_and_devices(report):
    text = repr(report)
    assert text.startswith("Report: tiny_cnn (builder), 10 layers")
    assert f"MACs {common.human(report.totals['macs'])}" in text
    assert f"params {common.human(report.totals['params'])}" in text
    assert f"model size {common.human_bytes(report.totals['model_size_bytes'])}" in text
    for r in report.hardware:
        line = next(line for line in text.splitlines() if line.strip().startswith(r.device + ":"))
        assert f"{r.bound}-bound" in line and ("fits" in line) == (r.fits is not None)
    assert len(text.splitlines()) <= 6  # a glance, not a dump of every field
    assert "incomplete" not in text


def test_repr_of_an_incomplete_report_says_so():
    b = GraphBuilder("opaque")
    x = b.linear(b.input("x", (1, 8)), 8, name="fc1")
    b.op("unknown", [x], (1, 8), name="odd", source_op="Mystery")
    r = analyzer.analyze(b.build())
    assert "incomplete:" in repr(r) and "≥" in repr(r)


def test_comparison_repr_lists_each_model_and_what_differs(comparison):
    text = repr(comparison)
    lines = text.splitlines()
    assert lines[0] == "Comparison of 2 models:"
    assert lines[1].startswith("  alexnet: ") and lines[2].startswith("  tiny_cnn: ")
    assert f"MACs {common.human(comparison.reports[0].totals['macs'])}" in lines[1]
    assert "totals differ: " in lines[-1] and "macs" in lines[-1]
    same = analyzer.compare([zoo.tiny_cnn(), zoo.tiny_cnn()], labels=["a", "b"])
    assert repr(same).splitlines()[-1] == "  all totals agree"


def test_repr_html_is_the_compact_html_report(report, comparison):
    assert report._repr_html_() == render_html(report, compact=True)
    assert comparison._repr_html_() == render_comparison_html(comparison, compact=True)
    assert 'data-q="macs"' in report._repr_html_()


def test_to_json_is_the_json_format(report, comparison):
    assert report.to_json() + "\n" == JsonReporter().render_report(report)
    assert comparison.to_json() + "\n" == JsonReporter().render_comparison(comparison)
    assert json.loads(comparison.to_json())["schema"] == "analyzer.comparison/1"


def test_report_dataframe_has_a_row_per_layer_and_every_quantity(report):
    df = report.to_dataframe()
    assert list(df["name"]) == [row.name for row in report.layers]
    keys = {k for row in report.layers for k in row.values}
    assert keys <= set(df.columns)
    for row in report.layers:
        got = df.loc[df["name"] == row.name].iloc[0]
        for k, v in row.values.items():
            assert got[k] == v, (row.name, k)
    assert df["macs"].sum() == report.totals["macs"]  # MACs are the same at any granularity
    for r in report.hardware:
        by_name = {layer["name"]: layer for layer in r.layers}
        assert list(df[f"{r.device}.latency_s"]) == [by_name[n]["latency_s"] for n in df["name"]]
        assert list(df[f"{r.device}.bound"]) == [by_name[n]["bound"] for n in df["name"]]
    assert (
        df.attrs["totals"]["params"] == report.totals["params"]
        and df.attrs["units"]["macs"] == "MAC"
    )


def test_comparison_dataframe_has_a_row_per_model_and_segment(comparison):
    df = comparison.to_dataframe()
    rows = comparison.layers()
    assert len(df) == len(rows) * len(comparison.labels)
    assert set(df["kind"]) <= {"layer", "segment"}
    for label, report in zip(comparison.labels, comparison.reports, strict=True):
        mine = df[df["model"] == label]
        # every layer belongs to exactly one aligned row, so each model's rows add up to its totals
        assert mine["macs"].sum() == report.totals["macs"]
        assert mine["params"].sum() == report.totals["params"]
        names = [n for cell in mine["layers"] if cell for n in cell.split(", ")]
        assert sorted(names) == sorted(row.name for row in report.layers)
    assert df.attrs["totals"]["macs"] == {
        lab: r.totals["macs"] for lab, r in zip(comparison.labels, comparison.reports, strict=True)
    }


def test_without_pandas_to_dataframe_names_the_extra(report, comparison, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    for obj in (report, comparison):
        with pytest.raises(ImportError) as info:
            obj.to_dataframe()
        message = str(info.value)
        assert (
            "pip install 'analyzer[dataframe]'" in message
            and "pandas" in message
            and "\n" not in message
        )


def test_the_repr_shown_in_the_docs_is_the_tools():
    doc = (Path(__file__).parents[2] / "docs" / "reports.md").read_text()
    shown = re.search(r"<!-- repr: .*? -->\n```\n(.*?)```", doc, re.S).group(1).rstrip("\n")
    assert shown == repr(analyzer.analyze(zoo.mobilenet_v2(), devices=["stm32f746"]))
