"""Canonical passes: pad folding makes Keras-style padding agree with padded convolutions."""

from __future__ import annotations

import analyzer
from analyzer import GraphBuilder


def _padded_conv(channels_last: bool, explicit_pad: bool, pad_value: float = 0.0, extra_reader: bool = False):
    b = GraphBuilder()
    shape = (1, 8, 8, 3) if channels_last else (1, 3, 8, 8)
    x = b.input("x", shape)
    if explicit_pad:
        pads = ((0, 0), (2, 2), (2, 2), (0, 0)) if channels_last else ((0, 0), (0, 0), (2, 2), (2, 2))
        padded = (1, 12, 12, 3) if channels_last else (1, 3, 12, 12)
        x2 = b.op("pad", [x], padded, {"pads": pads, "mode": "constant", "value": pad_value}, name="zero_padding2d")
        y = b.conv(x2, 4, 5, stride=2, channels_last=channels_last, name="conv")
        if extra_reader:
            b.relu(x2, name="other")
    else:
        y = b.conv(x, 4, 5, stride=2, padding=2, channels_last=channels_last, name="conv")
    return b.build(y)


def test_pad_then_valid_conv_counts_like_a_padded_conv():
    ref = analyzer.analyze(_padded_conv(False, False))
    for channels_last in (False, True):
        r = analyzer.analyze(_padded_conv(channels_last, True))
        assert r.model["passes"] == ["fold_pad_into_conv: 1 pad(s) folded"]
        for q in ("params", "macs", "flops", "total_activations", "peak_activations", "peak_live_activations"):
            assert r.totals[q] == ref.totals[q], q
        assert [row.name for row in r.layers] == ["conv"]
        assert r.layer("conv").receptive_field == [5, 5]
    assert ref.model["passes"] == []


def test_pads_that_must_stay():
    nonzero = analyzer.analyze(_padded_conv(False, True, pad_value=1.0))
    shared = analyzer.analyze(_padded_conv(False, True, extra_reader=True))
    for r in (nonzero, shared):
        assert r.model["passes"] == []
        assert "zero_padding2d" in [row.name for row in r.layers]


def test_the_callers_graph_is_not_modified():
    g = _padded_conv(False, True)
    analyzer.analyze(g)
    assert "zero_padding2d" in g
