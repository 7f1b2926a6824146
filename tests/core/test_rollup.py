"""Module roll-ups (docs/metrics.md): a module totals its layers; "@k" calls add up under
one module; maxima (io_activations, live_activations) take the max; a depth limit."""

from __future__ import annotations

import types

import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricResult, Quantity, Ratio
from analyzer.core.plugins import load_plugins
from analyzer.core.rollup import module_path


def report() -> analyzer.Report:
    b = GraphBuilder("r")
    x = b.input("x", (1, 2, 4, 4))  # 32
    with b.scope("layer1"):
        with b.scope("0"):
            x = b.conv(x, 2, 1, bias=False, name="conv1")  # 32 outputs * 2 = 64 MACs, 4 params
            x = b.relu(x, name="relu")  # 32 FLOPs
            x = b.conv(x, 2, 1, bias=False, name="conv2")  # 64 MACs, 4 params
            x = b.relu(x, name="relu@1")  # second call of the same ReLU: 32 FLOPs
        with b.scope("1"):
            x = b.conv(x, 2, 1, bias=False, name="conv1")  # 64 MACs
            x = b.relu(x, name="relu")  # 32
    x = b.op("neg", [x], (1, 2, 4, 4), scope="")  # unscoped: 32 FLOPs
    x = b.flatten(x, name="flatten")
    b.linear(x, 3, bias=False, name="fc")  # 3 * 32 = 96 MACs, 96 params
    return analyzer.analyze(b.build())


def test_tree_and_sums() -> None:
    mods = {m.path: m for m in report().modules()}
    assert list(mods) == [
        "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.relu", "layer1.0.conv2",
        "layer1.1", "layer1.1.conv1", "layer1.1.relu", "neg", "flatten", "fc",
    ]  # fmt: skip
    assert mods["layer1"].depth == 1 and mods["layer1.0.conv1"].depth == 3
    assert mods["layer1"].layers == 6
    assert mods["layer1"].values["macs"] == 192  # 3 convs * 64
    assert mods["layer1.0"].values["macs"] == 128
    assert mods["layer1.1"].values["macs"] == 64
    assert mods["layer1"].values["params"] == 12  # 3 * 2*2
    # mac_flops 2 * 192 = 384 + 3 ReLUs * 32 = 480
    assert mods["layer1"].values["flops"] == 480
    assert mods["fc"].values["macs"] == 96
    assert mods["neg"].values["flops"] == 32


def test_calls_merge_under_one_module() -> None:
    mods = {m.path: m for m in report().modules()}
    relu = mods["layer1.0.relu"]
    assert relu.layers == 2  # relu and relu@1
    assert relu.values["flops"] == 64  # 32 + 32


def test_maxima_take_the_max() -> None:
    r = report()
    mods = {m.path: m for m in r.modules()}
    # conv layers: input 32 + output 32 = 64; in-place relus: 32; the max, not the sum 6 layers would give
    assert [r.layer(n)["io_activations"] for n in ("layer1.0.conv1", "layer1.0.relu")] == [64, 32]
    assert mods["layer1"].values["io_activations"] == 64
    assert mods["layer1"].values["live_activations"] == max(
        r.layer(n)["live_activations"] for n in ("layer1.0.conv1", "layer1.0.relu", "layer1.0.conv2",
                                                 "layer1.0.relu@1", "layer1.1.conv1", "layer1.1.relu")
    )  # fmt: skip
    # non-numeric values (receptive field lists, dtype) are skipped
    assert "receptive_field" not in mods["layer1"].values and "dtype" not in mods["layer1"].values


def test_depth_limit() -> None:
    r = report()
    assert [m.path for m in r.modules(1)] == ["layer1", "neg", "flatten", "fc"]
    two = [m.path for m in r.modules(2)]
    assert two == ["layer1", "layer1.0", "layer1.1", "neg", "flatten", "fc"]
    # a module's totals do not depend on the depth shown
    assert r.modules(1)[0].values["macs"] == 192


def test_modules_in_json() -> None:
    d = report().to_dict()
    top = d["modules"][0]
    assert (top["path"], top["depth"], top["layers"], top["macs"]) == ("layer1", 1, 6, 192)


