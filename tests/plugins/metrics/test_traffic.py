"""Memory traffic (docs/metrics.md): the fused-layer model, the lecture's naive access
model (its convolution table from docs/metrics.md), naive_traffic and arithmetic intensity."""

from __future__ import annotations

import dataclasses

import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.core.graph import Graph, GraphError
from analyzer.core.serialize import graph_from_dict, graph_to_dict


def lecture_conv(kind: str) -> Graph:
    """Cin 256, Cout 512, 28x28 (padding keeps 28x28), K=3, stride 1, bias counted."""
    b = GraphBuilder(kind)
    x = b.input("x", (1, 256, 28, 28))
    if kind in ("normal",):
        b.conv(x, 512, 3, padding=1, name="conv")
    if kind in ("depthwise", "dw+pw"):
        x = b.conv(x, 256, 3, padding=1, groups=256, name="dw")
    if kind in ("pointwise", "dw+pw"):
        b.conv(x, 512, 1, name="pw")
    return b.build()


# (input reads, weight reads, output writes, total), the lecture's table
LECTURE = {
    # 28*28*512 outputs * 256*9 = 924,844,032; weights 512*256*9 + 512 = 1,180,160; writes 512*784
    "normal": (924_844_032, 1_180_160, 401_408, 926_425_600),
    # 784*256 outputs * 9 = 1,806,336; weights 256*9 + 256 = 2,560; writes 256*784 = 200,704
    "depthwise": (1_806_336, 2_560, 200_704, 2_009_600),
    # 784*512 * 256 = 102,760,448; weights 512*256 + 512 = 131,584; writes 401,408
    "pointwise": (102_760_448, 131_584, 401_408, 103_293_440),
}


@pytest.mark.parametrize("kind", LECTURE)
def test_lecture_naive_convolution_table(kind: str) -> None:
    reads, weights, writes, total = LECTURE[kind]
    assert reads + weights + writes == total  # the table is consistent
    t = analyzer.analyze(lecture_conv(kind)).totals
    assert t["naive_input_reads"] == reads
    assert t["naive_weight_reads"] == weights
    assert t["naive_output_writes"] == writes
    assert t["naive_accesses"] == total


def test_lecture_depthwise_plus_pointwise() -> None:
    r = analyzer.analyze(lecture_conv("dw+pw"))
    assert r.layer("dw")["naive_accesses"] == 2_009_600
    assert r.layer("pw")["naive_accesses"] == 103_293_440
    assert r.totals["naive_accesses"] == 105_303_040  # 2,009,600 + 103,293,440


def test_fused_model_single_conv() -> None:
    r = analyzer.analyze(lecture_conv("normal"))
    t = r.totals
    assert t["read_bytes"] == 802_816  # 256*28*28 = 200,704 * 4
    assert t["weight_read_bytes"] == 4_720_640  # 1,180,160 * 4
    assert t["write_bytes"] == 1_605_632  # 401,408 * 4
    assert t["memory_bytes"] == 7_129_088
    # ops = 2 * 924,844,032 + 401,408 bias adds = 1,850,089,472
    assert t["ops"] == 1_850_089_472
    assert t["arithmetic_intensity"] == pytest.approx(1_850_089_472 / 7_129_088)


def small() -> Graph:
    """x (1,2,4,4)=32 -> conv 3ch k1 (+bias)=48 -> relu (in place) -> flatten (view) -> fc 5 (+bias)."""
    b = GraphBuilder("small")
    x = b.input("x", (1, 2, 4, 4))
    y = b.conv(x, 3, 1, name="conv")
    y = b.relu(y, name="relu")
    y = b.flatten(y, name="flatten")
    b.linear(y, 5, name="fc")
    return b.build()


def test_fused_model_per_layer() -> None:
    r = analyzer.analyze(small())
    conv, relu, flat, fc = (r.layer(n) for n in ("conv", "relu", "flatten", "fc"))
    # conv: reads x 32*4 = 128; weights (3*2 + 3) * 4 = 36; writes 48*4 = 192
    assert (conv["read_bytes"], conv["weight_read_bytes"], conv["write_bytes"]) == (128, 36, 192)
    assert conv["memory_bytes"] == 356
    # relu in place: reads and writes the conv storage, 192 each
    assert (relu["read_bytes"], relu["write_bytes"], relu["memory_bytes"]) == (192, 192, 384)
    # a layer of views moves nothing
    assert flat["memory_bytes"] == 0 and flat["naive_accesses"] == 0
    # fc: reads the conv storage 192; weights (5*48 + 5) * 4 = 980; writes 5*4 = 20
    assert (fc["read_bytes"], fc["weight_read_bytes"], fc["write_bytes"]) == (192, 980, 20)
    assert fc["memory_bytes"] == 1192
    assert r.totals["memory_bytes"] == 356 + 384 + 0 + 1192
    # ops: conv 2*96 + 48 = 240; relu 48; fc 2*240 + 5 = 485 -> 773
    assert r.totals["ops"] == 773
    assert conv["arithmetic_intensity"] == pytest.approx(240 / 356)
    assert flat["arithmetic_intensity"] == 0.0
    assert r.totals["arithmetic_intensity"] == pytest.approx(773 / 1932)


