"""The arena planner on cases with known answers (TFLM's own planner tests among them)."""

from __future__ import annotations

import pytest

from analyzer import GraphBuilder
from analyzer.core.layers import group_layers
from analyzer.core.metric import MetricContext
from analyzer.core.options import AnalysisOptions
from analyzer.core.plugins import default_plugins
from analyzer.plugins.hardware.mcu import graph_buffers
from analyzer.plugins.hardware.planner import Buffer, greedy_arena, plan, search_order


def _overlaps(placements) -> bool:
    for i, a in enumerate(placements):
        for b in placements[i + 1 :]:
            if a.first <= b.last and b.first <= a.last and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                return True
    return False


# --- TFLM greedy_memory_planner_test.cc: (size, first, last), alignment 1 -------------------------


def test_tflm_basics():
    arena, offsets = greedy_arena([(10, 0, 1), (20, 2, 3)])
    assert arena == 20 and offsets == [0, 0]


def test_tflm_medium_offsets_and_arena():
    items = [(10, 0, 1), (20, 1, 2), (30, 2, 3), (40, 3, 4), (50, 0, 1)]
    arena, offsets = greedy_arena(items)
    assert offsets == [50, 70, 40, 0, 0]
    assert arena == 90  # the naive sum is 150: greedy placement reuses memory


def test_tflm_overlap_case():
    assert greedy_arena([(100, 0, 1), (50, 2, 3), (20, 1, 2)])[0] == 120


def test_tflm_person_detection_model_beats_the_naive_sum():
    spans = [(9216, 0, 29), (3, 28, 29), (256, 27, 28), (2304, 26, 27), (2304, 25, 26), (2304, 24, 25),
             (1152, 23, 24), *[(4608, t, t + 1) for t in range(22, 11, -1)], (2304, 11, 12),
             (9216, 10, 11), (9216, 9, 10), (9216, 8, 9), (4608, 7, 8), (18432, 6, 7), (18432, 5, 6),
             (18432, 4, 5), (9216, 3, 4), (36864, 2, 3), (18432, 1, 2), (18432, 0, 1)]  # fmt: skip
    assert sum(s for s, _, _ in spans) == 241027
    buffers = [Buffer(f"b{i}", s, None, frozenset(), False) for i, (s, _, _) in enumerate(spans)]
    arena, offsets = greedy_arena(spans)
    assert arena < 241027
    # lower bound: the most bytes alive at one time
    assert arena >= max(sum(s for s, f, last in spans if f <= t <= last) for t in range(30))
    placed = [type("P", (), {"first": f, "last": last, "offset": o, "size": s})()
              for (s, f, last), o in zip(spans, offsets, strict=True)]  # fmt: skip
    assert not _overlaps(placed) and len(buffers) == len(spans)


# --- plans over steps -----------------------------------------------------------------------------


def chain(sizes: list[int]) -> list[Buffer]:
    """input -> step 0 -> ... -> step n-1 -> output; buffer i is read by step i."""
    n = len(sizes) - 1
    return [Buffer(f"t{i}", s, i - 1 if i else None, frozenset({i}) if i < n else frozenset(), i == n)
            for i, s in enumerate(sizes)]  # fmt: skip


def test_chain_reuses_memory_and_aligns_to_16_bytes():
    p = plan(chain([100, 200, 100, 50]), 3)
    # step 1 holds 208 + 112, step 0 112 + 208: the arena is 320 of a naive 112+208+112+64
    assert p.arena_bytes == 320 and p.naive_bytes == 496
    assert p.peak_live_bytes == 320 and p.peak_step in (0, 1)
    assert all(pl.offset % 16 == 0 and pl.size % 16 == 0 for pl in p.placements)
    assert not _overlaps(p.placements)
    assert plan(chain([100, 200, 100, 50]), 3, alignment=1).arena_bytes == 300


def branches() -> list[Buffer]:
    """x -> a1 (big) -> a2 (small); x -> b1 (big) -> b2 (small); cat(a2, b2). Steps: 0 a1, 1 b1, 2 a2, 3 b2, 4 cat."""
    return [
        Buffer("x", 16, None, frozenset({0, 1})),
        Buffer("a1", 160, 0, frozenset({2})),
        Buffer("b1", 160, 1, frozenset({3})),
        Buffer("a2", 16, 2, frozenset({4})),
        Buffer("b2", 16, 3, frozenset({4})),
        Buffer("out", 32, 4, frozenset(), True),
    ]


