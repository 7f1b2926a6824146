"""Raw ``keras.ops`` operations (functional-graph ops, ``x + y``, ops inside custom
``call``s) as canonical ops. Operations not listed become ``unknown``.

Conventions: ``GetItem``/``Slice`` with static indices are ``slice`` views, with
tensor indices ``gather``; ``Cast``/``ConvertToTensor`` to the same dtype are
no-ops (the output is the input); ``dot_product_attention`` takes Keras's
``(batch, length, heads, dim)`` layout, so it is a ``permute`` of q, k, v to
``(batch, heads, length, dim)``, one ``attention`` node and a ``permute`` back; its
``bias``/``mask`` (already in the scores' layout) is the node's mask operand.
"""

from __future__ import annotations

import math

import numpy as np

from analyzer.core.shapes import broadcast_shapes
from analyzer.plugins.frontends.keras.capture import Event
from analyzer.plugins.frontends.keras.emitter import Emitter, Spec, is_keras_tensor
from analyzer.plugins.frontends.keras.handlers import (
    axes_tuple,
    first_input,
    op,
    out,
    outputs,
    tensor_args,
    unknown,
)
from analyzer.plugins.frontends.keras.layers_misc import _chain
from analyzer.plugins.frontends.keras.layers_nn import explicit_equation

_UNARY = {
    "Negative": "neg", "Absolute": "abs", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Rsqrt": "rsqrt",
    "Reciprocal": "reciprocal", "Square": "square", "Sin": "sin", "Cos": "cos", "Erf": "erf",
    "Sign": "sign", "Floor": "floor", "Ceil": "ceil", "Round": "round",
    # activations
    "Relu": "relu", "Relu6": "relu6", "Sigmoid": "sigmoid", "Softplus": "softplus", "Silu": "silu",
    "HardSigmoid": "hardsigmoid", "HardSilu": "hardswish", "Selu": "selu", "Tanh": "tanh",
    "HardTanh": "hardtanh",
}  # fmt: skip
_BINARY = {
    "Add": "add", "Subtract": "sub", "Multiply": "mul", "Divide": "div", "TrueDivide": "div",
    "Power": "pow", "Maximum": "maximum", "Minimum": "minimum", "Mod": "mod",
}  # fmt: skip
_COMPARE = {
    "Equal": "eq",
    "NotEqual": "ne",
    "Less": "lt",
    "LessEqual": "le",
    "Greater": "gt",
    "GreaterEqual": "ge",
}
_LOGICAL = {"LogicalAnd": "and", "LogicalOr": "or", "LogicalXor": "xor", "LogicalNot": "not"}
_REDUCE = {
    "Any": "reduce_max", "All": "reduce_min",  # logical or/and over booleans
    "Sum": "reduce_sum", "Mean": "reduce_mean", "Max": "reduce_max", "Amax": "reduce_max",
    "Min": "reduce_min", "Amin": "reduce_min", "Prod": "reduce_prod", "Var": "reduce_var",
}  # fmt: skip
_VIEWS = {"Reshape": "reshape", "ExpandDims": "reshape", "Squeeze": "reshape", "Ravel": "reshape",
          "BroadcastTo": "expand", "StopGradient": "identity"}  # fmt: skip
_MOVEMENT = {"Tile": "tile", "Repeat": "tile", "Flip": "flip", "Take": "gather",
             "TakeAlongAxis": "gather", "OneHot": "one_hot", "Sort": "sort", "Argsort": "sort",
             "TopK": "sort"}  # fmt: skip


def _name(ev: Event) -> str:
    return type(ev.op).__name__


@op(*_UNARY)
def unary(em: Emitter, ev: Event) -> None:
    em.emit(_UNARY[_name(ev)], [first_input(ev)], out(ev))


@op(*_BINARY)
def binary(em: Emitter, ev: Event) -> None:
    xs = tensor_args(ev, with_constants=True)
    if len(xs) > 1:
        _chain(em, _BINARY[_name(ev)], xs, out(ev))
    else:
        unknown(em, ev)


@op(*_COMPARE)
def compare(em: Emitter, ev: Event) -> None:
    em.emit("compare", tensor_args(ev, with_constants=True), out(ev), {"kind": _COMPARE[_name(ev)]})


@op(*_LOGICAL)
def logical(em: Emitter, ev: Event) -> None:
    em.emit("logical", tensor_args(ev, with_constants=True), out(ev), {"kind": _LOGICAL[_name(ev)]})


@op("Where")
def where(em: Emitter, ev: Event) -> None:
    xs = tensor_args(ev, with_constants=True)
    if len(xs) == 3:
        em.emit("where", xs, out(ev))
    else:
        unknown(em, ev)


