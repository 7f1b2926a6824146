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
