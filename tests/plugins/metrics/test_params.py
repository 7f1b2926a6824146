"""Parameter counts (docs/metrics.md, Parameters): shared tensors once, owned by the
first layer using them; buffers; counters excluded; frozen weights; unused params."""

from __future__ import annotations

import analyzer
from analyzer import GraphBuilder
from analyzer.core.graph import Graph
from tests.plugins.metrics.graphs import batch_norm_with_counter


def tied_model() -> Graph:
    """emb (10x4 table) -> proj (frozen 4x4 weight, trainable bias) -> head (weight tied to the table)."""
    b = GraphBuilder("tied")
    idx = b.input("idx", (1, 3), dtype="int64")
    e = b.embedding(idx, 10, 4, name="emb")  # emb.weight 10*4 = 40
    w = b.param("proj.weight", (4, 4), trainable=False)  # 16, frozen
    pb = b.param("proj.bias", (4,), role="bias")  # 4
    h = b.op("linear", [e, w, pb], (1, 3, 4), name="proj")
    hb = b.param("head.bias", (10,), role="bias")  # 10
    b.op("linear", [h, "emb.weight", hb], (1, 3, 10), name="head")  # reuses emb.weight
    b.param("unused.weight", (7,))  # 7, read by no op
    return b.build()


def test_tied_weight_counted_once_and_owned_by_first_layer() -> None:
    r = analyzer.analyze(tied_model())
    emb, proj, head = r.layer("emb"), r.layer("proj"), r.layer("head")
    assert (emb["params"], emb["shared_params"]) == (40, 0)
    assert (proj["params"], proj["non_trainable_params"]) == (
        4,
        16,
    )  # bias trainable, weight frozen
    assert (head["params"], head["shared_params"]) == (10, 40)  # only its bias; the table is shared
    # totals: trainable 40 + 4 + 10 + 7 (unused) = 61; frozen 16; total 77
    t = r.totals
    assert t["params"] == 61
    assert t["non_trainable_params"] == 16
    assert t["total_params"] == 77
    assert t["unused_params"] == 7
    assert t["buffers"] == 0
    # layer rows add up to the totals, except unused parameters: 40 + 4 + 10 = 61 - 7
    assert sum(row["params"] for row in r.layers) == 61 - 7


def test_bias_false_drops_bias_role_only() -> None:
    r = analyzer.analyze(tied_model(), bias=False)
    # 61 - proj.bias 4 - head.bias 10 = 47; frozen weight unaffected
    assert r.totals["params"] == 47
    assert r.totals["non_trainable_params"] == 16
    assert r.layer("head")["params"] == 0
    assert r.layer("head")["shared_params"] == 40


def bn_model() -> Graph:
    """conv 3->2 k1 no bias (6) -> batch_norm with scale/shift, running stats (buffers) and a step counter."""
    b = GraphBuilder("bn")
    x = b.input("x", (1, 3, 4, 4))
    x = b.conv(x, 2, 1, bias=False, name="conv")
    batch_norm_with_counter(b, x)
    return b.build()


def test_buffers_and_counter() -> None:
    r = analyzer.analyze(bn_model())
    bn = r.layer("bn")
    # trainable: scale 2 + shift 2 = 4; statistics 2 + 2 = 4, both buffers; the counter counts nowhere
    assert (bn["params"], bn["non_trainable_params"], bn["buffers"]) == (4, 4, 4)
    assert r.totals["params"] == 6 + 4
    assert r.totals["non_trainable_params"] == 4
    assert r.totals["buffers"] == 4
    assert r.totals["total_params"] == 14


def test_bias_false_keeps_norm_shift() -> None:
    r = analyzer.analyze(bn_model(), bias=False)
    assert r.layer("bn")["params"] == 4  # shift is not a bias
    assert r.totals["params"] == 10


def test_lecture_per_layer_formulas() -> None:
    b = GraphBuilder("p")
    x = b.input("x", (1, 8, 6, 6))
    b.conv(x, 16, 3, name="conv")  # 16*8*3*3 + 16 = 1168
    b.conv(x, 16, 3, groups=4, name="grouped")  # 16*8*3*3/4 + 16 = 304
    b.conv(x, 8, 5, groups=8, bias=False, name="dw")  # 8*5*5 = 200
    y = b.linear(b.flatten(x, name="flat"), 10, name="fc")  # 10*288 + 10 = 2890
    r = analyzer.analyze(b.build())
    assert r.layer("conv")["params"] == 1168
    assert r.layer("grouped")["params"] == 304
    assert r.layer("dw")["params"] == 200
    assert r.layer("fc")["params"] == 2890
    assert r.totals["params"] == 1168 + 304 + 200 + 2890
    assert y  # fc is an output
