"""Keras activation functions (``activation="relu"``, ``layers.Activation``) as canonical ops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# keras.activations function name -> (canonical op, attrs); None: no op (linear)
ACTIVATIONS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "linear": None,
    "relu": ("relu", {}),
    "relu6": ("relu6", {}),
    "leaky_relu": ("leaky_relu", {"negative_slope": 0.2}),
    "elu": ("elu", {}),
    "selu": ("selu", {}),
    "gelu": ("gelu", {"approximate": "none"}),
    "silu": ("silu", {}),
    "sigmoid": ("sigmoid", {}),
    "tanh": ("tanh", {}),
    "hard_sigmoid": ("hardsigmoid", {}),
    "hard_silu": ("hardswish", {}),
    "hard_tanh": ("hardtanh", {}),
    "softplus": ("softplus", {}),
    "mish": ("mish", {}),
    "exponential": ("exp", {}),
    "softmax": ("softmax", {"axis": -1}),
    "log_softmax": ("log_softmax", {"axis": -1}),
}

_MODULE = "keras.src.activations.activations"


def activation_op(fn: Callable[..., Any] | None) -> tuple[str, dict[str, Any]] | None | bool:
    """``(op, attrs)`` for a Keras activation function, None for linear, False if unknown."""
    if fn is None:
        return None
    name = getattr(fn, "__name__", "")
    if getattr(fn, "__module__", "") != _MODULE or name not in ACTIVATIONS:
        return False
    return ACTIVATIONS[name]


def known_activation(fn: Callable[..., Any] | None) -> bool:
    return activation_op(fn) is not False
