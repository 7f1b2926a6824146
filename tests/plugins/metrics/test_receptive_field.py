"""Receptive field (docs/metrics.md): r' = r + d(k-1)j, j' = js; null after flatten."""

from __future__ import annotations

import analyzer
from analyzer import GraphBuilder, zoo


def test_lecture_alexnet() -> None:
    r = analyzer.analyze(zoo.alexnet(), bias=False)
    expected = {
        "conv1": (11, 4),  # 1 + 10*1 = 11, jump 4
        "relu1": (11, 4),  # elementwise keeps the field
        "pool1": (19, 8),  # 11 + 2*4 = 19, jump 8
        "conv2": (51, 8),  # 19 + 4*8 = 51
        "pool2": (67, 16),  # 51 + 2*8 = 67
        "conv3": (99, 16),  # 67 + 2*16 = 99
        "conv4": (131, 16),  # 99 + 2*16
        "conv5": (163, 16),  # 131 + 2*16
        "pool3": (195, 32),  # 163 + 2*16 = 195, jump 32
    }
    for name, (size, jump) in expected.items():
        row = r.layer(name)
        assert row["receptive_field"] == [size, size], name
        assert row["receptive_field_jump"] == [jump, jump], name
    for name in ("flatten", "fc6", "relu6", "fc8"):
        assert r.layer(name)["receptive_field"] is None, name
    assert r.totals["max_receptive_field"] == 195


def test_dilated_and_strided() -> None:
    b = GraphBuilder("d")
    x = b.input("x", (1, 1, 32, 32))
    x = b.conv(x, 2, 3, dilation=2, name="c1")  # 1 + 2*2*1 = 5, jump 1
    x = b.conv(x, 2, 3, stride=2, name="c2")  # 5 + 2*1 = 7, jump 2
    x = b.conv(
        x, 2, 3, dilation=2, padding=2, name="c3"
    )  # 7 + 2*2*2 = 15, jump 2 (padding does not change it)
    x = b.avg_pool(x, 2, name="p")  # 15 + 1*2 = 17, jump 4
    r = analyzer.analyze(b.build(x))
    assert [r.layer(n)["receptive_field"][0] for n in ("c1", "c2", "c3", "p")] == [5, 7, 15, 17]
    assert [r.layer(n)["receptive_field_jump"][0] for n in ("c1", "c2", "c3", "p")] == [1, 2, 2, 4]
    assert r.totals["max_receptive_field"] == 17


def test_per_dim_and_channels_last() -> None:
    b = GraphBuilder("nhwc")
    x = b.input("x", (1, 16, 16, 3))
    x = b.conv(x, 4, (3, 5), stride=(1, 2), channels_last=True, name="c1")  # (3, 5), jumps (1, 2)
    x = b.conv(x, 4, 3, channels_last=True, name="c2")  # (3+2*1, 5+2*2) = (5, 9), jumps (1, 2)
    r = analyzer.analyze(b.build(x))
    assert r.layer("c1")["receptive_field"] == [3, 5]
    assert r.layer("c2")["receptive_field"] == [5, 9]
    assert r.layer("c2")["receptive_field_jump"] == [1, 2]


def test_residual_add_takes_largest_and_global_pool_ends() -> None:
    b = GraphBuilder("res")
    x = b.input("x", (1, 2, 8, 8))
    y = b.conv(x, 2, 3, padding=1, name="c1")  # 3
    y = b.conv(y, 2, 3, padding=1, name="c2")  # 5
    s = b.add(x, y, name="add")  # max(1, 5) = 5, same jump
    g = b.global_avg_pool(s, name="gap")  # global pooling ends the field
    r = analyzer.analyze(b.build(g))
    assert r.layer("add")["receptive_field"] == [5, 5]
    assert r.layer("gap")["receptive_field"] is None


def test_transposed_conv_ends_field() -> None:
    b = GraphBuilder("t")
    x = b.input("x", (1, 2, 8, 8))
    x = b.conv(x, 2, 3, name="c")
    x = b.conv(x, 2, 3, stride=2, transposed=True, name="up")
    r = analyzer.analyze(b.build(x))
    assert r.layer("c")["receptive_field"] == [3, 3]
    assert r.layer("up")["receptive_field"] is None


def test_per_channel_gate_is_ignored() -> None:
    # squeeze-and-excitation: conv field 3; the (1,2,1,1) gate has no field but is size 1 spatially
    b = GraphBuilder("se")
    x = b.input("x", (1, 2, 8, 8))
    y = b.conv(x, 2, 3, padding=1, name="c")  # 3
    g = b.global_avg_pool(y, name="gap")  # null
    g = b.activation("sigmoid", g, name="gate")
    z = b.mul(y, g, name="scale")  # keeps conv's 3
    r = analyzer.analyze(b.build(z))
    assert r.layer("gate")["receptive_field"] is None
    assert r.layer("scale")["receptive_field"] == [3, 3]


