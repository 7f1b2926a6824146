"""Per-layer values stored column-wise read back exactly as the dicts they were built from."""

from __future__ import annotations

import json
import pickle
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer import analyze_graph, zoo
from analyzer.core.layer_table import LayerTable, RowValues, merge_rows
from analyzer.core.report import Report

INDEX = {name: i for i, name in enumerate("abcdef")}


def test_rows_read_back_with_their_keys_order_and_types():
    rows = {"a": {"x": 1, "y": 2.5}, "b": {"y": 0.5, "x": 3}, "c": {"x": 1.0, "y": 2.5}, "e": {"x": [1], "s": "t"},
            "f": {"x": True, "y": None}}  # fmt: skip
    table = LayerTable.build(rows, INDEX)
    assert list(table) == list(rows) and len(table) == 5
    for name, values in rows.items():
        got = table[name]
        assert list(got) == list(values)  # the row's own key order
        assert got == values and dict(got) == values and got.as_dict() == values
        assert [type(v) for v in got.as_dict().values()] == [type(v) for v in values.values()]  # 1 vs 1.0 vs True
    assert "d" not in table and table.get("d") is None and table.get("d", {}) == {}
    with pytest.raises(KeyError):
        table["d"]
    assert table["a"]["x"] == 1 and table["a"].get("z", 7) == 7 and "z" not in table["a"]
    with pytest.raises(KeyError):
        table["a"]["z"]


def test_numbers_of_one_type_are_stored_unboxed_and_big_ints_are_kept():
    rows = {n: {"i": i * 10**9, "f": i / 3, "big": 2**70 + i, "mixed": i if i % 2 else float(i)} for i, n in enumerate("abcdef")}
    table = LayerTable.build(rows, INDEX)
    schema = table.schema(0)
    assert isinstance(schema.columns["i"], array) and schema.columns["i"].typecode == "q"
    assert isinstance(schema.columns["f"], array) and schema.columns["f"].typecode == "d"
    assert type(schema.columns["big"]) is list and type(schema.columns["mixed"]) is list
    for n, values in rows.items():
        assert table[n].as_dict() == values
        assert [type(v) for v in table[n].values()] == [type(v) for v in values.values()]


def test_names_outside_the_index_are_kept_and_rows_are_read_only():
    table = LayerTable.build({"a": {"x": 1}, "zz": {"x": 2}}, INDEX)
    assert table["zz"] == {"x": 2} and list(table) == ["a", "zz"]
    with pytest.raises(TypeError):
        table["a"]["x"] = 5  # type: ignore[index]


def test_columns_give_the_rows_dicts_would():
    table = LayerTable.from_columns({"x": [1, 2, 3, 4, 5, 6], "y": [0.5] * 6, "z": [None, 1, 2, 3, 4, 5]}, INDEX)
    assert table["c"].as_dict() == {"x": 3, "y": 0.5, "z": 2} and table["a"]["z"] is None
    assert list(table) == list(INDEX)
    with pytest.raises(ValueError, match="column 'x' has 2 values for 6 layers"):
        LayerTable.from_columns({"x": [1, 2]}, INDEX)


def test_a_metric_giving_a_short_column_is_named():
    from analyzer.core.metric import MetricContext

    ctx = MetricContext(zoo.tiny_cnn(), [], None, None, None, metric="mine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^metric 'mine': column 'x' has 1 values for 0 layers$"):
        ctx.columns({"x": [1]})


def test_merged_rows_follow_table_order_and_later_values_win():
    t1 = LayerTable.build({"a": {"x": 1, "k": 1}, "b": {"x": 2}}, INDEX)
    t2 = LayerTable.build({"a": {"y": 3, "k": 9}, "c": {"y": 4}}, INDEX)
    rows = merge_rows([t1, t2], len(INDEX))
    assert list(rows[0].items()) == [("x", 1), ("k", 9), ("y", 3)]  # as {**d1, **d2}
    assert rows[1] == {"x": 2} and rows[2] == {"y": 4} and rows[3] == {}
    assert merge_rows([], 2)[1] == {}


def test_rows_copy_and_merge_into_plain_dicts():
    row = LayerTable.build({"a": {"x": 1, "y": 0.25}}, INDEX)["a"]
    copy = row.copy()
    copy["x"] = 2
    assert type(copy) is dict and row["x"] == 1
    assert row | {"y": 1, "z": 3} == {"x": 1, "y": 1, "z": 3} and {"z": 3, "x": 0} | row == {"z": 3, "x": 1, "y": 0.25}
    assert list(row.keys() & {"x", "q"}) == ["x"]