def test_reordering_lowers_the_peak_for_branches():
    graph_order = plan(branches(), 5)
    # order a1, b1, a2: x + a1 + b1 alive at step 1, a1 + b1 + a2 at step 2
    assert graph_order.peak_live_bytes == 16 + 160 + 160 == graph_order.arena_bytes
    best = plan(branches(), 5, reorder=True)
    assert best.order == [0, 2, 1, 3, 4] and best.exact_order
    # finish one branch before the other: never two big buffers at once
    assert best.peak_live_bytes == 16 + 16 + 160 == best.arena_bytes
    assert not _overlaps(best.placements)


def test_order_search_respects_dependencies_and_beam_is_flagged():
    order, exact = search_order(branches(), 5, [set(), set(), {0}, {1}, {2, 3}], max_states=1)
    assert not exact
    pos = {s: i for i, s in enumerate(order)}
    assert pos[0] < pos[2] < pos[4] and pos[1] < pos[3] < pos[4]


# --- the IR adapter: graph inputs, outputs, in-place options --------------------------------------


def _ctx(graph) -> MetricContext:
    ps = default_plugins()
    return MetricContext(graph, group_layers(graph, ps.vocabulary), AnalysisOptions(), ps.formulas, ps.vocabulary)


def dw_block():
    b = GraphBuilder("dw", dtype="int8")
    x = b.input("x", (1, 2, 16, 16))  # 512 B
    x = b.conv(x, 8, 1, bias=False, name="pw1")  # 2048 B
    x = b.batch_norm(x, name="bn1")  # 2048 B, foldable into pw1
    x = b.relu(x, name="act1")  # in place
    x = b.conv(x, 8, 3, padding=1, groups=8, bias=False, name="dw")  # 2048 B
    return b.build(b.conv(x, 4, 1, bias=False, name="pw2"))  # 1024 B


def test_graph_buffers_from_the_ir():
    ctx = _ctx(dw_block())
    buffers, deps = graph_buffers(ctx)
    by = {b.name: b for b in buffers}
    assert by["x"].producer is None and by["x"].consumers == frozenset({0})
    assert by["pw2"].output and by["pw2"].size == 1024
    # bn1 and the in-place act1 share storage: read by act1 (2) and dw (3)
    assert by["bn1"].consumers == frozenset({2, 3})
    assert deps[3] == {2} and deps[2] == {1}
    assert plan(buffers, len(ctx.layers)).arena_bytes == 4096


def test_batch_norm_folding_and_inplace_depthwise_shrink_the_arena():
    ctx = _ctx(dw_block())
    n = len(ctx.layers)
    folded, deps = graph_buffers(ctx, fold_batch_norm=True)
    assert "bn1" not in {b.name for b in folded}
    assert plan(folded, n, deps).arena_bytes == 4096  # pw1 + dw alive at step 3
    both, deps = graph_buffers(ctx, fold_batch_norm=True, inplace_depthwise=True)
    names = {b.name for b in both}
    assert "dw" not in names and "dw:inplace_tmp" in names
    tmp = next(b for b in both if b.name == "dw:inplace_tmp")
    assert tmp.size == 2048 // 8  # one channel of the depthwise output
    p = plan(both, n, deps)
    # the depthwise writes over pw1's buffer: step 3 needs 2048 + 256, step 4 2048 + 1024
    assert p.live_bytes == [2560, 2048, 2048, 2304, 3072]
    assert p.arena_bytes == 3072 and p.peak_step == 4


def test_inplace_is_refused_when_the_input_is_read_later():
    b = GraphBuilder("res", dtype="int8")
    x = b.input("x", (1, 8, 8, 8))
    y = b.conv(x, 8, 3, padding=1, groups=8, bias=False, name="dw")
    g = b.build(b.add(x, y, name="add"))
    buffers, _ = graph_buffers(_ctx(g), inplace_depthwise=True)
    assert {bf.name for bf in buffers} == {"x", "dw", "add"}


@pytest.mark.parametrize("scale", [2.0, 0.5])
def test_buffers_scale_with_batch(scale):
    buffers, _ = graph_buffers(_ctx(dw_block()), scale=scale)
    assert {b.name: b.size for b in buffers}["pw2"] == int(1024 * scale)