def test_naive_model_per_layer_and_naive_traffic() -> None:
    r = analyzer.analyze(small())
    # conv: one read per MAC 48*2 = 96; weights 9; writes 48 -> 153
    assert r.layer("conv")["naive_accesses"] == 153
    # relu (not a contraction): reads 48, writes 48 -> 96
    assert (r.layer("relu")["naive_input_reads"], r.layer("relu")["naive_output_writes"]) == (
        48,
        48,
    )
    # fc: 5*48 = 240 reads; weights 245; writes 5 -> 490
    assert r.layer("fc")["naive_accesses"] == 490
    assert r.totals["naive_accesses"] == 153 + 96 + 490
    n = analyzer.analyze(small(), naive_traffic=True)
    # memory_bytes = naive accesses x 4 bytes: 739 * 4 = 2956
    assert n.totals["memory_bytes"] == 2956
    assert n.layer("conv")["memory_bytes"] == 612
    assert n.totals["arithmetic_intensity"] == pytest.approx(773 / 2956)
    # activation_bits sets the element size of the naive model: 739 * 1 byte
    assert (
        analyzer.analyze(small(), naive_traffic=True, activation_bits=8).totals["memory_bytes"]
        == 739
    )


def test_weight_reads_follow_model_size_bits() -> None:
    r = analyzer.analyze(small(), weight_bits=8)
    assert r.layer("conv")["weight_read_bytes"] == 9
    assert r.layer("fc")["weight_read_bytes"] == 245
    # bias=False: conv 6 weights, fc 240 (at fp32: 24 and 960); naive weight reads too
    nb = analyzer.analyze(small(), bias=False)
    assert (nb.layer("conv")["weight_read_bytes"], nb.layer("fc")["weight_read_bytes"]) == (24, 960)
    assert nb.layer("fc")["naive_weight_reads"] == 240


def test_weight_reads_follow_layer_bits() -> None:
    # conv at 4 bits, each tensor rounded up to whole bytes: weight 6 x 4 bits -> 3, bias 3 x 4 bits -> 2;
    # fc at the 8-bit default: 245 bytes
    r = analyzer.analyze(small(), weight_bits=8, layer_bits={"conv": 4})
    assert (r.layer("conv")["weight_read_bytes"], r.layer("fc")["weight_read_bytes"]) == (5, 245)
    assert r.totals["weight_read_bytes"] == 250
    # with bias=False the biases are neither stored nor read: 6 x 4 bits -> 3 bytes
    nb = analyzer.analyze(small(), bias=False, layer_bits={"conv*": 4})
    assert nb.layer("conv")["weight_read_bytes"] == 3


def test_shared_input_read_once_per_layer() -> None:
    # mul(x, x) reads one storage: 24 * 4 = 96 bytes, not 192
    b = GraphBuilder("sq")
    x = b.input("x", (2, 3, 4))
    b.mul(x, x, name="sq")
    r = analyzer.analyze(b.build())
    assert r.layer("sq")["read_bytes"] == 96
    assert r.layer("sq")["write_bytes"] == 96


def test_loop_body_moves_its_bytes_each_iteration() -> None:
    # a linear 8 -> 8 (fp32) repeated 10 times: per iteration reads x (8*4 = 32 B),
    # weights 64*4 + 8*4 = 288 B, writes y (32 B) -> 352 B per iteration, 3,520 B in all
    b = GraphBuilder()
    x = b.input("x", (1, 8))
    y = b.linear(x, 8, name="cell")
    b.graph.node("cell").attrs["repeat"] = 10
    row = analyzer.analyze(b.build(y)).layer("cell")
    assert (row.read_bytes, row.weight_read_bytes, row.write_bytes) == (320, 2_880, 320)
    assert row.memory_bytes == 3_520
    # naive: input reads = MACs = 64 * 10; weights (64 + 8) * 10; outputs 8 * 10
    assert (row.naive_input_reads, row.naive_weight_reads, row.naive_output_writes) == (640, 720, 80)