def test_rows_pickle_as_plain_dicts():
    table = LayerTable.build({"a": {"x": 1, "y": 0.25}}, INDEX)
    back = pickle.loads(pickle.dumps(table["a"]))
    assert type(back) is dict and back == {"x": 1, "y": 0.25}


values = st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.booleans(), st.text(max_size=3),
                   st.lists(st.integers(), max_size=2))  # fmt: skip
row = st.dictionaries(st.sampled_from(["p", "q", "r", "s"]), values, max_size=4)


@given(st.dictionaries(st.sampled_from(list(INDEX) + ["out"]), row, max_size=7))
def test_any_rows_round_trip(rows):
    table = LayerTable.build(rows, INDEX)
    assert list(table) == list(rows)
    for name, values in rows.items():
        got = table[name]
        assert list(got) == list(values) and list(got.items()) == list(values.items())
        assert [type(v) for v in got.values()] == [type(v) for v in values.values()]
    merged = merge_rows([table], len(INDEX))
    for name, i in INDEX.items():
        assert dict(merged[i]) == rows.get(name, {})


def test_report_rows_are_views_over_the_metrics_columns():
    report = analyze_graph(zoo.resnet50())
    row = report.layer("layer1.0.conv1")
    assert isinstance(row.values, RowValues)
    assert row.macs == 4096 * 64 * 56 * 56 // 64  # 1x1 conv, 64 -> 64 channels at 56x56
    assert report.layer_column("macs") == [r.values.get("macs") for r in report.layers]
    assert report.layer_column("receptive_field") == [r.values.get("receptive_field") for r in report.layers]
    assert report.layer_column("nothing") == [None] * len(report.layers)
    loaded = Report.from_dict(json.loads(report.to_json()))  # rows of plain dicts
    assert loaded.layer_column("macs") == report.layer_column("macs")


def test_a_metric_giving_columns_reports_what_its_dicts_would():
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.metric import Metric, MetricResult, Quantity
    from analyzer.core.plugins import load_plugins

    class Convs(Metric):
        quantities = (Quantity("conv_layers", "layer", "convolutions"), Quantity("conv_share", "", "x", format="float"))

        def __init__(self, name, columns):
            self.name, self.by_columns = name, columns

        def compute(self, ctx):
            convs = [int(layer.op == "conv") for layer in ctx.layers]
            shares = [c / len(convs) for c in convs]
            if self.by_columns:
                layers = ctx.columns({"conv_layers": convs, "conv_share": shares})
            else:
                layers = {la.name: {"conv_layers": c, "conv_share": s} for la, c, s in zip(ctx.layers, convs, shares, strict=True)}
            return MetricResult(layers=layers, totals={"conv_layers": sum(convs), "conv_share": sum(shares)})

    class Plugin:
        def __init__(self, columns):
            self.columns = columns

        @hookimpl
        def analyzer_register_metrics(self, register):
            register(Convs("convs", self.columns))

    graph = zoo.resnet50()
    by_dicts = analyze_graph(graph, plugins=load_plugins(entry_points=False, extra=[Plugin(False)]))
    by_columns = analyze_graph(graph, plugins=load_plugins(entry_points=False, extra=[Plugin(True)]))
    assert by_columns.totals["conv_layers"] == 53
    assert by_columns.to_json() == by_dicts.to_json()


def test_a_column_of_every_layer_or_of_some():
    whole = LayerTable.from_columns({"x": [1, 2, 3, 4, 5, 6]}, INDEX)
    assert whole.column("x") == [1, 2, 3, 4, 5, 6] and whole.column("y", 0) == [0] * 6
    some = LayerTable.build({"b": {"x": 2}, "a": {"x": 1.5, "y": 3}}, INDEX)
    assert some.column("x") == [1.5, 2, None, None, None, None] and some.column("y", -1) == [3, -1, -1, -1, -1, -1]


def test_layer_column_follows_changes_to_the_rows():
    report = analyze_graph(zoo.tiny_cnn())
    macs = [r.values.get("macs") for r in report.layers]
    assert report.layer_column("macs") == macs
    report.layers[0].values = {**report.layers[0].values, "macs": 1.0}  # a row's values replaced
    assert report.layer_column("macs") == [1.0, *macs[1:]] and type(report.layer_column("macs")[0]) is float
    del report.layers[1]  # a row removed
    assert report.layer_column("macs") == [1.0, *macs[2:]]
    report.layers.reverse()
    assert report.layer_column("macs") == [*reversed(macs[2:]), 1.0]
