"""FLOPs of norms, softmax, pooling, reductions and resize; zero-cost views and
movement; and the coverage check: every registered formula has a hand-computed case."""

from __future__ import annotations

import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.core.ops import Category

from . import test_contractions, test_elementwise
from ._cases import TARGET, Case, check, one_op

X4 = (2, 3, 4, 4)  # 96 elements


def norm(op, shape, attrs, roles):
    c = shape[attrs.get("channel_axis", 1)] if roles else 0
    return one_op(op, [shape], shape, attrs, [(f"p_{r}", (c,), r) for r in roles])


CASES = [
    # --- normalization ---------------------------------------------------------
    # batch_norm inference: x*s + t = 2 per element * 96 = 192
    Case("batch_norm", "batch_norm",
         norm("batch_norm", X4, {"channel_axis": 1}, ["scale", "shift", "mean", "var"]), {"other_flops": 192}),
    # training: 6 per element * 96 = 576
    Case("batch_norm_training", "batch_norm",
         norm("batch_norm", X4, {"channel_axis": 1, "training": True}, ["scale", "shift", "mean", "var"]),
         {"other_flops": 576}),
    # layer_norm (2,5,8) = 80 elements, affine: (5 + 2) * 80 = 560
    Case("layer_norm_affine", "layer_norm",
         one_op("layer_norm", [(2, 5, 8)], (2, 5, 8), {"axes": (-1,)}, [("g", (8,), "scale"), ("b", (8,), "shift")]),
         {"other_flops": 560}),
    # without affine: 5 * 80 = 400
    Case("layer_norm_plain", "layer_norm", one_op("layer_norm", [(2, 5, 8)], (2, 5, 8), {"axes": (-1,)}),
         {"other_flops": 400}),
    # group_norm with scale and shift: 7 * 96 = 672
    Case("group_norm_affine", "group_norm",
         norm("group_norm", X4, {"groups": 3, "channel_axis": 1}, ["scale", "shift"]), {"other_flops": 672}),
    # group_norm with scale only: 6 * 96 = 576
    Case("group_norm_scale", "group_norm",
         norm("group_norm", X4, {"groups": 3, "channel_axis": 1}, ["scale"]), {"other_flops": 576}),
    # instance_norm without affine: 5 * 96 = 480
    Case("instance_norm", "instance_norm", norm("instance_norm", X4, {"channel_axis": 1}, []), {"other_flops": 480}),
    # rms_norm with a scale: (3 + 1) * 80 = 320; without: 3 * 80 = 240
    Case("rms_norm_scale", "rms_norm",
         one_op("rms_norm", [(2, 5, 8)], (2, 5, 8), {"axes": (-1,)}, [("g", (8,), "scale")]), {"other_flops": 320}),
    Case("rms_norm_plain", "rms_norm", one_op("rms_norm", [(2, 5, 8)], (2, 5, 8), {"axes": (-1,)}),
         {"other_flops": 240}),
    # softmax (3,7) = 21 elements: 5 * 21 = 105
    Case("softmax", "softmax", one_op("softmax", [(3, 7)], (3, 7), {"axis": -1}), {"other_flops": 105}),
    # log_softmax along the last axis: 105 + one log per row (3 rows) = 108
    Case("log_softmax_last", "log_softmax", one_op("log_softmax", [(3, 7)], (3, 7), {"axis": -1}),
         {"other_flops": 108}),
    # along axis 0: rows are the 7 columns: 105 + 7 = 112
    Case("log_softmax_axis0", "log_softmax", one_op("log_softmax", [(3, 7)], (3, 7), {"axis": 0}),
         {"other_flops": 112}),
    # --- pooling -----------------------------------------------------------------
    # max_pool x (1,2,6,6) k3 s2 -> (1,2,2,2) = 8 outputs, (9-1) comparisons each = 64
    Case("max_pool", "max_pool", one_op("max_pool", [(1, 2, 6, 6)], (1, 2, 2, 2),
         {"kernel_size": (3, 3), "stride": (2, 2), "padding": ((0, 0), (0, 0)), "channel_axis": 1}),
         {"macs": 0, "other_flops": 64}),
    # avg_pool, same window: 9 per output * 8 = 72
    Case("avg_pool", "avg_pool", one_op("avg_pool", [(1, 2, 6, 6)], (1, 2, 2, 2),
         {"kernel_size": (3, 3), "stride": (2, 2), "padding": ((0, 0), (0, 0)), "channel_axis": 1}),
         {"other_flops": 72}),
    # 1-d max_pool (1,4,9) k3 s3 -> (1,4,3) = 12 outputs * 2 = 24
    Case("max_pool_1d", "max_pool", one_op("max_pool", [(1, 4, 9)], (1, 4, 3),
         {"kernel_size": (3,), "stride": (3,), "padding": ((0, 0),), "channel_axis": 1}),
         {"other_flops": 24}),
    # adaptive avg (1,3,7,7) -> 5x5: K = ceil(7/5)^2 = 4; 75 outputs * 4 = 300
    Case("adaptive_avg_pool", "adaptive_avg_pool",
         one_op("adaptive_avg_pool", [(1, 3, 7, 7)], (1, 3, 5, 5), {"output_size": (5, 5), "channel_axis": 1}),
         {"other_flops": 300}),
    # global average (1,3,4,4) -> 1x1: K = 16; 3 outputs * 16 = 48
    Case("global_avg_pool", "adaptive_avg_pool",
         one_op("adaptive_avg_pool", [(1, 3, 4, 4)], (1, 3, 1, 1), {"output_size": (1, 1), "channel_axis": 1}),
         {"other_flops": 48}),
    # channels-last adaptive avg (1,7,7,3) -> (1,5,5,3): K 4 * 75 = 300
    Case("adaptive_avg_pool_nhwc", "adaptive_avg_pool",
         one_op("adaptive_avg_pool", [(1, 7, 7, 3)], (1, 5, 5, 3), {"output_size": (5, 5), "channel_axis": 3}),
         {"other_flops": 300}),
    # adaptive max (1,2,6,4) -> 3x2: K = 2*2 = 4; 12 outputs * (4-1) = 36
    Case("adaptive_max_pool", "adaptive_max_pool",
         one_op("adaptive_max_pool", [(1, 2, 6, 4)], (1, 2, 3, 2), {"output_size": (3, 2), "channel_axis": 1}),
         {"other_flops": 36}),
    # --- reductions: x (4,5,6) = 120 over axis 1 -> (4,6) = 24 ------------------------
    # n-1 per output: 24 * (5-1) = 96 = 120 - 24
    *(Case(op, op, one_op(op, [(4, 5, 6)], (4, 6), {"axes": (1,), "keepdims": False}), {"other_flops": 96})
      for op in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "argmax", "argmin")),
    # mean: 96 adds + 24 divisions = 120
    Case("reduce_mean", "reduce_mean", one_op("reduce_mean", [(4, 5, 6)], (4, 6), {"axes": (1,)}),
         {"other_flops": 120}),
    # variance: 4 per input element = 480
    Case("reduce_var", "reduce_var", one_op("reduce_var", [(4, 5, 6)], (4, 6), {"axes": (1,)}),
         {"other_flops": 480}),
    # full reduction to a scalar: 120 - 1 = 119
    Case("reduce_sum_all", "reduce_sum", one_op("reduce_sum", [(4, 5, 6)], (), {"axes": (0, 1, 2)}),
         {"other_flops": 119}),
    # cumsum: 1 per element = 120
    Case("cumsum", "cumsum", one_op("cumsum", [(4, 5, 6)], (4, 5, 6), {"axis": 1}), {"other_flops": 120}),
    # --- resize: (1,2,4,4) -> (1,2,8,8) = 128 outputs -------------------------------------
    Case("resize_nearest", "resize",
         one_op("resize", [(1, 2, 4, 4)], (1, 2, 8, 8), {"mode": "nearest", "spatial_dims": 2}), {"other_flops": 0}),
    # bilinear: 3 lerps (2^2-1) of 3 ops = 9 per output * 128 = 1152
    Case("resize_linear_2d", "resize",
         one_op("resize", [(1, 2, 4, 4)], (1, 2, 8, 8), {"mode": "linear", "spatial_dims": 2}),
         {"other_flops": 1152}),
    # bicubic: (4^2-1)/3 = 5 interpolations of 7 = 35 per output * 128 = 4480
    Case("resize_cubic_2d", "resize",
         one_op("resize", [(1, 2, 4, 4)], (1, 2, 8, 8), {"mode": "cubic", "spatial_dims": 2}),
         {"other_flops": 4480}),
    # linear 1-d (1,2,4) -> (1,2,8) = 16 outputs * 3 * (2-1) = 48 (spatial_dims from the rank)
    Case("resize_linear_1d", "resize", one_op("resize", [(1, 2, 4)], (1, 2, 8), {"mode": "linear"}),
         {"other_flops": 48}),
    # trilinear (1,1,2,2,2) -> (1,1,4,4,4) = 64 outputs * 3 * (8-1) = 1344
    Case("resize_linear_3d", "resize",
         one_op("resize", [(1, 1, 2, 2, 2)], (1, 1, 4, 4, 4), {"mode": "linear", "spatial_dims": 3}),
         {"other_flops": 1344}),
]  # fmt: skip

