"""MACs, dot products and bias additions of contraction ops, hand-computed.

Convention (docs/metrics.md): MACs = output elements x contraction length
(padded taps included), x repeat; mac_flops = 2 x MACs + one add per output
element with a bias; exact_flops: 2n-1 per length-n dot product.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.core.graph import Graph

from ._cases import TARGET, Case, check, one_op


def conv(in_shape, out_channels, kernel, **kw) -> Callable[[], Graph]:
    def build() -> Graph:
        b = GraphBuilder("conv")
        x = b.input("x", in_shape)
        b.conv(x, out_channels, kernel, name=TARGET, **kw)
        return b.build()

    return build


def linear(in_shape, out_features, bias=True, dtype="float32", repeat=None) -> Callable[[], Graph]:
    def build() -> Graph:
        b = GraphBuilder("linear", dtype=dtype)
        x = b.input("x", in_shape)
        y = b.linear(x, out_features, bias=bias, name=TARGET)
        if repeat is not None:
            b.graph.node(y).attrs["repeat"] = repeat
        return b.build()

    return build


def matmul(a_shape, b_shape) -> Callable[[], Graph]:
    def build() -> Graph:
        b = GraphBuilder("matmul")
        b.matmul(b.input("a", a_shape), b.input("b", b_shape), name=TARGET)
        return b.build()

    return build


def einsum(equation, *shapes) -> Callable[[], Graph]:
    def build() -> Graph:
        b = GraphBuilder("einsum")
        xs = [b.input(f"x{i}", s) for i, s in enumerate(shapes)]
        b.einsum(equation, *xs, name=TARGET)
        return b.build()

    return build


def attention(q, k, v, mask=None, **attrs) -> Callable[[], Graph]:
    def build() -> Graph:
        b = GraphBuilder("attention")
        ins = [b.input("q", q), b.input("k", k), b.input("v", v)]
        if mask is not None:
            ins.append(b.input("mask", mask))
        b.op("attention", ins, (*q[:-1], v[-1]), attrs, name=TARGET)
        return b.build()

    return build


def rnn(
    cell, input_size, hidden, layers, bidirectional, steps, batch, n_biases, **extra
) -> Callable[[], Graph]:
    dirs = 2 if bidirectional else 1
    attrs = dict(cell=cell, input_size=input_size, hidden_size=hidden, num_layers=layers,
                 bidirectional=bidirectional, steps=steps, batch=batch, n_biases=n_biases, **extra)  # fmt: skip
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    params = [
        ("w_ih", (gates * hidden, input_size), "weight"),
        ("w_hh", (gates * hidden, hidden), "weight"),
    ]
    if n_biases:
        params.append(("b_ih", (gates * hidden,), "bias"))
    return one_op("rnn", [(steps, batch, input_size)], (steps, batch, dirs * hidden), attrs, params)


CASES = [
    # --- conv ------------------------------------------------------------------
    # 1-d: x (2,4,10), 6 out, k3 -> (2,6,8) = 96 outputs; MACs 96 * 4*3 = 1152;
    # bias: 2*1152 + 96 = 2400; exact: 2304 - 96 dots + 96 bias = 2304
    Case("conv1d", "conv", conv((2, 4, 10), 6, 3),
         {"macs": 1152, "mac_flops": 2400, "exact_mac_flops": 2304, "other_flops": 0}),
    # 2-d: x (1,3,8,8), 4 out, k3 p1 -> (1,4,8,8) = 256; MACs 256 * 3*9 = 6912; 2*6912 + 256 = 14080
    Case("conv2d", "conv", conv((1, 3, 8, 8), 4, 3, padding=1), {"macs": 6912, "mac_flops": 14080}),
    # batch 3 of the same: 3 * 6912 = 20736; 2*20736 + 3*256 = 42240
    Case("conv2d_batch3", "conv", conv((3, 3, 8, 8), 4, 3, padding=1), {"macs": 20736, "mac_flops": 42240}),
    # 3-d: x (1,2,4,4,4), 3 out, k2 s2 -> (1,3,2,2,2) = 24; MACs 24 * 2*8 = 384; no bias: 768
    Case("conv3d", "conv", conv((1, 2, 4, 4, 4), 3, 2, stride=2, bias=False),
         {"macs": 384, "mac_flops": 768, "exact_mac_flops": 768 - 24}),
    # grouped: x (1,4,6,6), 6 out, k3, g2 -> (1,6,4,4) = 96; MACs 96 * (4/2)*9 = 1728
    Case("conv_grouped", "conv", conv((1, 4, 6, 6), 6, 3, groups=2, bias=False), {"macs": 1728}),
    # depthwise: x (1,8,5,5), 8 out, k3 p1 g8 -> (1,8,5,5) = 200; MACs 200 * 1*9 = 1800; +200 bias -> 3800
    Case("conv_depthwise", "conv", conv((1, 8, 5, 5), 8, 3, padding=1, groups=8),
         {"macs": 1800, "mac_flops": 3800}),
    # dilated: x (1,2,9,9), 2 out, k3 d2 -> 9 - 2*2 = 5 -> (1,2,5,5) = 50; MACs 50 * 2*9 = 900
    Case("conv_dilated", "conv", conv((1, 2, 9, 9), 2, 3, dilation=2, bias=False), {"macs": 900}),
    # strided + padded: x (1,3,7,7), 4 out, k3 s2 p1 -> (7+2-3)//2+1 = 4 -> (1,4,4,4) = 64; MACs 64*27 = 1728
    Case("conv_strided_padded", "conv", conv((1, 3, 7, 7), 4, 3, stride=2, padding=1, bias=False),
         {"macs": 1728}),
    # asymmetric kernel and padding: x (1,1,6,5), 2 out, k(3,1), pad ((2,0),(0,1)) -> (6,6): 72 outputs * 3 = 216
    Case("conv_asym", "conv", conv((1, 1, 6, 5), 2, (3, 1), padding=((2, 0), (0, 1)), bias=False),
         {"macs": 216}),
    # channels last: x (1,5,5,3), 4 out, k3 -> (1,3,3,4) = 36; MACs 36 * 27 = 972
    Case("conv_nhwc", "conv", conv((1, 5, 5, 3), 4, 3, channels_last=True, bias=False), {"macs": 972}),
    # transposed: x (1,4,3,3) = 36 inputs, 2 out, k3 s2 -> (1,2,7,7); MACs 36 * (2/1)*9 = 648;
    # bias adds one per output element: 2*648 + 2*49 = 1394
    Case("conv_transposed", "conv", conv((1, 4, 3, 3), 2, 3, stride=2, transposed=True),
         {"macs": 648, "mac_flops": 1394}),
    # grouped transposed: 36 inputs * (6/2)*9 = 972
    Case("conv_transposed_grouped", "conv", conv((1, 4, 3, 3), 6, 3, stride=2, groups=2, transposed=True, bias=False),
         {"macs": 972}),
    # --- linear ----------------------------------------------------------------
    # tokens: x (2,5,8) -> 3: 30 outputs * 8 = 240 MACs; bias: 480 + 30 = 510;
    # exact: (2*8-1)*30 + 30 = 480 = 2ij (the lecture's 2 x MACs)
    Case("linear_tokens_bias", "linear", linear((2, 5, 8), 3),
         {"macs": 240, "mac_flops": 510, "exact_mac_flops": 480, "other_flops": 0}),
    # no bias: 2*240 = 480; exact (2*8-1)*30 = 450
    Case("linear_no_bias", "linear", linear((2, 5, 8), 3, bias=False),
         {"macs": 240, "mac_flops": 480, "exact_mac_flops": 450}),
    # bias=False option drops the bias add of a layer that has one: 480; exact 450
    Case("linear_option_bias_false", "linear", linear((2, 5, 8), 3), {"macs": 240, "mac_flops": 480,
         "exact_mac_flops": 450}, {"bias": False}),
    # matrix-vector x (1,8) -> 4: 4*8 = 32 MACs; repeat 3 (loop body): 96 MACs, (64 + 4) * 3 = 204
    Case("linear_repeat", "linear", linear((1, 8), 4, repeat=3),
         {"macs": 96, "mac_flops": 204, "exact_mac_flops": (15 * 4 + 4) * 3}),
    # int8 operands: 32 MACs counted as int ops: 2*32 + 4 bias = 68, no FLOPs
    Case("linear_int8", "linear", linear((1, 8), 4, dtype="int8"),
         {"macs": 32, "flops": 0, "mac_flops": 0, "int_ops": 68, "mac_int_ops": 68, "ops": 68}),
    # --- matmul ----------------------------------------------------------------
    # batch broadcast: (2,1,3,4) @ (5,4,6) -> (2,5,3,6) = 180 outputs * k=4 = 720; exact 1440 - 180
    Case("matmul_broadcast", "matmul", matmul((2, 1, 3, 4), (5, 4, 6)),
         {"macs": 720, "mac_flops": 1440, "exact_mac_flops": 1260, "other_flops": 0}),
    # 1-d lhs: (4,) @ (4,6) -> (6,): 6 * 4 = 24
    Case("matmul_vec_mat", "matmul", one_op("matmul", [(4,), (4, 6)], (6,)), {"macs": 24}),
    # 1-d rhs: (2,3,4) @ (4,) -> (2,3): 6 * 4 = 24
    Case("matmul_mat_vec", "matmul", one_op("matmul", [(2, 3, 4), (4,)], (2, 3)), {"macs": 24}),
    # dot product: (5,) @ (5,) -> (): 1 * 5 = 5; exact 2*5 - 1 = 9
    Case("matmul_vec_vec", "matmul", one_op("matmul", [(5,), (5,)], ()), {"macs": 5, "exact_mac_flops": 9}),
    # --- dot_general -----------------------------------------------------------
    # lhs (2,3,4,5) rhs (2,5,4,6), batch 0/0, contracting (2,3)/(2,1) -> (2,3,6) = 36 outputs * 4*5 = 720;
    # exact 1440 - 36 = 1404
    Case("dot_general", "dot_general",
         one_op("dot_general", [(2, 3, 4, 5), (2, 5, 4, 6)], (2, 3, 6),
                {"lhs_contracting": (2, 3), "rhs_contracting": (2, 1), "lhs_batch": (0,), "rhs_batch": (0,)}),
         {"macs": 720, "mac_flops": 1440, "exact_mac_flops": 1404}),
    # --- grouped_matmul (torch._grouped_mm) --------------------------------------
    # 2-d x 3-d, MoE experts: a (6,8) rows split by offsets [2,5,6] into groups of 2, 3, 1 rows,
    # b (3,8,4): 2*8*4 + 3*8*4 + 1*8*4 = 192 = rows 6 * k 8 * n 4; 24 dots -> exact 384 - 24 = 360
    Case("grouped_matmul_2d_3d", "grouped_matmul",
         one_op("grouped_matmul", [(6, 8), (3, 8, 4), (3,)], (6, 4)),
         {"macs": 192, "mac_flops": 384, "exact_mac_flops": 360, "other_flops": 0}),
    # top-k routing: 5 tokens x top-2 = 10 rows into 4 experts (32 -> 12): 10 * 32 * 12 = 3840,
    # 5 * 2 * one expert's 32 * 12 MACs, whatever the routing
    Case("grouped_matmul_topk", "grouped_matmul",
         one_op("grouped_matmul", [(10, 32), (4, 32, 12), (4,)], (10, 12)), {"macs": 5 * 2 * 32 * 12}),
    # 3-d x 2-d: a (3,4,8), b (8,6) split along n by offsets: out (4,6): 24 * 8 = 192
    Case("grouped_matmul_3d_2d", "grouped_matmul",
         one_op("grouped_matmul", [(3, 4, 8), (8, 6), (3,)], (4, 6)), {"macs": 192}),
    # 3-d x 3-d, batched: (3,4,8) x (3,8,5) -> (3,4,5): 3 * 4*8*5 = 480
    Case("grouped_matmul_3d_3d", "grouped_matmul",
         one_op("grouped_matmul", [(3, 4, 8), (3, 8, 5)], (3, 4, 5)), {"macs": 480}),
    # 2-d x 2-d, k ragged: a (4,8), b (8,5), offsets split k=8 into 3 groups -> out (3,4,5);
    # sum of 4 * k_g * 5 over groups = 4 * 8 * 5 = 160; 60 dots -> exact 320 - 60 = 260
    Case("grouped_matmul_2d_2d", "grouped_matmul",
         one_op("grouped_matmul", [(4, 8), (8, 5), (3,)], (3, 4, 5)),
         {"macs": 160, "mac_flops": 320, "exact_mac_flops": 260}),
    # --- einsum ----------------------------------------------------------------
    # bij,bjk->bik, b2 i3 j4 k5: one step over {b,i,j,k} = 120 MACs; 30 dots -> exact 240 - 30 = 210
    Case("einsum_2", "einsum", einsum("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
         {"macs": 120, "mac_flops": 240, "exact_mac_flops": 210}),
    # ij,jk,kl->il, i2 j3 k4 l5: step 1 {i,j,k} 24 MACs keeping {i,k} (8 dots);
    # step 2 {i,k,l} 40 MACs keeping {i,l} (10 dots): 64 MACs, 18 dots -> 128 - 18 = 110
    Case("einsum_3", "einsum", einsum("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)),
         {"macs": 64, "mac_flops": 128, "exact_mac_flops": 110}),
    # one operand: a reduction ij->i of (3,4): 0 MACs, 12 - 3 = 9 FLOPs
    Case("einsum_reduce", "einsum", einsum("ij->i", (3, 4)), {"macs": 0, "mac_flops": 0, "other_flops": 9}),
    # one operand transpose: nothing
    Case("einsum_transpose", "einsum", einsum("ij->ji", (3, 4)), {"macs": 0, "other_flops": 0}),
    # --- attention -------------------------------------------------------------
    # q (2,4,5,8) k (2,4,7,8) v (2,4,7,6): BH 8, Lq 5, Lk 7, E 8, Ev 6
    # MACs 8*5*7*(8+6) = 3920; dots 8*5*7 (QK^T) + 8*5*6 (AV) = 520 -> exact 7840 - 520 = 7320;
    # other: 6 per score (scale + softmax 5) * 8*5*7 = 1680
    Case("attention", "attention", attention((2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 7, 6)),
         {"macs": 3920, "mac_flops": 7840, "exact_mac_flops": 7320, "other_flops": 1680}),
    # with a mask operand: 7 per score * 280 = 1960
    Case("attention_mask", "attention", attention((2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 7, 6), mask=(5, 7)),
         {"macs": 3920, "other_flops": 1960}),
    # causal, no mask operand: also 7 per score = 1960
    Case("attention_causal", "attention", attention((2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 7, 6), is_causal=True),
         {"macs": 3920, "other_flops": 1960}),
    # GQA: q (1,8,4,16), k/v (1,2,6,16): query heads count: BH 8; MACs 8*4*6*(16+16) = 6144;
    # other 8*4*6*6 = 1152
    Case("attention_gqa", "attention", attention((1, 8, 4, 16), (1, 2, 6, 16), (1, 2, 6, 16)),
         {"macs": 6144, "other_flops": 1152}),
    # --- rnn -------------------------------------------------------------------
    # LSTM I10 H20, 2 layers, bidirectional, 5 steps, batch 3, 2 biases (PyTorch):
    # layer 0: 2 dirs * 4 gates * 20 * (10+20) = 4800; layer 1 input 2*20 = 40: 2*4*20*(40+20) = 9600;
    # MACs (4800 + 9600) * 5 * 3 = 216000. units = 20 * 2 dirs * 2 layers * 5 * 3 = 1200;
    # bias adds 2 * 4 * 1200 = 9600 -> mac_flops 432000 + 9600 = 441600; dots 4 * 1200 = 4800 ->
    # exact 436800; other 26 * 1200 = 31200
    Case("lstm_2layer_bidir", "rnn", rnn("lstm", 10, 20, 2, True, 5, 3, 2),
         {"macs": 216000, "mac_flops": 441600, "exact_mac_flops": 436800, "other_flops": 31200}),
    # LSTM 3 layers unidirectional I4 H2, 1 step, batch 1, no bias:
    # 4*2*(4+2) = 48, then 4*2*(2+2) = 32 twice -> 112 MACs; units 2*3 = 6; other 26*6 = 156
    Case("lstm_3layer", "rnn", rnn("lstm", 4, 2, 3, False, 1, 1, 0),
         {"macs": 112, "mac_flops": 224, "other_flops": 156}),
    # GRU I6 H4, 3 steps, batch 2, 2 biases: 3*4*(6+4) = 120 per step * 6 = 720 MACs;
    # units 4*3*2 = 24; bias 2*3*24 = 144 -> 1584; dots (3 gates + 1 split candidate) * 24 = 96 ->
    # exact 1584 - 96 = 1488; other 19 * 24 = 456
    Case("gru", "rnn", rnn("gru", 6, 4, 1, False, 3, 2, 2),
         {"macs": 720, "mac_flops": 1584, "exact_mac_flops": 1488, "other_flops": 456}),
    # GRU bidirectional, Keras-style 1 bias: MACs 2*720 = 1440; units 48; bias 1*3*48 = 144 -> 3024
    Case("gru_bidir_1bias", "rnn", rnn("gru", 6, 4, 1, True, 3, 2, 1),
         {"macs": 1440, "mac_flops": 3024, "other_flops": 19 * 48}),
    # vanilla RNN tanh I3 H5 bidirectional, 4 steps, batch 1, 1 bias: 2*1*5*(3+5) = 80 per step * 4 = 320;
    # units 5*2*4 = 40; bias 40 -> 680; dots 40 -> exact 640; other tanh 5 * 40 = 200
    Case("rnn_tanh", "rnn", rnn("rnn", 3, 5, 1, True, 4, 1, 1),
         {"macs": 320, "mac_flops": 680, "exact_mac_flops": 640, "other_flops": 200}),
    # relu nonlinearity: 1 * 40 = 40
    Case("rnn_relu", "rnn", rnn("rnn", 3, 5, 1, True, 4, 1, 1, nonlinearity="relu"),
         {"macs": 320, "other_flops": 40}),
    # bias=False drops the rnn bias adds: 2 * 320 = 640
    Case("rnn_option_bias_false", "rnn", rnn("rnn", 3, 5, 1, True, 4, 1, 1), {"macs": 320, "mac_flops": 640},
         {"bias": False}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_contraction(case: Case) -> None:
    check(case)


def test_int8_elementwise_is_int_ops() -> None:
    # add of two int8 (2,3) tensors: 6 int ops, no FLOPs
    b = GraphBuilder("q", dtype="int8")
    b.add(b.input("a", (2, 3)), b.input("b", (2, 3)), name=TARGET)
    row = analyzer.analyze(b.build()).layer(TARGET)
    assert (row["flops"], row["int_ops"], row["mac_int_ops"], row["ops"]) == (0, 6, 0, 6)


def test_embedding_and_pooling_have_no_macs() -> None:
    b = GraphBuilder("emb")
    idx = b.input("idx", (2, 5), dtype="int64")
    e = b.embedding(idx, 100, 8, name="emb")
    b.max_pool(b.reshape(e, (2, 1, 5, 8)), 2, name="pool")
    r = analyzer.analyze(b.build())
    assert r.layer("emb")["macs"] == 0 and r.layer("emb")["flops"] == 0
    assert r.layer("pool")["macs"] == 0
    assert r.totals["macs"] == 0
