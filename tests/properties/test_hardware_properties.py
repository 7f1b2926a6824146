"""Hardware predictions over random IR graphs and every built-in device (docs/hardware.md).

- latency is the sum over layers of max(compute, memory) + the fixed cost;
  throughput is batch / latency; energies are non-negative;
- the batch sweep, which scales a batch-1 graph's ops and activations
  instead of rebuilding it, predicts exactly what the graph rebuilt at that
  batch gives (latency, bound, fit, energy per item);
- the MCU arena planner never places two buffers alive at the same step at
  overlapping addresses, and its arena lies between the live peak and the
  naive sum; the order search never raises the peak.
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

CATALOG = load_plugins(entry_points=False).devices
DEVICES = CATALOG.names()
MCUS = [name for name in DEVICES if CATALOG.get(name).device_class == "mcu"]
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


@CI
@given(ir_graphs(), st.sampled_from(MCUS), st.booleans(), st.booleans())
def test_arena_placements_never_overlap(
    recipe: Recipe, device: str, reorder: bool, inplace: bool
) -> None:
    options = AnalysisOptions(hardware={"reorder": reorder, "inplace_depthwise": inplace})
    report = analyzer.analyze_graph(recipe.build(), options, devices=[device])
    arena = report.hardware[0].details["memory"]["arena"]
    order = arena["order"] or [row.name for row in report.layers]
    step = {name: i for i, name in enumerate(order)}
    placed = arena["placements"]
    align = arena["alignment_bytes"]
    for p in placed:
        assert p["offset"] % align == 0 and p["bytes"] % align == 0, p
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            alive_together = (
                step[a["first"]] <= step[b["last"]] and step[b["first"]] <= step[a["last"]]
            )
            apart = (
                a["offset"] + a["bytes"] <= b["offset"] or b["offset"] + b["bytes"] <= a["offset"]
            )
            assert apart or not alive_together, (a, b)
    assert arena["arena_bytes"] == max((p["offset"] + p["bytes"] for p in placed), default=0)
    assert arena["peak_live_bytes"] <= arena["arena_bytes"] <= arena["naive_bytes"]
    if reorder and arena["order_exact"]:
        assert arena["peak_live_bytes"] <= arena["graph_order_peak_live_bytes"]
