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


def test_a_weight_tied_across_a_layer_used_twice_is_shared_in_every_later_layer() -> None:
    # emb -> fc (own weight) -> head (the table again) -> head2 (the table a third time)
    b = GraphBuilder("tied3")
    e = b.embedding(b.input("idx", (1, 3), dtype="int64"), 10, 4, name="emb")  # 40
    h = b.op("linear", [e, b.param("fc.weight", (4, 4))], (1, 3, 4), name="fc")  # 16
    h = b.op("linear", [h, "emb.weight"], (1, 3, 10), name="head")
    b.op("linear", [e, "emb.weight"], (1, 3, 10), name="head2")
    r = analyzer.analyze(b.build())
    assert [(r.layer(n)["params"], r.layer(n)["shared_params"]) for n in ("emb", "fc", "head", "head2")] == [
        (40, 0), (16, 0), (0, 40), (0, 40)
    ]  # fmt: skip
    assert r.totals["params"] == 56 and r.totals["unused_params"] == 0


def test_derived_parameter_tables() -> None:
    from analyzer.core.layers import group_layers
    from analyzer.core.metric import MetricContext
    from analyzer.core.options import AnalysisOptions
    from analyzer.core.plugins import default_plugins
    from analyzer.plugins.metrics.params import (
        counted_params,
        layer_weights,
        param_owners,
        reused_params,
        unused_params,
    )

    ps = default_plugins()

    def ctx(graph: Graph, **options) -> MetricContext:
        opts = AnalysisOptions(**options).resolve(ps.metrics.values())
        return MetricContext(graph, group_layers(graph, ps.vocabulary), opts, ps.formulas, ps.vocabulary)

    tied = ctx(tied_model())
    assert param_owners(tied) == {"emb.weight": "emb", "proj.weight": "proj", "proj.bias": "proj",
                                  "head.bias": "head"}  # fmt: skip
    assert reused_params(tied) == {"emb.weight"}
    assert set(unused_params(tied)) == {"unused.weight"}
    assert counted_params(tied) is tied.graph.params  # every parameter counts: the graph's own table
    assert set(counted_params(ctx(tied_model(), bias=False))) == {"emb.weight", "proj.weight", "unused.weight"}
    assert "bn.num_batches_tracked" not in counted_params(ctx(bn_model()))
    # per layer (emb, proj, head): owned elements by kind, shared ones, and the bits of the owned ones
    w = layer_weights(ctx(tied_model(), layer_bits={"proj": 8}))
    assert (list(w.trainable), list(w.frozen), list(w.shared)) == ([40, 4, 10], [0, 16, 0], [0, 0, 40])
    assert list(w.bits) == [40 * 32, 20 * 8, 10 * 32]
