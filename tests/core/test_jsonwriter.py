"""analyzer.core.jsonwriter writes what json.dumps(indent=...) writes."""

from __future__ import annotations

import enum
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.core import jsonwriter
from analyzer.core.jsonwriter import Rows


class Flag(enum.IntEnum):
    ON = 1


class Name(str):
    pass


def _default(o):
    if isinstance(o, set | frozenset):
        return sorted(o)
    raise TypeError(f"{type(o).__name__} is not JSON-serializable")


SAMPLES = [
    {},
    [],
    {"a": []},
    {"a": {}, "b": [[], [1, [2, {}]]]},
    {
        "name": "conv1",
        "shape": (1, 3, 224, 224),
        "ratio": 0.1,
        "none": None,
        "ok": True,
        "no": False,
    },
    {"odd": 'é\n\t"\\ \u2265 \U0001f600', Name("sub"): Name("value"), "flag": Flag.ON},
    {2: "int key", 2.5: "float key", True: "bool key", None: "null key"},
    {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "big": 2**80, "neg": -3, "e": 1e-300},
    {"set": {3, 1, 2}, "nested": [{"x": frozenset({"b", "a"})}]},
]


@pytest.mark.parametrize("obj", SAMPLES)
def test_dumps_matches_json(obj):
    assert jsonwriter.dumps(obj, _default) == json.dumps(obj, indent=2, default=_default)
    assert jsonwriter.dumps(obj, _default, indent=4) == json.dumps(obj, indent=4, default=_default)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@settings(max_examples=60)
@given(json_values)
def test_dumps_matches_json_on_any_value(obj):
    assert jsonwriter.dumps(obj) == json.dumps(obj, indent=2)


# a row's lists: shapes (ints), output shapes (lists of ints), node names (strings), and mixes (True is not 1)
row_lists = (st.lists(st.integers(), max_size=3) | st.lists(st.lists(st.integers(), max_size=3), max_size=2)
             | st.lists(st.text(max_size=3), max_size=2).map(tuple)  # a layer's node names
             | st.lists(st.text(max_size=3), max_size=2) | st.lists(st.integers() | st.booleans() | st.floats(), max_size=3))  # fmt: skip
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
wide_rows = st.lists(st.text(max_size=4), min_size=8, max_size=14, unique=True).flatmap(
    lambda keys: st.lists(st.fixed_dictionaries({k: scalars | row_lists for k in keys}), max_size=6))


@given(wide_rows)
def test_wide_rows_through_templates(rows):
    """Rows of eight keys or more go through the %-templates (keys with '%' included)."""
    assert jsonwriter.dumps(rows) == json.dumps(rows, indent=2)
    assert jsonwriter.dumps([{"%d%s": 1, **row} for row in rows]) == json.dumps(
        [{"%d%s": 1, **row} for row in rows], indent=2
    )


@given(st.dictionaries(st.text(), json_values, max_size=5), st.lists(json_values, max_size=7))
def test_iter_object_streams_rows_as_a_list(fields, rows):
    """Joined chunks are the document with the Rows value as a list, at any batch size."""
    expected = json.dumps({**fields, "rows": rows, "after": 1}, indent=2)
    for batch in (1, 2, 1000):
        chunks = list(
            jsonwriter.iter_object(
                [*fields.items(), ("rows", Rows(iter(rows))), ("after", 1)], batch=batch
            )
        )
        assert "".join(chunks) == expected


def test_iter_object_empty_and_unserializable():
    assert "".join(jsonwriter.iter_object([])) == json.dumps({}, indent=2)
    with pytest.raises(TypeError, match="object is not JSON serializable|not JSON serializable"):
        jsonwriter.dumps({"x": object()})
    with pytest.raises(TypeError, match="keys must be"):
        jsonwriter.dumps({(1, 2): 3})


def _old_json(report) -> str:
    """What ``Report.to_json`` wrote before it streamed: the standard library's indented text."""
    from analyzer.core.report import json_default

    return json.dumps(report.to_dict(), indent=2, default=json_default)


def test_report_json_is_the_standard_librarys_text():
    """Streamed and joined, the report is byte for byte json.dumps(to_dict(), indent=2)."""
    import analyzer
    from analyzer import zoo

    g = zoo.tiny_cnn()
    g.node(next(iter(g.nodes())).id).meta["uncounted"] = (
        "a test gap"  # incomplete marks, module marks
    )
    report = analyzer.analyze_graph(g, devices=["stm32f746"])
    text = _old_json(report)
    assert report.to_json() == text
    assert "".join(report.iter_json()) == text
    assert report.to_json(indent=None) == json.dumps(json.loads(text))


def test_cli_json_streams_the_same_bytes(tmp_path, capsys):
    import analyzer
    from analyzer import zoo
    from analyzer.cli import main

    expected = _old_json(analyzer.analyze(zoo.resnet50(), devices=["t4"])) + "\n"
    out = tmp_path / "r.json"
    assert main(["analyze", "analyzer.zoo:resnet50", "-d", "t4", "-f", "json", "-o", str(out)]) == 0
    assert out.read_text() == expected
    assert main(["analyze", "analyzer.zoo:resnet50", "-d", "t4", "-f", "json"]) == 0
    assert capsys.readouterr().out == expected


