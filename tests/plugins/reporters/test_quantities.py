"""Reporters are driven by report.quantities: a plugin's quantities show like the built-ins',
each as its metadata says (label, column or totals only, format), in every format."""

from __future__ import annotations

import csv
import io
import json

import pytest

import analyzer
from analyzer import GraphBuilder, zoo
from analyzer.core.errors import UsageError
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricResult, Quantity
from analyzer.core.report import Report
from analyzer.plugins.reporters import common
from analyzer.plugins.reporters.common import human, human_bytes, show


class ConvCount(Metric):
    """The docs/plugins.md example, with a totals-only ratio."""

    name = "conv_count"
    quantities = (
        Quantity("conv_layers", "layer", "layers whose principal op is a convolution", label="conv layers",
                 format="int", group="shape"),  # fmt: skip
        Quantity("conv_share", "1", "conv layers / layers", per_layer=False, label="conv share", format="ratio",
                 digits=3, group="shape"),  # fmt: skip
    )

    def compute(self, ctx):
        rows = {layer.name: {"conv_layers": int(layer.op == "conv")} for layer in ctx.layers}
        convs = sum(r["conv_layers"] for r in rows.values())
        return MetricResult(layers=rows, totals={"conv_layers": convs, "conv_share": convs / len(rows)})


class _Plugin:
    @hookimpl
    def analyzer_register_metrics(self, register):
        register(ConvCount())


@pytest.fixture(scope="module")
def plugins():
    return analyzer.load_plugins(extra=[_Plugin()], entry_points=False)


@pytest.fixture(scope="module")
def report(plugins):
    return analyzer.analyze(zoo.tiny_cnn(), plugins=plugins)  # 3 conv layers of 10


def _layers_header(text: str) -> str:
    """The header line(s) of the per-layer table, up to the first layer row."""
    head = text.split("Layers", 1)[1]
    return head.split("conv1", 1)[0]


def _totals(text: str) -> str:
    return text.split("Totals", 1)[1]


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_plugin_quantity_is_a_column_and_a_total(plugins, report, fmt):
    text = plugins.reporter(fmt).render_report(report)
    assert "conv layers" in _layers_header(text)
    row = next(line for line in text.splitlines() if line.strip("|│ ").startswith("pw2 "))
    assert row.split("|" if fmt == "markdown" else "│")[-2].strip() == "1"  # its own column, last
    totals = _totals(text)
    assert "shape" in totals  # its group heads its totals
    line = next(line for line in totals.splitlines() if "conv_layers" in line)
    assert " 3 " in line
    share = next(line for line in totals.splitlines() if "conv_share" in line)
    assert "0.3 " in share and "layer" not in share  # ratio: digits, no SI column


def test_totals_only_quantity_is_no_column(plugins, report):
    for fmt in ("table", "markdown"):
        assert "conv share" not in _layers_header(plugins.reporter(fmt).render_report(report))
    assert "conv_share" not in common.select_columns(report, ["all"])


def test_csv_and_json_carry_the_plugin_quantity(plugins, report):
    rows = list(csv.DictReader(io.StringIO(plugins.reporter("csv").render_report(report))))
    assert [r["conv_layers"] for r in rows[:3]] == ["1", "0", "1"]  # conv1, relu1, dw2
    assert rows[10]["name"] == "TOTAL" and rows[10]["conv_layers"] == "3"
    doc = json.loads(plugins.reporter("json").render_report(report))
    assert doc["totals"]["conv_layers"] == 3 and doc["layers"][0]["conv_layers"] == 1
    meta = doc["quantities"]["conv_share"]
    assert (meta["label"], meta["display"], meta["format"], meta["digits"], meta["group"]) == ("conv share", "total", "ratio", 3, "shape")


def test_compare_shows_plugin_quantities(plugins, report):
    other = analyzer.analyze(zoo.alexnet(), plugins=plugins)  # 5 conv layers of 21
    c = analyzer.compare([report, other], labels=["kws", "alexnet"])
    totals = {t["quantity"]: t for t in c.totals()}
    assert totals["conv_layers"]["values"] == [3, 5]
    assert "conv_layers" in c.row_quantities()
    for fmt in ("table", "markdown", "csv"):
        text = plugins.reporter(fmt).render_comparison(c)
        assert "conv_layers" in text and "conv_share" in text, fmt
    table = plugins.reporter("table").render_comparison(c)
    assert "conv layers" in table.split("Layers aligned", 1)[1]  # an aligned column too


def test_columns_choose_names_and_groups(report):
    assert common.select_columns(report, None) == ["params", "macs", "flops", "activations", "io_activations", "conv_layers"]
    assert common.select_columns(report, ["shape", "macs"]) == ["conv_layers", "macs"]
    traffic = common.select_columns(report, ["traffic"])
    assert "memory_bytes" in traffic and "arithmetic_intensity" in traffic and "macs" not in traffic
    headers, rows = common.layer_table(report, ["arithmetic_intensity", "receptive_field"])
    assert headers == ["layer", "op", "output", "arith. intensity", "receptive field"]
    ai = report.layer("conv1")["arithmetic_intensity"]
    assert rows[0][3] == common.plain(ai, 3) and rows[0][4] == "x".join(map(str, report.layer("conv1")["receptive_field"]))


