"""Keras compute layers as canonical ops: dense, convolutions, normalization, pooling, activations.

Keras is channels_last by default: ``channel_axis`` is rank-1 (1 with
``data_format="channels_first"``); ``"same"`` padding follows TensorFlow's
rule (``analyzer.core.shapes.resolve_padding``), ``"causal"`` pads
``dilation*(k-1)`` on the left. Weights keep Keras's layout (conv kernels
``(*k, in/groups, out)``); formulas read the attributes, not the layout.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analyzer.core.shapes import resolve_padding
from analyzer.plugins.frontends.keras.activations import ACTIVATIONS, known_activation
from analyzer.plugins.frontends.keras.capture import Event
from analyzer.plugins.frontends.keras.emitter import Emitter, Spec, is_variable
from analyzer.plugins.frontends.keras.handlers import (
    axes_tuple,
    finish_with_activation,
    first_input,
    layer,
    out,
    spec_like,
)  # fmt: skip


def _plain(layer_obj: Any) -> bool:
    """Handled as one op: a known activation, no LoRA, not quantized."""
    return (
        known_activation(getattr(layer_obj, "activation", None))
        and not getattr(layer_obj, "lora_enabled", False)
        and getattr(layer_obj, "quantization_mode", None) is None
    )


def _bias(em: Emitter, layer_obj: Any) -> list[str]:
    b = getattr(layer_obj, "bias", None)
    return [em.param(b, "bias")] if getattr(layer_obj, "use_bias", True) and is_variable(b) else []


def _geometry(
    layer_obj: Any, x_shape: tuple[int, ...], kernel: tuple[int, ...], transposed: bool = False
) -> dict[str, Any]:
    """kernel/stride/padding/dilation/channel_axis of a Keras conv or pool layer on input ``x_shape``."""
    nd = len(x_shape) - 2
    channels_last = getattr(layer_obj, "data_format", "channels_last") == "channels_last"
    c_axis = len(x_shape) - 1 if channels_last else 1
    spatial = x_shape[1:-1] if channels_last else x_shape[2:]
    stride = tuple(layer_obj.strides) if layer_obj.strides is not None else kernel
    dilation = tuple(getattr(layer_obj, "dilation_rate", None) or (1,) * nd)
    mode = layer_obj.padding.lower()
    if mode == "causal":
        pad = tuple((d * (k - 1), 0) for k, d in zip(kernel, dilation, strict=True))
    elif transposed:  # the padding taken off the full transposed output
        eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
        total = [max(e - s, 0) if mode == "same" else 0 for e, s in zip(eff, stride, strict=True)]
        pad = tuple((t // 2, t - t // 2) for t in total)
    else:
        pad = resolve_padding(mode, spatial, kernel, stride, dilation)
    return {
        "kernel_size": tuple(kernel),
        "stride": stride,
        "padding": pad,
        "dilation": dilation,
        "channel_axis": c_axis,
    }


# --- dense ------------------------------------------------------------------------
@layer("Dense", accepts=_plain)
def dense(em: Emitter, ev: Event) -> None:
    lay = ev.op
    ins = [first_input(ev), em.param(lay.kernel, "weight"), *_bias(em, lay)]
    finish_with_activation(em, ev, "linear", ins, {}, lay.activation)


def explicit_equation(equation: str, ranks: list[int], out_rank: int) -> str:
    """Replace ``...`` in an einsum equation by explicit letters (the IR wants explicit form)."""
    if "..." not in equation:
        return equation
    lhs, rhs = equation.replace(" ", "").split("->")
    used = set(equation)
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    terms = lhs.split(",")
    n_ell = max(
        (r - (len(t) - 3) for t, r in zip(terms, ranks, strict=True) if "..." in t), default=0
    )
    n_ell = max(n_ell, out_rank - (len(rhs) - 3) if "..." in rhs else 0)
    ell = "".join(free[:n_ell])

    def fill(term: str, rank: int) -> str:
        if "..." not in term:
            return term
        k = rank - (len(term) - 3)
        return term.replace("...", ell[n_ell - k :])

    return (
        ",".join(fill(t, r) for t, r in zip(terms, ranks, strict=True)) + "->" + fill(rhs, out_rank)
    )


def projected_dims(equation: str) -> int | None:
    """How many trailing dims of ``x`` an explicit ``x,kernel->y`` equation contracts when it is
    a dense projection (``abc,cde->abde``: x's trailing dims with the kernel's leading dims, in
    order, the rest of both kept in order), else None."""
    lhs, y = equation.replace(" ", "").split("->")
    terms = lhs.split(",")
    if len(terms) != 2 or any(len(set(t)) != len(t) for t in (*terms, y)):
        return None
    x, w = terms
    for k in range(1, min(len(x), len(w)) + 1):
        if x[-k:] == w[:k] and y == x[:-k] + w[k:] and not set(x[:-k]) & set(w[k:]):
            return k
    return None


@layer("EinsumDense", accepts=_plain)
def einsum_dense(em: Emitter, ev: Event) -> None:
    lay, x, y = ev.op, first_input(ev), out(ev)
    kernel = em.param(lay.kernel, "weight")
    eq = explicit_equation(
        lay.equation, [len(em.shape(x)), len(em.shape(kernel))], len(em.shape(y))
    )
    bias = _bias(em, lay)
    k = projected_dims(eq)
    if k is not None:
        # a dense projection is a linear layer (bias an operand, as PyTorch's Linear and Flax's
        # DenseGeneral); several contracted dims are flattened first by a free view
        if k > 1:
            shape = em.shape(x)
            x = em.emit("reshape", [x], Spec((*shape[:-k], math.prod(shape[-k:])), em.dtype(x)))
        finish_with_activation(em, ev, "linear", [x, kernel, *bias], {}, lay.activation)
        return
    if not bias:
        finish_with_activation(em, ev, "einsum", [x, kernel], {"equation": eq}, lay.activation)
        return
    z = em.emit("einsum", [x, kernel], spec_like(em, y), {"equation": eq})
    finish_with_activation(em, ev, "add", [z, bias[0]], {}, lay.activation)


# --- convolutions ----------------------------------------------------------------------
@layer("Conv1D", "Conv2D", "Conv3D", accepts=_plain)
def conv(em: Emitter, ev: Event) -> None:
    lay, x = ev.op, first_input(ev)
    xs = em.shape(x)
    attrs = _geometry(lay, xs, lay.kernel_size)
    attrs.update(
        groups=lay.groups,
        in_channels=xs[attrs["channel_axis"]],
        out_channels=lay.filters,
        transposed=False,
    )
    finish_with_activation(
        em, ev, "conv", [x, em.param(lay.kernel, "weight"), *_bias(em, lay)], attrs, lay.activation
    )


@layer("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", accepts=_plain)
def conv_transpose(em: Emitter, ev: Event) -> None:
    lay, x = ev.op, first_input(ev)
    xs = em.shape(x)
    attrs = _geometry(lay, xs, lay.kernel_size, transposed=True)
    attrs.update(
        groups=1, in_channels=xs[attrs["channel_axis"]], out_channels=lay.filters, transposed=True
    )
    finish_with_activation(
        em, ev, "conv", [x, em.param(lay.kernel, "weight"), *_bias(em, lay)], attrs, lay.activation
    )


@layer("DepthwiseConv1D", "DepthwiseConv2D", accepts=_plain)
def depthwise_conv(em: Emitter, ev: Event) -> None:
    lay, x = ev.op, first_input(ev)
    xs = em.shape(x)
    attrs = _geometry(lay, xs, lay.kernel_size)
    c = xs[attrs["channel_axis"]]
    attrs.update(groups=c, in_channels=c, out_channels=c * lay.depth_multiplier, transposed=False)
    finish_with_activation(
        em, ev, "conv", [x, em.param(lay.kernel, "weight"), *_bias(em, lay)], attrs, lay.activation
    )


@layer("SeparableConv1D", "SeparableConv2D", accepts=_plain)
def separable_conv(em: Emitter, ev: Event) -> None:
    """Depthwise conv then pointwise 1x1 conv (with the bias), both in the layer's scope."""
    lay, x, y = ev.op, first_input(ev), out(ev)
    xs, ys = em.shape(x), em.shape(y)
    dw = _geometry(lay, xs, lay.kernel_size)
    c_axis = dw["channel_axis"]
    c = xs[c_axis]
    mid_c = c * lay.depth_multiplier
    dw.update(groups=c, in_channels=c, out_channels=mid_c, transposed=False)
    mid_shape = list(ys)
    mid_shape[c_axis] = mid_c
    mid = em.emit(
        "conv",
        [x, em.param(lay.depthwise_kernel, "weight")],
        Spec(tuple(mid_shape), em.dtype(y)),
        dw,
    )
    nd = len(xs) - 2
    pw = {"kernel_size": (1,) * nd, "stride": (1,) * nd, "padding": ((0, 0),) * nd, "dilation": (1,) * nd,
          "channel_axis": c_axis, "groups": 1, "in_channels": mid_c, "out_channels": lay.filters, "transposed": False}  # fmt: skip
    ins = [mid, em.param(lay.pointwise_kernel, "weight"), *_bias(em, lay)]
    finish_with_activation(em, ev, "conv", ins, pw, lay.activation)