@op("Clip")
def clip(em: Emitter, ev: Event) -> None:
    em.emit("clamp", [first_input(ev)], out(ev), {"min": ev.op.x_min, "max": ev.op.x_max})


@op("Cast", "ConvertToTensor", "SaturateCast")
def cast(em: Emitter, ev: Event) -> None:
    x, y = first_input(ev), out(ev)
    if em.dtype(x) == em.dtype(y) and em.shape(x) == em.shape(y):
        em.bind(y, em.operand(x))  # nothing happens at run time
        return
    em.emit("cast", [x], y)


@op("LeakyRelu")
def leaky_relu(em: Emitter, ev: Event) -> None:
    em.emit(
        "leaky_relu", [first_input(ev)], out(ev), {"negative_slope": float(ev.op.negative_slope)}
    )


@op("Elu")
def elu(em: Emitter, ev: Event) -> None:
    em.emit("elu", [first_input(ev)], out(ev), {"alpha": float(getattr(ev.op, "alpha", 1.0))})


@op("Gelu")
def gelu(em: Emitter, ev: Event) -> None:
    em.emit(
        "gelu", [first_input(ev)], out(ev), {"approximate": "tanh" if ev.op.approximate else "none"}
    )


@op("Softmax", "LogSoftmax")
def softmax(em: Emitter, ev: Event) -> None:
    x = first_input(ev)
    axes = axes_tuple(ev.op.axis, len(em.shape(x)))
    name = "softmax" if _name(ev) == "Softmax" else "log_softmax"
    em.emit(name, [x], out(ev), {"axis": axes[0] if len(axes) == 1 else axes})


# --- contractions ------------------------------------------------------------------------
@op("Matmul")
def matmul(em: Emitter, ev: Event) -> None:
    em.emit("matmul", tensor_args(ev, with_constants=True)[:2], out(ev))


@op("Dot")
def dot(em: Emitter, ev: Event) -> None:
    a, b = tensor_args(ev, with_constants=True)[:2]
    if 1 <= len(em.shape(a)) <= 2 and 1 <= len(em.shape(b)) <= 2:
        em.emit("matmul", [a, b], out(ev))
    else:
        unknown(em, ev)


@op("Einsum")
def einsum(em: Emitter, ev: Event) -> None:
    xs, y = tensor_args(ev, with_constants=True), out(ev)
    eq = ev.op.subscripts.replace(" ", "")
    if "->" not in eq:
        unknown(em, ev)
        return
    eq = explicit_equation(eq, [len(em.shape(x)) for x in xs], len(em.shape(y)))
    em.emit("einsum", xs, y, {"equation": eq})


def _conv_attrs(
    em: Emitter, ev: Event, x, kernel, *, groups: int | None, transposed: bool = False
) -> dict:
    from analyzer.core.shapes import ntuple, resolve_padding

    xs, ks = em.shape(x), em.shape(kernel)
    nd = len(xs) - 2
    cl = (ev.op.data_format or "channels_last") == "channels_last"
    c_axis = len(xs) - 1 if cl else 1
    spatial = xs[1:-1] if cl else xs[2:]
    k = tuple(ks[:nd])
    s = ntuple(ev.op.strides, nd, "strides")
    d = ntuple(ev.op.dilation_rate, nd, "dilation")
    pad = ((0, 0),) * nd if transposed else resolve_padding(ev.op.padding, spatial, k, s, d)
    c_in = xs[c_axis]
    y = em.shape(out(ev))
    return {"kernel_size": k, "stride": s, "padding": pad, "dilation": d, "channel_axis": c_axis,
            "groups": groups if groups is not None else c_in // ks[-2], "in_channels": c_in,
            "out_channels": y[c_axis], "transposed": transposed}  # fmt: skip


@op("Conv", "DepthwiseConv", "ConvTranspose")
def conv(em: Emitter, ev: Event) -> None:
    x, kernel = tensor_args(ev, with_constants=True)[:2]
    name = _name(ev)
    groups = (
        em.shape(x)[-1 if (ev.op.data_format or "channels_last") == "channels_last" else 1]
        if name == "DepthwiseConv"
        else None
    )
    attrs = _conv_attrs(
        em,
        ev,
        x,
        kernel,
        groups=1 if name == "ConvTranspose" else groups,
        transposed=name == "ConvTranspose",
    )
    em.emit("conv", [x, kernel], out(ev), attrs)