def test_unknown_column_lists_the_valid_ones(report):
    with pytest.raises(UsageError) as e:
        common.select_columns(report, ["macs", "nope"])
    message = str(e.value)
    assert message.startswith("--columns: unknown column 'nope'; quantities: params, ")
    assert "conv_layers" in message and "groups: " in message and "shape" in message and "\n" not in message


def test_hidden_quantities_show_only_when_named(report):
    assert "model_size_mb" in report.totals
    assert "model_size_mb" not in common.total_quantities(report)
    assert "model_size_mb" in common.total_quantities(report, ["model_size_mb"])


def test_every_total_of_the_run_is_in_the_table():
    r = analyzer.analyze(zoo.tiny_cnn())
    text = analyzer.load_plugins().reporter("table").render_report(r)
    hidden = {q for q, info in r.quantities.items() if info["display"] == "hidden"}
    for q in set(r.totals) - hidden:
        assert f" {q} " in _totals(text), q


@pytest.mark.parametrize(
    ("value", "info", "text"),
    [
        (10.8123, {"format": "ratio", "digits": 3}, "10.8"),
        (0.123456, {"format": "ratio", "digits": 3}, "0.123"),
        (2.0, {"format": "float", "digits": 4}, "2"),
        (1527.34, {"format": "float"}, "1527"),
        (724_406_816, {"format": "count"}, "724,406,816"),
        (1_048_576, {"format": "bytes"}, "1.05 MB"),
        ([11, 11], {"format": "int"}, "11x11"),
        (2.769e-08, {"format": "seconds"}, "27.69 ns"),
        (0.0015, {"format": "seconds"}, "1.5 ms"),
        (9.697e-07, {"format": "joules"}, "969.7 nJ"),
        (210.6, {"format": "rate"}, "210.6/s"),
        (True, {"format": "text"}, "yes"),
        (None, {"format": "count"}, "-"),
    ],
)
def test_show_renders_each_format(value, info, text):
    assert show(value, info) == text


def test_binary_units_and_compact_counts():
    assert show(1_048_576, {"format": "bytes"}, binary=True) == "1 MiB"
    assert show(724_406_816, {"format": "count"}, compact=True) == human(724_406_816) == "724.4M"
    r = analyzer.analyze(zoo.tiny_cnn())
    text = analyzer.load_plugins().reporter("markdown").render_report(r, binary_units=True)
    line = next(line for line in _totals(text).splitlines() if "| model_size_bytes |" in line)
    assert human_bytes(r.totals["model_size_bytes"], binary=True) in line and "KiB" in line


def test_narrow_terminal_keeps_80_columns():
    r = analyzer.analyze(zoo.resnet50())
    text = analyzer.load_plugins().reporter("table").render_report(r, width=80)
    layers = text.split("Totals", 1)[0]
    assert all(len(line) <= 80 for line in layers.splitlines())
    conv1 = r.layer("conv1")["macs"]
    assert human(conv1) in layers and f"{conv1:,}" not in layers  # counts as 118.0M, not 118,013,952


def test_a_loaded_report_renders_the_same():
    r = analyzer.analyze(zoo.tiny_cnn(), devices=["raspberry-pi-4"], naive_traffic=True)
    back = Report.from_dict(json.loads(r.to_json()))
    ps = analyzer.load_plugins()
    for fmt in ("table", "markdown", "csv"):
        assert ps.reporter(fmt).render_report(back) == ps.reporter(fmt).render_report(r), fmt
    assert json.loads(back.to_json()) == json.loads(r.to_json())
    assert ps.reporter("table").render_report(back, depth=1) == ps.reporter("table").render_report(r, depth=1)


def test_a_report_without_metadata_still_renders():
    """An older document (no label/display/format): defaults from Quantity's."""
    r = analyzer.analyze(zoo.tiny_cnn())
    doc = json.loads(r.to_json())
    for info in doc["quantities"].values():
        for key in ("label", "display", "format", "group", "digits", "per_layer"):
            info.pop(key)
    text = analyzer.load_plugins().reporter("table").render_report(Report.from_dict(doc))
    assert "macs" in _layers_header(text) and "memory_bytes" in _layers_header(text)  # every per-layer value a column


def test_graph_builder_report_has_no_undeclared_column():
    b = GraphBuilder("g")
    x = b.input("x", (1, 4))
    r = analyzer.analyze(b.build(b.linear(x, 2, name="fc")))
    assert "dtype" not in common.select_columns(r, None)


def test_a_loaded_incomplete_report_renders_the_same():
    """The marks (≥), the Not counted table and the INCOMPLETE line come back from the document."""
    from tests.core.test_completeness import chain_with, whole_model_opaque

    ps = analyzer.load_plugins()
    for graph in (whole_model_opaque(), chain_with("unknown", "aten::frob")):
        r = analyzer.analyze(graph)
        back = Report.from_dict(json.loads(r.to_json()))
        assert not back.complete
        for fmt in ("table", "markdown", "csv"):
            assert ps.reporter(fmt).render_report(back) == ps.reporter(fmt).render_report(r), fmt