# --- normalization ------------------------------------------------------------------------
def _affine(em: Emitter, lay: Any) -> list[str]:
    ins = []
    if getattr(lay, "scale", False) and is_variable(getattr(lay, "gamma", None)):
        ins.append(em.param(lay.gamma, "scale"))
    if getattr(lay, "center", False) and is_variable(getattr(lay, "beta", None)):
        ins.append(em.param(lay.beta, "shift"))
    return ins


@layer("BatchNormalization")
def batch_norm(em: Emitter, ev: Event) -> None:
    lay, x = ev.op, first_input(ev)
    rank = len(em.shape(x))
    ins = [
        x,
        *_affine(em, lay),
        em.param(lay.moving_mean, "mean"),
        em.param(lay.moving_variance, "var"),
    ]
    training = bool(ev.kwargs.get("training") or False)
    em.emit("batch_norm", ins, out(ev), {"channel_axis": lay.axis % rank, "training": training})


@layer("LayerNormalization")
def layer_norm(em: Emitter, ev: Event) -> None:
    lay, x = ev.op, first_input(ev)
    axes = axes_tuple(lay.axis, len(em.shape(x)))
    if getattr(lay, "rms_scaling", False):
        em.emit("rms_norm", [x, em.param(lay.gamma, "scale")], out(ev), {"axes": axes})
        return
    em.emit("layer_norm", [x, *_affine(em, lay)], out(ev), {"axes": axes})