@settings(deadline=None)
@given(wide_rows)
def test_rows_from_columns_are_encoded_as_dicts(rows):
    """``encode_rows`` (rows of one shape held as columns) writes each row as ``encode`` writes its dict."""
    if not rows:
        return
    keys = list(rows[0])
    rows = [{k: row[k] for k in keys} for row in rows]  # one shape: the same keys in the same order
    columns = [[row[k] for row in rows] for k in keys]
    jsonwriter._SHAPE_TEXTS.clear()
    for level in (0, 2):
        expected = [jsonwriter.encode(row, indent="  ", level=level) for row in rows]
        assert list(jsonwriter.encode_rows(keys, columns, indent="  ", level=level)) == expected
        assert list(jsonwriter.encode_rows(keys, columns, indent="  ", level=level)) == expected  # shapes looked up


# a dict of rows (a report's quantities): runs of dicts of one shape, written a column at a time
row_keys = st.lists(st.text(max_size=3), min_size=0, max_size=5, unique=True)
row_values = scalars | row_lists | st.dictionaries(st.text(max_size=2), scalars, max_size=2)
dicts_of_rows = st.lists(row_keys, min_size=1, max_size=3).flatmap(
    lambda shapes: st.lists(st.tuples(st.text(max_size=4) | st.integers() | st.booleans(), st.sampled_from(shapes)),
                            min_size=4, max_size=12)
    .flatmap(lambda rows: st.tuples(*(st.tuples(st.just(k), st.fixed_dictionaries({q: row_values for q in shape}))
                                      for k, shape in rows))))  # fmt: skip


@settings(deadline=None)
@given(dicts_of_rows)
def test_a_dict_of_rows_of_a_few_shapes(items):
    """Its rows through ``encode_rows`` (bools, nulls, NaN, lists, dicts, '%' in keys, keys that
    are not strings outside) give json's text; so does a dict with a value that is not a dict."""
    obj = dict(items)
    for extra in ({}, {"%s": 1}, {"last": [1]}):
        value = {**obj, **extra}
        assert jsonwriter.dumps(value) == json.dumps(value, indent=2)
        assert jsonwriter.dumps({"q": value}, indent=4) == json.dumps({"q": value}, indent=4)


def test_a_reports_quantities_go_through_columns():
    import analyzer
    from analyzer import zoo

    quantities = analyzer.analyze_graph(zoo.tiny_cnn()).quantities
    assert jsonwriter._dict_of_rows(quantities, jsonwriter._no_default, "  ", 1) == jsonwriter.encode(
        quantities, level=1
    ) == json.dumps({"x": quantities}, indent=2)[len('{\n  "x": ') : -2]


def test_rows_sharing_list_objects_and_single_names():
    """A list object several rows share (a shape) is written once for all; a column of one node
    name a row is written at once; a null, an empty list or a non-string among the names is not."""
    shape, other = [[1, 64, 56, 56]], [3, 3]
    columns = {
        "shape": [shape, other, shape, None, shape, [], other],
        "rf": [other] * 7,
        "nodes": [("a",), ("b",), ("c",), ("d",), ("e\u00e9",), ("f",), ("g",)],
        "names": [("a",), None, ("b", "c"), (), ("d",), [1], ("e",)],
        "tail": [["x"], ["y"], ["z"], ["w"], ["v"], ["u"], ["t"]],
    }
    keys = list(columns)
    rows = [{k: columns[k][i] for k in keys} for i in range(7)]
    for level in (0, 2):
        jsonwriter._SHAPE_TEXTS.clear()
        expected = [jsonwriter.encode(row, indent="  ", level=level) for row in rows]
        assert list(jsonwriter.encode_rows(keys, list(columns.values()), indent="  ", level=level)) == expected
    assert [jsonwriter.encode(row) for row in rows] == [json.dumps(row, indent=2) for row in rows]


@pytest.mark.parametrize("floats", [
    [0.1, 2.5, 0.1, 1e300, 2.5, 1 / 3, 1 / 3],  # repeats: each distinct float written once
    [0.5, -0.0, 0.0, 0.5, -0.0],  # 0.0 and -0.0 are equal keys: not looked up
    [1.0, 2.0, 3.0],  # no repeat
    [0.25, math.inf, 0.25],  # not finite
])  # fmt: skip
def test_a_column_of_floats_with_repeats(floats):
    from array import array

    keys = ["x", "y"]
    rows = [{"x": v, "y": i} for i, v in enumerate(floats)]
    for column in (floats, array("d", floats)):
        assert list(jsonwriter.encode_rows(keys, [column, list(range(len(floats)))])) == [
            json.dumps(row, indent=2) for row in rows
        ]
