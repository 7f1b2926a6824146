"""Training memory (docs/metrics.md): weights + gradients + optimizer state + saved
activations scaled to train_batch."""

from __future__ import annotations

import pytest

import analyzer
from analyzer import GraphBuilder, UsageError
from analyzer.core.graph import Graph


def two_fc(batch: int = 1, frozen_fc2: bool = False) -> Graph:
    """fc1 4->3 (15 params), fc2 3->2 (8 params): 23 * 4 = 92 bytes of weights."""
    b = GraphBuilder("fc")
    x = b.input("x", (batch, 4))
    x = b.linear(x, 3, name="fc1")
    if frozen_fc2:
        w = b.param("fc2.weight", (2, 3), trainable=False)  # 6 frozen
        bias = b.param("fc2.bias", (2,), trainable=False, role="bias")  # 2 frozen
        b.op("linear", [x, w, bias], (batch, 2), name="fc2")
    else:
        b.linear(x, 2, name="fc2")
    return b.build()


# activations at batch 1: x 4 + fc1 3 + fc2 2 = 9 elements = 36 bytes
@pytest.mark.parametrize(
    ("optimizer", "state", "total"),
    [
        ("sgd", 0, 92 + 92 + 0 + 36),  # 220
        ("momentum", 92, 92 + 92 + 92 + 36),  # 312
        ("adam", 184, 92 + 92 + 184 + 36),  # 404
    ],
)
def test_optimizers(optimizer: str, state: int, total: int) -> None:
    t = analyzer.analyze(two_fc(), optimizer=optimizer).totals
    assert t["gradient_bytes"] == 92
    assert t["optimizer_state_bytes"] == state
    assert t["saved_activation_bytes"] == 36
    assert t["training_memory_bytes"] == total


def test_default_optimizer_is_adam() -> None:
    assert analyzer.analyze(two_fc()).totals["training_memory_bytes"] == 404


def test_train_batch_scales_saved_activations() -> None:
    # 36 bytes at batch 1 -> 36 * 8 = 288 at batch 8: 92 + 92 + 184 + 288 = 656
    t = analyzer.analyze(two_fc(), train_batch=8).totals
    assert t["saved_activation_bytes"] == 288
    assert t["training_memory_bytes"] == 656
    # a graph built at batch 2 holds 72 bytes; batch 8 is 72 * 8 / 2 = 288 again
    t2 = analyzer.analyze(two_fc(batch=2), train_batch=8).totals
    assert t2["saved_activation_bytes"] == 288
    assert analyzer.analyze(two_fc(batch=2)).totals["saved_activation_bytes"] == 72


def test_frozen_params_have_no_gradient_or_state() -> None:
    # trainable: fc1 15 -> 60 bytes of gradient, 120 of Adam state; weights still 92
    t = analyzer.analyze(two_fc(frozen_fc2=True)).totals
    assert t["gradient_bytes"] == 60
    assert t["optimizer_state_bytes"] == 120
    assert t["training_memory_bytes"] == 92 + 60 + 120 + 36


def test_quantized_weights_keep_full_precision_gradients() -> None:
    # weight_bits=8: weights 23 bytes, gradients at the fp32 dtype 92, Adam 184
    t = analyzer.analyze(two_fc(), weight_bits=8).totals
    assert t["gradient_bytes"] == 92
    assert t["training_memory_bytes"] == 23 + 92 + 184 + 36


def test_unknown_optimizer_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="rmsprop"):
        analyzer.analyze(two_fc(), optimizer="rmsprop")


def test_gradients_at_each_parameters_dtype() -> None:
    # trainable weights of several dtypes, interleaved, and a frozen one: gradient bits per dtype,
    # rounded up to whole bytes once for the model
    b = GraphBuilder("mixed")
    x = b.input("x", (1, 3))
    sizes = {"a": ((3,), "float32"), "b": ((1, 3), "float16"), "c": ((1,), "float32"), "d": ((1, 1), "int4")}
    for name, (shape, dtype) in sizes.items():
        x = b.op("mul", [x, b.param(name, shape, dtype=dtype)], (1, 3), name=f"m{name}")
    x = b.op("mul", [x, b.param("frozen", (3,), trainable=False)], (1, 3), name="mf")
    t = analyzer.analyze(b.build(x)).totals
    bits = (3 + 1) * 32 + 3 * 16 + 1 * 4  # 180 bits -> 23 bytes (22.5 rounded up)
    assert t["gradient_bytes"] == -(-bits // 8) == 23
    assert t["optimizer_state_bytes"] == 2 * 23