@layer("RMSNormalization")
def rms_norm(em: Emitter, ev: Event) -> None:
    lay, x = ev.op, first_input(ev)
    axes = axes_tuple(lay.axis, len(em.shape(x)))
    ins = [x] + ([em.param(lay.scale, "scale")] if is_variable(getattr(lay, "scale", None)) else [])
    em.emit("rms_norm", ins, out(ev), {"axes": axes})


@layer("GroupNormalization")
def group_norm(em: Emitter, ev: Event) -> None:
    lay, x = ev.op, first_input(ev)
    rank = len(em.shape(x))
    em.emit(
        "group_norm",
        [x, *_affine(em, lay)],
        out(ev),
        {"groups": lay.groups, "channel_axis": lay.axis % rank},
    )


# --- pooling ------------------------------------------------------------------------------
@layer(
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
)
def pool(em: Emitter, ev: Event) -> None:
    lay, x = ev.op, first_input(ev)
    attrs = _geometry(lay, em.shape(x), tuple(lay.pool_size))
    em.emit("max_pool" if "Max" in type(lay).__name__ else "avg_pool", [x], out(ev), attrs)


@layer("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
       "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D")  # fmt: skip
def global_pool(em: Emitter, ev: Event) -> None:
    """adaptive pooling to 1s, then a reshape when ``keepdims=False``."""
    lay, x, y = ev.op, first_input(ev), out(ev)
    xs = em.shape(x)
    nd = len(xs) - 2
    c_axis = len(xs) - 1 if lay.data_format == "channels_last" else 1
    kept = tuple(1 if 0 < i < len(xs) and i != c_axis else d for i, d in enumerate(xs))
    attrs = {"output_size": (1,) * nd, "channel_axis": c_axis}
    op_name = "adaptive_max_pool" if "Max" in type(lay).__name__ else "adaptive_avg_pool"
    if em.shape(y) == kept:
        em.emit(op_name, [x], y, attrs)
        return
    pooled = em.emit(op_name, [x], Spec(kept, em.dtype(y)), attrs)
    em.emit("reshape", [pooled], y)