# --- each quantity aggregates as it declares (Quantity.aggregate, docs/plugins.md) -----------------
def test_a_ratio_rolls_up_as_the_ratio_of_its_parts() -> None:
    r = report()
    assert r.quantities["arithmetic_intensity"]["aggregate"] == "ratio:ops/memory_bytes"
    for m in r.modules():
        v = m.values
        expected = v["ops"] / v["memory_bytes"] if v["memory_bytes"] else 0.0
        assert v["arithmetic_intensity"] == pytest.approx(expected), m.path
    layer1 = {m.path: m for m in r.modules(1)}["layer1"].values
    rows = [row for row in r.layers if row.scope.startswith("layer1")]
    # not the sum of the layers' intensities, which is what a roll-up used to report
    assert layer1["arithmetic_intensity"] < sum(row["arithmetic_intensity"] for row in rows)


class Kinds(Metric):
    """Per layer i (1-based): q_sum = i, q_max = i, q_den = 2, q_ratio = i / 2, q_none = 7."""

    name = "kinds"
    quantities = (
        Quantity("q_sum", "u", "i"),
        Quantity("q_max", "u", "i", aggregate="max"),
        Quantity("q_den", "u", "2"),
        Quantity("q_ratio", "u", "q_sum / q_den", aggregate=Ratio("q_sum", "q_den")),
        Quantity("q_none", "u", "7", aggregate="none"),
    )

    def compute(self, ctx):
        rows = {layer.name: {"q_sum": i, "q_max": i, "q_den": 2, "q_ratio": i / 2, "q_none": 7}
                for i, layer in enumerate(ctx.layers, 1)}  # fmt: skip
        n = len(rows)
        # no q_ratio total: the engine derives it from its parts' totals
        return MetricResult(layers=rows, totals={"q_sum": n * (n + 1) // 2, "q_max": n, "q_den": 2 * n})


def test_a_plugin_quantity_of_each_kind() -> None:
    plugin = types.SimpleNamespace(analyzer_register_metrics=hookimpl(lambda register: register(Kinds())))
    r = analyzer.analyze(report().graph, plugins=load_plugins(extra=[plugin], entry_points=False))
    assert {q: r.quantities[q]["aggregate"] for q in ("q_sum", "q_max", "q_ratio", "q_none")} == {
        "q_sum": "sum", "q_max": "max", "q_ratio": "ratio:q_sum/q_den", "q_none": "none"}  # fmt: skip
    n = len(r.layers)
    assert r.totals["q_ratio"] == (n * (n + 1) // 2) / (2 * n)
    assert "q_none" not in r.totals
    for m in r.modules():
        parts = m.path.split(".")
        index = [i for i, row in enumerate(r.layers, 1) if module_path(row)[: len(parts)] == parts]
        assert m.values["q_sum"] == sum(index), m.path
        assert m.values["q_max"] == max(index), m.path
        assert m.values["q_ratio"] == sum(index) / (2 * len(index)), m.path
        assert "q_none" not in m.values


def test_compare_rows_use_the_declaration() -> None:
    a, b = report(), report()  # b declares io_activations a sum: its aligned rows must add up
    b.quantities = {**b.quantities, "io_activations": {**b.quantities["io_activations"], "aggregate": "sum"}}
    rows = analyzer.compare([a, b], labels=["max", "sum"]).layers()
    segment = next(row for row in rows if len(row.layers[0]) > 1)
    io = [r["io_activations"] for r in a.layers if r.name in segment.layers[0]]
    assert sum(io) != max(io)
    assert segment.values["io_activations"] == [max(io), sum(io)]


def test_an_unknown_aggregation_is_refused() -> None:
    with pytest.raises(ValueError, match="aggregate must be sum, max, none or Ratio"):
        Quantity("x", "u", "c", aggregate="mean")  # type: ignore[arg-type]


# --- the roll-up against a direct definition, on random module trees ----------------------------
def _direct(rows, aggregate):
    """Each module's values straight from the definition: its layers' numbers combined (no tree)."""
    from analyzer.core.rollup import aggregations, combine

    how = aggregations({q: {"aggregate": a} for q, a in aggregate.items()})
    paths = {}
    for row in rows:
        parts = module_path(row)
        for d in range(1, len(parts) + 1):
            paths.setdefault(".".join(parts[:d]), []).append(row)
    return {path: (len(members), combine([r.values for r in members], how)) for path, members in paths.items()}


@pytest.mark.parametrize("seed", range(30))
def test_rollup_matches_the_definition(seed: int) -> None:
    """Seeds from 20 on: a hundred rows or more of ints only (whole columns of exact ints are
    summed by ranges of rows; a module called from several places is not one range)."""
    import random

    from analyzer.core.report import LayerRow
    from analyzer.core.rollup import module_tree, rollup

    rng = random.Random(seed)
    aggregate = {"a": "sum", "b": "max", "c": "sum", "r": "ratio:a/c", "n": "none"}
    ints = seed >= 20
    rows = []
    for i in range(rng.randint(100, 200) if ints else rng.randint(1, 40)):
        scope = ".".join(rng.choice(["x", "y", "z@1", "z", "z@12", "@3", "y@1@2"]) for _ in range(rng.randint(0, 3)))
        values = {}
        for q in ["a", "b", "c", "n", "u"] if ints else rng.sample(["a", "b", "c", "r", "n", "s", "u"], rng.randint(0, 7)):
            values[q] = rng.randint(-5, 50) if ints else rng.choice(  # u: undeclared, adds up
                [rng.randint(-5, 50), rng.randint(0, 9) / 4, None, "text", [3, 3], True])
        rows.append(LayerRow(f"l{i}", "op", scope, [[1]], values))
    modules = rollup(rows, aggregate)
    direct = _direct(rows, aggregate)
    assert [m.path for m in modules] == list(direct)  # every module, parents before children
    for m in modules:
        layers, values = direct[m.path]
        assert m.layers == layers and m.depth == m.path.count(".") + 1
        assert list(m.values) == list(values), m.path  # the layers' first-seen order
        assert m.values == pytest.approx(values), m.path
        assert all(type(m.values[q]) is type(v) for q, v in values.items() if q != "r"), m.path
    tree = module_tree(rows, aggregate)  # the same as columns (what the HTML and JSON formats read)
    for q in "abcrnsu":
        assert tree.column(q) == [m.values.get(q) for m in modules], q
    columns = {q: [row.values.get(q) for row in rows] for q in "abcrnsu"}
    again = rollup(rows, aggregate, column=columns.__getitem__)  # Report.layer_column's way
    assert [(m.path, m.layers, m.values) for m in again] == [(m.path, m.layers, m.values) for m in modules]
    if ints:  # every row the same keys: as views of one stored schema (the engine's rows), no key tuple a row
        from analyzer.core.layer_table import RowValues, Schema
        from analyzer.core.rollup import shared_keys

        keys = tuple(rows[0].values)
        schema = Schema(keys, {q: [row.values[q] for row in rows] for q in keys})
        views = [LayerRow(row.name, row.op, row.scope, row.output_shapes, RowValues(schema, i)) for i, row in enumerate(rows)]
        assert shared_keys(views) == keys and shared_keys(rows) is None
        assert module_tree(views, aggregate) == tree
        assert [(m.path, m.layers, m.values) for m in rollup(views, aggregate)] == [(m.path, m.layers, m.values) for m in modules]


def test_a_module_interrupted_by_another_is_not_taken_for_a_range() -> None:
    """``a`` holds rows 66, 68, 69 and 71 (``b`` in between): its last row is 71, not the 69 of the
    last call that walked its path (``a.z@1``), else rows 66 to 69 would pass for its own."""
    from analyzer.core.report import LayerRow
    from analyzer.core.rollup import rollup

    scopes = [f"c.k{i}" for i in range(66)] + ["a.x", "b", "a.y", "a.z@1", "b.c", "a.w"]  # 72 rows: int columns by ranges
    rows = [LayerRow(f"l{i}", "op", s, [[1]], {"a": i * i, "b": i % 7}) for i, s in enumerate(scopes)]
    aggregate = {"a": "sum", "b": "max"}
    assert {m.path: (m.layers, m.values) for m in rollup(rows, aggregate)} == {
        path: (n, values) for path, (n, values) in _direct(rows, aggregate).items()}  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_columns_of_numbers_fold_together_in_the_order_of_one_column(seed: int) -> None:
    """Columns of numbers only are folded several at a time (a tuple of values a step): each float
    sum and maximum is the same float, bit for bit, as one column alone gives (the same additions in
    the same order: NaN, infinities, -0.0 and magnitudes that lose digits included)."""
    import random

    from analyzer.core.report import LayerRow
    from analyzer.core.rollup import _combine_column, module_tree

    rng = random.Random(seed)
    pool = [0.1, 1e16, -1e16, 3.0, -0.0, 0.0, 2.5e-8, float("inf"), float("nan"), 7, 2**70]
    n = rng.randint(1, 150)
    rows = []
    for i in range(n):
        scope = ".".join(rng.choice(["a", "b", "c@1", "c"]) for _ in range(rng.randint(0, 3)))
        values = {q: rng.choice(pool) if rng.random() < 0.3 else rng.uniform(-1e6, 1e6) for q in ("s", "t", "m", "x")}
        rows.append(LayerRow(f"l{i}", "op", scope, [[1]], values))
    for aggregate in ({"s": "sum", "t": "sum", "m": "max", "x": "max"}, {"s": "sum", "t": "sum", "m": "none", "x": "none"},
                      {"s": "none", "t": "none", "m": "max", "x": "max"}):  # fmt: skip
        tree = module_tree(rows, aggregate)
        parents = {path: i for i, path in enumerate(tree.paths)}
        up = [(k, parents[p.rpartition(".")[0]]) for k, p in reversed(list(enumerate(tree.paths))) if "." in p
              and tree.depths[k] > 1]  # fmt: skip
        leaf = [parents[".".join(module_path(row))] for row in rows]
        for q, how in aggregate.items():
            if how == "none":
                assert q not in tree.combined
                continue
            alone = _combine_column([row.values[q] for row in rows], leaf, up, len(tree.paths), how == "max")
            assert list(map(repr, tree.combined[q])) == list(map(repr, alone)), q


@pytest.mark.parametrize("seed", range(4))
def test_many_rows_of_stored_ints_fold_by_numpy_to_the_same_values(seed: int, monkeypatch) -> None:
    """From ``_NUMPY_FROM`` rows, stored columns of ints are summed and maxed by numpy: the same
    values as the fold in Python (negative values; sums that could pass 64 bits stay in Python)."""
    import random
    from array import array

    from analyzer.core import rollup
    from analyzer.core.layer_table import RowValues, Schema
    from analyzer.core.report import LayerRow

    rng = random.Random(seed)
    n = rng.randint(1, 300)
    big = 2**62 if seed == 3 else 10**9  # seed 3: sums beyond 64 bits
    keys = ("a", "b", "c")
    schema = Schema(keys, {q: array("q", [rng.randint(-big, big) for _ in range(n)]) for q in keys})
    rows = [LayerRow(f"l{i}", "op", ".".join(rng.choice(["x", "y", "z@1"]) for _ in range(rng.randint(0, 3))),
                     [[1]], RowValues(schema, i)) for i in range(n)]  # fmt: skip
    aggregate = {"a": "sum", "b": "max", "c": "sum"}

    def column(q: str):
        return schema.columns[q][:]  # as Report.layer_columns() hands a stored column over

    in_python = rollup.module_tree(rows, aggregate, None, column)
    monkeypatch.setattr(rollup, "_NUMPY_FROM", 0)
    by_numpy = rollup.module_tree(rows, aggregate, None, column)
    assert by_numpy == in_python
    assert by_numpy.combined["a"] == [sum(r.values["a"] for r in rows if _under(r, p)) for p in by_numpy.paths]


def _under(row, path: str) -> bool:
    parts = module_path(row)
    return ".".join(parts[: path.count(".") + 1]) == path