# Views, data movement and constants: 0 MACs, 0 FLOPs, and supported.
ZERO_CASES = [
    Case("reshape", "reshape", one_op("reshape", [(2, 6)], (3, 4)), {"macs": 0, "ops": 0}),
    Case("permute", "permute", one_op("permute", [(2, 6)], (6, 2), {"perm": (1, 0)}), {"macs": 0, "ops": 0}),
    Case("expand", "expand", one_op("expand", [(1, 6)], (4, 6)), {"macs": 0, "ops": 0}),
    Case("slice", "slice", one_op("slice", [(2, 6)], (2, 3)), {"macs": 0, "ops": 0}),
    Case("split", "split", one_op("split", [(2, 6)], [(2, 3), (2, 3)]), {"macs": 0, "ops": 0}),
    Case("identity", "identity", one_op("identity", [(2, 6)], (2, 6)), {"macs": 0, "ops": 0}),
    Case("concat", "concat", one_op("concat", [(2, 6), (2, 6)], (4, 6), {"axis": 0}), {"macs": 0, "ops": 0}),
    Case("stack", "stack", one_op("stack", [(2, 6), (2, 6)], (2, 2, 6), {"axis": 0}), {"macs": 0, "ops": 0}),
    Case("pad", "pad", one_op("pad", [(2, 6)], (4, 8)), {"macs": 0, "ops": 0}),
    Case("gather", "gather", one_op("gather", [(10, 6), (3,)], (3, 6), {"axis": 0}), {"macs": 0, "ops": 0}),
    Case("scatter", "scatter", one_op("scatter", [(10, 6), (3,), (3, 6)], (10, 6)), {"macs": 0, "ops": 0}),
    Case("copy", "copy", one_op("copy", [(2, 6)], (2, 6)), {"macs": 0, "ops": 0}),
    Case("tile", "tile", one_op("tile", [(2, 6)], (4, 12)), {"macs": 0, "ops": 0}),
    Case("flip", "flip", one_op("flip", [(2, 6)], (2, 6)), {"macs": 0, "ops": 0}),
    Case("embedding", "embedding", one_op("embedding", [(2, 5)], (2, 5, 8), params=[("table", (100, 8), "embedding")]),
         {"macs": 0, "ops": 0}),
    Case("one_hot", "one_hot", one_op("one_hot", [(5,)], (5, 10)), {"macs": 0, "ops": 0}),
    Case("sort", "sort", one_op("sort", [(2, 6)], (2, 6)), {"macs": 0, "ops": 0}),
    Case("nonzero", "nonzero", one_op("nonzero", [(2, 6)], (5, 2)), {"macs": 0, "ops": 0}),
    Case("unique", "unique", one_op("unique", [(2, 6)], [(4,), (2, 6)]), {"macs": 0, "ops": 0}),
    Case("constant", "constant", one_op("constant", [], (3, 4)), {"macs": 0, "ops": 0}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_layer_formula(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", ZERO_CASES, ids=repr)
def test_no_arithmetic(case: Case) -> None:
    check(case)


ALL_CASES = [*test_contractions.CASES, *test_elementwise.CASES, *CASES]


def test_every_registered_formula_has_a_hand_computed_case() -> None:
    """A new formula in analyzer/plugins/formulas without a case here fails this test."""
    ps = analyzer.load_plugins(entry_points=False)
    covered = set().union(*(c.covered() for c in ALL_CASES))
    for table in ("macs", "dots", "bias", "flops"):
        missing = {(table, op) for op in ps.formulas.ops(table)} - covered
        assert not missing, f"formulas without a hand-computed case: {sorted(missing)}"


def test_every_vocabulary_op_is_priced_or_free() -> None:
    """Every built-in op has a formula case, or a zero case when its category does no arithmetic."""
    ps = analyzer.load_plugins(entry_points=False)
    priced = {c.op for c in ALL_CASES}
    free = {c.op for c in ZERO_CASES}
    for d in ps.vocabulary:
        if d.name == "unknown":
            continue
        if d.category in (Category.VIEW, Category.MOVEMENT, Category.CONSTANT):
            assert d.name in free | priced, d.name
        else:
            assert d.name in priced, d.name


def test_views_are_free_inside_a_model() -> None:
    b = GraphBuilder("m")
    x = b.input("x", (1, 2, 3, 3))
    y = b.flatten(x, name="flatten")
    y = b.identity(y, name=TARGET)
    r = analyzer.analyze(b.build(y))
    assert r.totals["ops"] == 0 and r.totals["macs"] == 0
    assert r.unsupported == []