# --- activation layers ----------------------------------------------------------------------
@layer("Activation", accepts=lambda lay: known_activation(lay.activation))
def activation(em: Emitter, ev: Event) -> None:
    act = ACTIVATIONS.get(getattr(ev.op.activation, "__name__", ""))
    if act is None:  # linear
        em.emit("identity", [first_input(ev)], out(ev))
        return
    em.emit(act[0], [first_input(ev)], out(ev), act[1])


def _relu_kind(lay: Any) -> str | None:
    slope, max_value, threshold = float(lay.negative_slope), lay.max_value, float(lay.threshold)
    if threshold != 0.0:
        return None
    if max_value is None:
        return "relu" if slope == 0.0 else "leaky_relu"
    return "relu6" if float(max_value) == 6.0 and slope == 0.0 else None


@layer("ReLU", accepts=lambda lay: _relu_kind(lay) is not None)
def relu(em: Emitter, ev: Event) -> None:
    kind = _relu_kind(ev.op)
    attrs = {"negative_slope": float(ev.op.negative_slope)} if kind == "leaky_relu" else {}
    em.emit(kind, [first_input(ev)], out(ev), attrs)  # type: ignore[arg-type]


@layer("LeakyReLU")
def leaky_relu(em: Emitter, ev: Event) -> None:
    em.emit(
        "leaky_relu", [first_input(ev)], out(ev), {"negative_slope": float(ev.op.negative_slope)}
    )


@layer("PReLU")
def prelu(em: Emitter, ev: Event) -> None:
    """A leaky ReLU whose slope is a learned parameter (an operand)."""
    em.emit(
        "leaky_relu",
        [first_input(ev), em.param(ev.op.alpha, "weight")],
        out(ev),
        {"learned_slope": True},
    )


@layer("ELU")
def elu(em: Emitter, ev: Event) -> None:
    em.emit("elu", [first_input(ev)], out(ev), {"alpha": float(ev.op.alpha)})


@layer("Softmax")
def softmax(em: Emitter, ev: Event) -> None:
    """With a mask, Keras first selects ``where(mask, x, -1e9)``: one op per score, as the
    mask of a fused attention (ops_table.attention) costs."""
    x, y = first_input(ev), out(ev)
    axes = axes_tuple(ev.op.axis, len(em.shape(x)))
    mask = ev.kwargs.get("mask", ev.args[1] if len(ev.args) > 1 else None)
    if mask is not None:
        floor = em.constant(np.float32(-1e9))
        x = em.emit("where", [mask, x, floor], spec_like(em, x))
    em.emit("softmax", [x], y, {"axis": axes[0] if len(axes) == 1 else axes})