def test_loop_over_a_stacked_weight_reads_it_once() -> None:
    # the same cell scanned over 10 stacked layers (JAX nn.scan / lax.scan over stacked
    # weights): run i reads slice i, so the 10 x 288 B stack is read once in all, 2,880 B
    b = GraphBuilder()
    x = b.input("x", (1, 8))
    y = b.linear(x, 8, name="cell")
    g = b.build(y)
    node = g.node("cell")
    weights = [t for t in node.inputs if t in g.params]
    for name in weights:
        p = g.params[name]
        g.params[name] = dataclasses.replace(p, shape=(10, *p.shape))
    node.attrs.update(repeat=10, param_slices=dict.fromkeys(weights, 10))
    row = analyzer.analyze(g).layer("cell")
    assert (row.read_bytes, row.weight_read_bytes, row.write_bytes) == (320, 2_880, 320)
    # naive: each of the 720 stacked weight elements once (not 7,200)
    assert (row.naive_input_reads, row.naive_weight_reads, row.naive_output_writes) == (640, 720, 80)
    # the saved graph keeps the attribute, and its strict check reads it
    again = graph_from_dict(graph_to_dict(g))
    assert again.node("cell").attrs["param_slices"] == dict.fromkeys(weights, 10)
    node.attrs["param_slices"] = dict.fromkeys(weights, 11)
    with pytest.raises(GraphError, match="param_slices"):
        graph_from_dict(graph_to_dict(g))


def test_tied_weight_read_by_each_layer_at_the_owners_width() -> None:
    # one 8x8 weight used by two matmuls: stored once (owner fc1), read by both layers
    b = GraphBuilder("tied")
    x = b.input("x", (1, 8))
    w = b.param("w", (8, 8))
    y = b.op("matmul", [x, w], (1, 8), name="fc1")
    y = b.op("matmul", [y, w], (1, 8), name="fc2")
    g = b.build(y)
    r = analyzer.analyze(g)
    assert (r.layer("fc1")["weight_read_bytes"], r.layer("fc2")["weight_read_bytes"]) == (256, 256)
    assert (r.layer("fc1")["naive_weight_reads"], r.layer("fc2")["naive_weight_reads"]) == (64, 64)
    # layer_bits follows the owner: fc1 at 8 bits stores w in 64 bytes, and fc2 reads those
    r8 = analyzer.analyze(g, layer_bits={"fc1": 8})
    assert (r8.layer("fc1")["weight_read_bytes"], r8.layer("fc2")["weight_read_bytes"]) == (64, 64)
    r8 = analyzer.analyze(g, layer_bits={"fc2": 8})  # fc2 owns nothing: w stays at 32 bits
    assert r8.layer("fc2")["weight_read_bytes"] == 256


def test_weight_read_twice_by_one_op() -> None:
    # mul(w, w): the fused model reads the tensor once (64 B), the naive model each operand (32)
    b = GraphBuilder("square")
    x = b.input("x", (1, 16))
    w = b.param("w", (1, 16))
    s = b.op("mul", [w, w], (1, 16), name="square")
    y = b.add(x, s, name="add")
    row = analyzer.analyze(b.build(y)).layer("square")
    assert (row["weight_read_bytes"], row["naive_weight_reads"]) == (64, 32)
    assert (row["read_bytes"], row["write_bytes"], row["naive_input_reads"]) == (0, 64, 0)


def test_layer_of_several_ops_with_a_view() -> None:
    # matmul, reshape and relu in one scope are one layer: the view moves nothing itself, the
    # layer reads x and the weight once and writes its output once
    b = GraphBuilder("block")
    x = b.input("x", (1, 8))
    w = b.param("w", (8, 8))
    y = b.op("matmul", [x, w], (1, 8), scope="block")
    y = b.op("reshape", [y], (2, 4), scope="block")
    y = b.op("relu", [y], (2, 4), scope="block")
    r = analyzer.analyze(b.build(y))
    (row,) = r.layers
    assert row.name == "block"
    assert (row["read_bytes"], row["weight_read_bytes"], row["write_bytes"]) == (32, 256, 32)
    # naive: MACs 64 + relu 8 reads; weights 64; writes matmul 8 + relu 8
    assert (row["naive_input_reads"], row["naive_weight_reads"], row["naive_output_writes"]) == (72, 64, 16)


def test_counts_beyond_64_bits_stay_exact() -> None:
    # a loop run 2**62 times: every count passes 64 bits and stays an exact Python int
    b = GraphBuilder()
    x = b.input("x", (1, 8))
    y = b.linear(x, 8, name="cell")
    g = b.build(y)
    runs = 2**62
    g.node("cell").attrs["repeat"] = runs
    r = analyzer.analyze(g)
    row = r.layer("cell")
    assert (row.read_bytes, row.weight_read_bytes, row.write_bytes) == (32 * runs, 288 * runs, 32 * runs)
    assert (row.naive_input_reads, row.naive_weight_reads, row.naive_output_writes) == (64 * runs, 72 * runs, 8 * runs)
    assert r.totals["memory_bytes"] == 352 * runs
    assert r.totals["naive_accesses"] == 144 * runs
