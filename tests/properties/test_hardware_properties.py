"""Hardware predictions over random IR graphs and every built-in device (docs/hardware.md).

- latency is the sum over layers of max(compute, memory) + the fixed cost;
  throughput is batch / latency; energies are non-negative;
- the batch sweep, which scales a batch-1 graph's ops and activations
  instead of rebuilding it, predicts exactly what the graph rebuilt at that
  batch gives (latency, bound, fit, energy per item).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import analyzer
from analyzer.core.options import AnalysisOptions
from analyzer.core.plugins import load_plugins
from tests.properties.strategies import CI, Recipe, ir_graphs

DEVICES = load_plugins(entry_points=False).devices.names()
SWEEP = (1, 2, 3)


@CI
@given(ir_graphs(), st.sampled_from(DEVICES))
def test_latency_is_the_sum_of_layer_rooflines(recipe: Recipe, device: str) -> None:
    g = recipe.build()
    h = analyzer.analyze_graph(g, devices=[device]).hardware[0]
    assert h.latency_s >= 0 and math.isfinite(h.latency_s)  # 0: a graph of views moves nothing
    assert h.latency_s == pytest.approx(sum(row["latency_s"] for row in h.layers), rel=1e-9)
    for row in h.layers:
        expected = max(row["compute_s"], row["memory_s"]) + row["overhead_s"]
        assert row["latency_s"] == pytest.approx(expected, rel=1e-9), row["name"]
        assert row["energy_j"] is None or row["energy_j"] >= 0
    if h.latency_s:
        assert h.throughput_per_s == pytest.approx(g.batch_size() / h.latency_s, rel=1e-9)
    assert h.energy_j is None or h.energy_j >= 0
    assert h.bound in ("compute", "memory")


@CI
@given(ir_graphs(), st.sampled_from(DEVICES))
def test_batch_sweep_equals_the_rebuilt_graph(recipe: Recipe, device: str) -> None:
    options = AnalysisOptions(hardware={"batch_sizes": list(SWEEP)})
    sweep = analyzer.analyze_graph(recipe.build(1), options, devices=[device]).hardware[0]
    rows = sweep.details["batch_sweep"]
    assert [row["batch"] for row in rows] == list(SWEEP[: len(rows)])
    for row in rows:
        direct = analyzer.analyze_graph(recipe.build(row["batch"]), devices=[device]).hardware[0]
        assert row["latency_s"] == pytest.approx(direct.latency_s, rel=1e-9), row["batch"]
        assert row["throughput_per_s"] == pytest.approx(direct.throughput_per_s, rel=1e-9)
        assert (row["bound"], row["fits"]) == (direct.bound, direct.fits), row["batch"]
        if direct.energy_j is not None:
            per_item = direct.energy_j / row["batch"]
            assert row["energy_per_item_j"] == pytest.approx(per_item, rel=1e-9), row["batch"]