def test_different_jumps_meeting_end_the_field() -> None:
    b = GraphBuilder("jumps")
    x = b.input("x", (1, 1, 8, 8))
    a = b.conv(x, 1, 3, padding=1, name="a")  # jump 1
    s = b.conv(x, 1, 1, stride=2, name="s")  # jump 2, (1,1,4,4)
    a = b.max_pool(a, 2, name="pool")  # jump 2 now, field 3 + 1 = 4
    z = b.add(a, s, name="add")  # jumps agree (2, 2): max(4, 1) = 4
    r = analyzer.analyze(b.build(z))
    assert r.layer("add")["receptive_field"] == [4, 4]
    # jump 1 meets jump 2 on equal shapes: no single field
    b2 = GraphBuilder("mismatch")
    x = b2.input("x", (1, 1, 8, 8))
    a = b2.conv(x, 1, 5, name="a")  # 8 - 4 = 4, jump 1
    s = b2.conv(x, 1, 1, stride=2, name="s")  # 4, jump 2
    z = b2.add(a, s, name="add")
    r2 = analyzer.analyze(b2.build(z))
    assert r2.layer("a")["receptive_field"] == [5, 5]
    assert r2.layer("add")["receptive_field"] is None


def test_explicit_pad_shifts_the_start_not_the_size() -> None:
    # a pad before a max pool is not folded (only pads feeding a convolution are): the field goes
    # through it unchanged in size; then pool 3x3 s2 and conv 3x3 -> 3 + (3 - 1) * 2 = 7
    b = GraphBuilder()
    x = b.input("x", (1, 8, 8, 3))
    p = b.op("pad", [x], (1, 10, 10, 3), {"pads": ((0, 0), (1, 1), (1, 1), (0, 0)), "mode": "constant"}, name="pad")
    y = b.max_pool(p, 3, 2, channels_last=True, name="pool")
    b.conv(y, 4, 3, channels_last=True, name="conv")
    r = analyzer.analyze(b.build())
    assert r.model["passes"] == []
    assert r.layer("pad").receptive_field == [1, 1, 1]  # layout unknown before a window op: every non-batch dim
    assert r.layer("pool").receptive_field == [3, 3]
    assert r.layer("conv").receptive_field == [7, 7]


def test_gate_first_operand_keeps_the_field() -> None:
    # s * x with s a per-channel gate (no field, size 1 spatially) keeps x's field
    b = GraphBuilder()
    x = b.conv(b.input("x", (1, 4, 8, 8)), 4, 3, padding=1, name="conv")
    s = b.global_avg_pool(x, name="pool")
    y = b.mul(s, x, name="gate")
    r = analyzer.analyze(b.build(y))
    assert r.layer("gate").receptive_field == [3, 3]


def test_a_field_ended_by_a_reshape_stays_undefined_through_later_windows() -> None:
    b = GraphBuilder("reshaped")
    x = b.conv(b.input("x", (1, 2, 8, 8)), 2, 3, padding=1, name="conv1")
    x = b.relu(x, name="relu1")
    x = b.reshape(x, (1, 2, 64), name="flat")
    x = b.reshape(x, (1, 2, 8, 8), name="unflat")
    x = b.conv(x, 2, 3, padding=1, name="conv2")
    b.add(x, x, name="add")
    r = analyzer.analyze(b.build())
    assert r.layer("conv1")["receptive_field"] == r.layer("relu1")["receptive_field"] == [3, 3]
    for name in ("flat", "unflat", "conv2", "add"):
        assert r.layer(name)["receptive_field"] is None and r.layer(name)["receptive_field_jump"] is None
    assert r.totals["max_receptive_field"] == 3


def test_a_field_read_again_after_a_branch_that_ends_it_is_kept() -> None:
    # conv1's output is read by a flatten branch first, then by conv2 after that branch ran
    b = GraphBuilder("branch")
    x = b.conv(b.input("x", (1, 2, 8, 8)), 2, 3, padding=1, name="conv1")
    b.linear(b.reshape(x, (1, 128), name="flat"), 4, name="fc")
    y = b.conv(x, 2, 3, padding=1, name="conv2")
    b.relu(y, name="relu")
    r = analyzer.analyze(b.build())
    assert r.layer("fc")["receptive_field"] is None
    assert r.layer("conv2")["receptive_field"] == r.layer("relu")["receptive_field"] == [5, 5]