@op("DotProductAttention")
def attention(em: Emitter, ev: Event) -> None:
    """(B, T, H, D) operands: permute to (B, H, T, D), attend, permute back.

    ``bias`` and ``mask`` are already in the scores' (B, H, T, S) layout and become the
    attention node's mask operand (with both, one ``where`` folds the mask into the
    bias); they change which scores count, not how many products are computed.
    """
    names = ("query", "key", "value", "bias", "mask", "scale")
    given = dict(zip(names, ev.args, strict=False)) | {
        k: v for k, v in ev.kwargs.items() if k in names
    }
    q, k, v, y = given["query"], given["key"], given["value"], out(ev)
    if len(em.shape(q)) != 4 or is_keras_tensor(given.get("scale")):  # unbatched, traced scale
        unknown(em, ev)
        return
    perm = (0, 2, 1, 3)

    def bhtd(t):
        s = em.shape(t)
        return em.emit("permute", [t], Spec(tuple(s[p] for p in perm), em.dtype(t)), {"perm": perm})

    qh, kh, vh = bhtd(q), bhtd(k), bhtd(v)
    bias, mask = given.get("bias"), given.get("mask")
    if bias is not None and mask is not None:
        shape = broadcast_shapes(em.shape(mask), em.shape(bias))
        floor = em.constant(np.float32(-1e9))
        bias = em.emit("where", [mask, bias, floor], Spec(shape, em.dtype(bias)))
    extra = [x for x in (bias, mask) if x is not None][:1]
    attrs = {"is_causal": bool(ev.op.is_causal)}
    if given.get("scale") is not None:
        attrs["scale"] = float(given["scale"])
    if ev.op.attn_logits_soft_cap is not None:
        attrs["logits_soft_cap"] = float(ev.op.attn_logits_soft_cap)
    ys = em.shape(y)
    a = em.emit(
        "attention", [qh, kh, vh, *extra], Spec(tuple(ys[p] for p in perm), em.dtype(y)), attrs
    )
    em.emit("permute", [a], y, {"perm": perm})


# --- normalization ------------------------------------------------------------------------
@op("BatchNorm")
def batch_norm(em: Emitter, ev: Event) -> None:
    # ops.batch_normalization(x, mean, variance, axis, offset, scale)
    names = ("x", "mean", "variance", "offset", "scale")
    given = dict(zip(names, ev.args, strict=False)) | {
        k: v for k, v in ev.kwargs.items() if k in names
    }
    x = given["x"]
    ins = [x] + [
        given[k] for k in ("scale", "offset", "mean", "variance") if given.get(k) is not None
    ]
    em.emit(
        "batch_norm",
        ins,
        out(ev),
        {"channel_axis": ev.op.axis % len(em.shape(x)), "training": False},
    )


@op("LayerNorm", "RMSNorm")
def layer_norm(em: Emitter, ev: Event) -> None:
    xs = tensor_args(ev)
    axes = axes_tuple(ev.op.axis, len(em.shape(xs[0])))
    rms = _name(ev) == "RMSNorm" or getattr(ev.op, "rms_scaling", False)
    em.emit("rms_norm" if rms else "layer_norm", xs, out(ev), {"axes": axes})


@op("Moments")
def moments(em: Emitter, ev: Event) -> None:
    x = first_input(ev)
    mean, var = outputs(ev)[:2]
    attrs = {"axes": axes_tuple(ev.op.axes, len(em.shape(x))), "keepdims": bool(ev.op.keepdims)}
    em.emit("reduce_mean", [x], mean, attrs)
    em.emit("reduce_var", [x], var, attrs)


# --- pooling ---------------------------------------------------------------------------------
@op("MaxPool", "AveragePool")
def pool(em: Emitter, ev: Event) -> None:
    from analyzer.core.shapes import ntuple, resolve_padding

    x = first_input(ev)
    xs = em.shape(x)
    nd = len(xs) - 2
    cl = (ev.op.data_format or "channels_last") == "channels_last"
    k = ntuple(ev.op.pool_size, nd, "pool_size")
    s = ntuple(ev.op.strides if ev.op.strides is not None else ev.op.pool_size, nd, "strides")
    pad = resolve_padding(ev.op.padding, xs[1:-1] if cl else xs[2:], k, s, (1,) * nd)
    attrs = {
        "kernel_size": k,
        "stride": s,
        "padding": pad,
        "dilation": (1,) * nd,
        "channel_axis": len(xs) - 1 if cl else 1,
    }
    em.emit("max_pool" if _name(ev) == "MaxPool" else "avg_pool", [x], out(ev), attrs)


