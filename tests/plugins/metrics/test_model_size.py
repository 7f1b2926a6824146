"""Model size (docs/metrics.md): ceil(sum params x bit width / 8); bit width from the
first matching layer_bits pattern (layer or param name), else weight_bits, else dtype."""

from __future__ import annotations

import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.core.graph import Graph
from tests.plugins.metrics.graphs import batch_norm_with_counter


def two_fc(dtype: str = "float32") -> Graph:
    """fc1: 4->3 (12 + 3 bias = 15 params), fc2: 3->2 (6 + 2 = 8): 23 params."""
    b = GraphBuilder("fc", dtype=dtype)
    x = b.input("x", (1, 4))
    x = b.linear(x, 3, name="fc1")
    b.linear(x, 2, name="fc2")
    return b.build()


def size(**opts) -> analyzer.Report:
    return analyzer.analyze(two_fc(), **opts)


def test_dtype_width() -> None:
    r = size()
    assert r.totals["model_size_bytes"] == 92  # 23 * 4
    assert r.layer("fc1")["weight_bytes"] == 60  # 15 * 4
    assert r.layer("fc2")["weight_bytes"] == 32  # 8 * 4


def test_half_precision_dtype() -> None:
    r = analyzer.analyze(two_fc("bfloat16"))
    assert r.totals["model_size_bytes"] == 46  # 23 * 2


def test_mixed_dtypes() -> None:
    b = GraphBuilder("mixed")
    x = b.input("x", (1, 4))
    w = b.param("fc.weight", (3, 4), dtype="float16")  # 12 * 16 bits = 192
    bias = b.param("fc.bias", (3,), dtype="float32", role="bias")  # 3 * 32 = 96
    b.op("linear", [x, w, bias], (1, 3), name="fc")
    r = analyzer.analyze(b.build())
    assert r.totals["model_size_bytes"] == (192 + 96) // 8  # 36


def test_weight_bits() -> None:
    assert size(weight_bits=8).totals["model_size_bytes"] == 23  # 23 * 8 / 8


def test_four_bits_round_up() -> None:
    # 23 * 4 = 92 bits = 11.5 bytes -> 12
    r = size(weight_bits=4)
    assert r.totals["model_size_bytes"] == 12
    # per layer: fc1 15*4 = 60 bits -> 8 bytes; fc2 8*4 = 32 bits -> 4
    assert r.layer("fc1")["weight_bytes"] == 8
    assert r.layer("fc2")["weight_bytes"] == 4


def test_layer_bits_by_layer_name() -> None:
    # fc1 at 4 bits: 15*4 = 60; fc2 at its dtype: 8*32 = 256; 316 bits = 39.5 -> 40 bytes
    r = size(layer_bits={"fc1": 4})
    assert r.totals["model_size_bytes"] == 40
    assert r.layer("fc1")["weight_bytes"] == 8  # ceil(60 / 8)
    assert r.layer("fc2")["weight_bytes"] == 32


def test_layer_bits_by_param_name() -> None:
    # biases at 16 bits: (3 + 2) * 16 = 80; weights (12 + 6) * 32 = 576; 656 bits = 82 bytes
    assert size(layer_bits={"*.bias": 16}).totals["model_size_bytes"] == 82


def test_layer_bits_beats_weight_bits() -> None:
    # fc1 at weight_bits 8: 15*8 = 120; fc2 at 16: 8*16 = 128; 248 bits = 31 bytes
    assert size(weight_bits=8, layer_bits={"fc2": 16}).totals["model_size_bytes"] == 31


def test_first_matching_pattern_wins() -> None:
    # "fc*" matches both layers before "fc2" is tried: 23 * 4 = 92 bits -> 12 bytes
    assert size(layer_bits={"fc*": 4, "fc2": 16}).totals["model_size_bytes"] == 12


def test_mb_and_mib() -> None:
    b = GraphBuilder("big")
    x = b.input("x", (1, 512))
    b.linear(x, 512, bias=False, name="fc")  # 262144 float32 params = 1048576 bytes = 2^20
    r = analyzer.analyze(b.build())
    assert r.totals["model_size_bytes"] == 1_048_576
    assert r.totals["model_size_mb"] == pytest.approx(1.048576)  # / 10^6
    assert r.totals["model_size_mib"] == pytest.approx(1.0)  # / 2^20


def test_non_trainable_and_buffers_counted_counter_excluded() -> None:
    b = GraphBuilder("bn")
    x = b.input("x", (1, 2, 3, 3))
    batch_norm_with_counter(b, x)
    r = analyzer.analyze(b.build())
    assert r.totals["model_size_bytes"] == 32  # (2+2+2+2) * 4; the int64 counter is not a weight


def test_bias_false_shrinks_model_size() -> None:
    # 23 - 5 biases = 18 * 4 = 72
    assert size(bias=False).totals["model_size_bytes"] == 72


def test_tied_and_unused_weights() -> None:
    # the table (10x4) is stored once, in its first layer; an unused weight counts in the total,
    # matched by layer_bits patterns through its own name only (it has no layer)
    b = GraphBuilder("tied")
    e = b.embedding(b.input("idx", (1, 3), dtype="int64"), 10, 4, name="emb")
    b.op("linear", [e, "emb.weight"], (1, 3, 10), name="head")
    b.param("spare.weight", (8,))
    r = analyzer.analyze(b.build())
    assert (r.layer("emb")["weight_bytes"], r.layer("head")["weight_bytes"]) == (160, 0)
    assert r.totals["model_size_bytes"] == 160 + 32
    r = analyzer.analyze(b.graph, layer_bits={"spare.*": 8, "*": 16})
    assert r.totals["model_size_bytes"] == 80 + 8
    assert r.layer("emb")["weight_bytes"] == 80
