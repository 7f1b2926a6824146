"""Performance structure: what keeps large graphs linear (timings themselves are in bench/scale.py)."""

from __future__ import annotations

import gc

import pytest

from analyzer import AnalysisError, Graph, GraphBuilder, analyze_graph, zoo


def test_analysis_pauses_the_cycle_collector_and_restores_it():
    seen = []
    gc.callbacks.append(lambda phase, info: seen.append(phase))
    try:
        assert gc.isenabled()
        analyze_graph(zoo.resnet50())
        assert gc.isenabled()
        with pytest.raises(AnalysisError):
            g = Graph("broken")
            g.outputs = ["nowhere"]
            analyze_graph(g)
        assert gc.isenabled()
        gc.disable()  # a caller's choice is kept
        analyze_graph(zoo.tiny_cnn())
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.callbacks.pop()


def test_rollup_of_a_deep_tree_matches_a_direct_sum():
    """Bottom-up folding gives each module the sum over all its layers."""
    b = GraphBuilder("deep")
    x = b.input("x", (1, 4, 8, 8))
    for i in range(3):
        with b.scope(f"s{i}"):
            for j in range(2):
                with b.scope(f"b{j}"):
                    x = b.conv(x, 4, 3, padding=1, name="conv")
                    x = b.relu(x, name="relu")
    report = analyze_graph(b.build(x))
    modules = {m.path: m for m in report.modules()}
    for path, m in modules.items():
        rows = [r for r in report.layers if r.scope == path or r.scope.startswith(path + ".")]
        assert m.layers == len(rows)
        assert m.values["macs"] == sum(r.macs for r in rows)
        assert m.values["io_activations"] == max(r.io_activations for r in rows)


def test_rollup_keeps_first_seen_order_of_mixed_quantities():
    from analyzer.core.report import LayerRow
    from analyzer.core.rollup import rollup

    rows = [
        LayerRow("m.x", "conv", "m.x", [], {"a": 1, "b": 2}),
        LayerRow("m.y", "conv", "m.y", [], {"c": 3, "a": 4}),
        LayerRow("m.z", "conv", "m.z", [], {"b": 5, "d": "text"}),
        LayerRow("m.x#1", "conv", "m.x", [], {"a": 10, "b": 20}),
    ]
    modules = {m.path: m for m in rollup(rows, {"b": "max"})}
    assert list(modules) == ["m", "m.x", "m.y", "m.z"]
    assert list(modules["m"].values.items()) == [("a", 15), ("b", 20), ("c", 3)]
    assert modules["m"].layers == 4 and modules["m.x"].layers == 2
    assert modules["m.x"].values == {"a": 11, "b": 20}