# --- reductions ------------------------------------------------------------------------------
@op(*_REDUCE, "Argmax", "Argmin")
def reduce(em: Emitter, ev: Event) -> None:
    x = first_input(ev)
    name = _name(ev)
    attrs = {"axes": axes_tuple(getattr(ev.op, "axis", None), len(em.shape(x))),
             "keepdims": bool(getattr(ev.op, "keepdims", False))}  # fmt: skip
    em.emit(_REDUCE.get(name, name.lower()), [x], out(ev), attrs)


@op("Normalize")
def normalize(em: Emitter, ev: Event) -> None:
    """L2 normalization: x * rsqrt(sum(x^2)) over the axis (other orders are unknown)."""
    x, y = first_input(ev), out(ev)
    if getattr(ev.op, "order", 2) != 2:
        unknown(em, ev)
        return
    xs, dt = em.shape(x), em.dtype(y)
    axes = axes_tuple(ev.op.axis, len(xs))
    kept = tuple(1 if i in axes else d for i, d in enumerate(xs))
    sq = em.emit("square", [x], Spec(xs, dt))
    total = em.emit("reduce_sum", [sq], Spec(kept, dt), {"axes": axes, "keepdims": True})
    inv = em.emit("rsqrt", [total], Spec(kept, dt))
    em.emit("mul", [x, inv], y)


@op("Cumsum")
def cumsum(em: Emitter, ev: Event) -> None:
    em.emit("cumsum", [first_input(ev)], out(ev), {"axis": ev.op.axis})


# --- views and data movement ------------------------------------------------------------------
@op(*_VIEWS)
def view(em: Emitter, ev: Event) -> None:
    em.emit(_VIEWS[_name(ev)], [first_input(ev)], out(ev))


@op("Transpose", "Swapaxes", "Moveaxis")
def transpose(em: Emitter, ev: Event) -> None:
    x = first_input(ev)
    rank = len(em.shape(x))
    name, o = _name(ev), ev.op
    if name == "Transpose":
        perm = tuple(range(rank))[::-1] if o.axes is None else tuple(a % rank for a in o.axes)
    elif name == "Swapaxes":
        p = list(range(rank))
        a, b = o.axis1 % rank, o.axis2 % rank
        p[a], p[b] = p[b], p[a]
        perm = tuple(p)
    else:
        src = [a % rank for a in o.source]
        dst = [a % rank for a in o.destination]
        rest = [a for a in range(rank) if a not in src]
        p = [-1] * rank
        for s_, d_ in zip(src, dst, strict=True):
            p[d_] = s_
        it = iter(rest)
        perm = tuple(v if v >= 0 else next(it) for v in p)
    em.emit("permute", [x], out(ev), {"perm": perm})


@op("GetItem", "Slice")
def getitem(em: Emitter, ev: Event) -> None:
    xs = tensor_args(ev)
    em.emit("slice" if len(xs) == 1 else "gather", xs, out(ev))


@op("Concatenate", "Stack")
def concat(em: Emitter, ev: Event) -> None:
    y = out(ev)
    name = "concat" if _name(ev) == "Concatenate" else "stack"
    em.emit(name, tensor_args(ev, with_constants=True), y, {"axis": ev.op.axis % len(em.shape(y))})


@op("Split", "ArraySplit", "Unstack")
def split(em: Emitter, ev: Event) -> None:
    em.emit("split", [first_input(ev)], outputs(ev), {"axis": getattr(ev.op, "axis", 0)})


@op(*_MOVEMENT)
def movement(em: Emitter, ev: Event) -> None:
    ins = [x for x in tensor_args(ev) if is_keras_tensor(x) or not _is_scalar(em, x)]
    em.emit(_MOVEMENT[_name(ev)], ins, outputs(ev))


def _is_scalar(em: Emitter, x) -> bool:
    return math.prod(getattr(x, "shape", ())) == 1 and not is_keras_tensor(x)


@op("Pad")
def pad(em: Emitter, ev: Event) -> None:
    pads = tuple((int(lo), int(hi)) for lo, hi in ev.op.pad_width)
    em.emit("pad", [first_input(ev)], out(ev), {"pads": pads, "mode": str(ev.op.mode)})


@op("Resize")
def resize(em: Emitter, ev: Event) -> None:
    mode = {"nearest": "nearest", "bilinear": "linear", "bicubic": "cubic"}.get(ev.op.interpolation)
    x = first_input(ev)
    if mode is None or ev.op.crop_to_aspect_ratio or ev.op.pad_to_aspect_ratio:
        unknown(em, ev)
        return
    em.emit("resize", [x], out(ev), {"mode": mode, "spatial_dims": len(em.shape(x)) - 2})


@op("ZerosLike", "OnesLike", "FullLike")
def like(em: Emitter, ev: Event) -> None:
    em.emit("constant", [], out(ev))
