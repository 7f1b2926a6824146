"""TFLite builtin operators -> canonical ops, one small handler per family.

TFLite tensors are NHWC: convolutions and pools get ``channel_axis = 3``.
Padding SAME/VALID becomes explicit ``(lo, hi)`` pairs by TensorFlow's rule
(SAME pads ``max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0)``, the extra pixel
at the end). A fused activation is a separate in-place node in the op's
scope. Operators without a handler become ``unknown`` nodes (their stored
weights attached), so the report lists them as unsupported. Views and data
movement are in ``movement.py``, plugin op mappings in ``mappings.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analyzer.core.ir import numel
from analyzer.plugins.frontends.tflite.emit import FUSED, FUSED_NAMES, Emitter
from analyzer.plugins.frontends.tflite.reader import OpInfo

Handler = Callable[[Emitter, OpInfo], None]
HANDLERS: dict[str, Handler] = {}

# ops TFLM can run without a buffer of their own: the output aliases the input's bytes
INPLACE_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})


def handles(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            if n in HANDLERS:
                raise ValueError(f"TFLite op {n} handled twice")
            HANDLERS[n] = fn
        return fn

    return deco


def opt(op: OpInfo, getter: str, default: Any = 0) -> Any:
    return getattr(op.options, getter)() if op.options is not None else default


def same_padding(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _padding(op: OpInfo, spatial: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...],
             d: tuple[int, ...]) -> tuple[tuple[int, int], ...]:  # fmt: skip
    if opt(op, "Padding") == 0:  # Padding.SAME
        return tuple(same_padding(*a) for a in zip(spatial, k, s, d, strict=True))
    return ((0, 0),) * len(spatial)


# --- contractions --------------------------------------------------------------
@handles("CONV_2D", "DEPTHWISE_CONV_2D")
def conv2d(e: Emitter, op: OpInfo) -> None:
    x, w = op.inputs[0], op.inputs[1]
    xs, ws = e.shape(x), e.shape(w)
    if len(xs) != 4 or len(ws) != 4:
        return unknown(e, op)
    k = (ws[1], ws[2])
    s = (opt(op, "StrideH", 1), opt(op, "StrideW", 1))
    d = (opt(op, "DilationHFactor", 1), opt(op, "DilationWFactor", 1))
    cin = xs[3]
    if op.name == "DEPTHWISE_CONV_2D":
        cout, groups = ws[3], cin
    else:
        cout, groups = ws[0], cin // ws[3] if ws[3] and cin % ws[3] == 0 else 1
    attrs = dict(kernel_size=k, stride=s, padding=_padding(op, xs[1:3], k, s, d), dilation=d, groups=groups,
                 in_channels=cin, out_channels=cout, channel_axis=3, transposed=False)  # fmt: skip
    ins = [e.operand(x), e.operand(w, "weight")]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        ins.append(e.operand(op.inputs[2], "bias"))
    e.with_activation("conv", ins, attrs, opt(op, "FusedActivationFunction"))


@handles("TRANSPOSE_CONV")
def transpose_conv(e: Emitter, op: OpInfo) -> None:
    shape_t, w, x = op.inputs[:3]
    xs, ws, out = e.shape(x), e.shape(w), e.shape(op.outputs[0])
    if len(xs) != 4 or len(ws) != 4 or len(out) != 4:
        return unknown(e, op)
    k, s = (ws[1], ws[2]), (opt(op, "StrideH", 1), opt(op, "StrideW", 1))
    pads = []
    for i in range(2):
        total = max((xs[1 + i] - 1) * s[i] + k[i] - out[1 + i], 0)
        pads.append((total // 2, total - total // 2))
    attrs = dict(kernel_size=k, stride=s, padding=tuple(pads), dilation=(1, 1), groups=1, in_channels=xs[3],
                 out_channels=ws[0], channel_axis=3, transposed=True)  # fmt: skip
    ins = [e.operand(x), e.operand(w, "weight")]
    if len(op.inputs) > 3 and op.inputs[3] >= 0:
        ins.append(e.operand(op.inputs[3], "bias"))
    e.operand(shape_t, "config")
    e.with_activation("conv", ins, attrs, opt(op, "FusedActivationFunction"))


@handles("FULLY_CONNECTED")
def fully_connected(e: Emitter, op: OpInfo) -> None:
    x, w = op.inputs[0], op.inputs[1]
    xs, ws, out_shape = e.shape(x), e.shape(w), e.shape(op.outputs[0])
    if len(ws) != 2 or not ws[1] or numel(xs) % ws[1]:
        return unknown(e, op)
    x_name = e.operand(x)
    dtype = e.info(x).dtype
    rows = numel(xs) // ws[1]
    if xs != (rows, ws[1]) and not (xs[-1] == ws[1] and out_shape == (*xs[:-1], ws[0])):
        flat = e.temp("flat", (rows, ws[1]), dtype)  # TFLite flattens the input to (rows, in)
        e.node("reshape", [x_name], [flat], suffix=":flatten")
        x_name, xs = flat, (rows, ws[1])
    bias = op.inputs[2] if len(op.inputs) > 2 else -1
    linear_out = (*xs[:-1], ws[0])
    if not e.is_const(w):  # weights computed at run time: a plain matrix product
        ins = [x_name, e.operand(w)]
        return _finish(e, op, "dot_general", ins, linear_out, {"lhs_contracting": (len(xs) - 1,), "rhs_contracting": (1,),
                                                                "lhs_batch": (), "rhs_batch": ()})  # fmt: skip
    ins = [x_name, e.operand(w, "weight")]
    if bias >= 0:
        ins.append(e.operand(bias, "bias"))
    _finish(e, op, "linear", ins, linear_out, {})


def _finish(
    e: Emitter, op: OpInfo, kind: str, ins: list[str], shape: tuple[int, ...], attrs: dict[str, Any]
) -> None:
    """Emit a contraction of output ``shape``; reshape to the file's output shape when it differs."""
    out_t = op.outputs[0]
    if shape == e.shape(out_t):
        e.with_activation(kind, ins, attrs, opt(op, "FusedActivationFunction"))
        return
    tmp = e.temp("matmul", shape, e.info(out_t).dtype)
    fused = opt(op, "FusedActivationFunction")
    e.node(
        kind, ins, [tmp], attrs, meta={"fused_activation": FUSED_NAMES[fused]} if fused else None
    )
    if fused:
        tmp2 = e.temp("activated", shape, e.info(out_t).dtype)
        e.node(FUSED[fused], [tmp], [tmp2], suffix=f":{FUSED[fused]}", meta={"fused": True})
        tmp = tmp2
    e.node("reshape", [tmp], [e.output(out_t)], suffix=":reshape")


@handles("BATCH_MATMUL")
def batch_matmul(e: Emitter, op: OpInfo) -> None:
    a, b = op.inputs[:2]
    names = []
    for t, flag, tag in ((a, "AdjX", "a"), (b, "AdjY", "b")):
        name = e.operand(t, "weight")
        s = e.shape(t)
        if opt(op, flag, False) and len(s) >= 2:
            perm = (*range(len(s) - 2), len(s) - 1, len(s) - 2)
            t2 = e.temp(f"{tag}_T", (*s[:-2], s[-1], s[-2]), e.info(t).dtype)
            e.node("permute", [name], [t2], {"perm": perm}, suffix=f":{tag}_T")
            name = t2
        names.append(name)
    e.node("matmul", names, [e.output(op.outputs[0])])


# --- elementwise ---------------------------------------------------------------
BINARY = {"ADD": "add", "SUB": "sub", "MUL": "mul", "DIV": "div", "MAXIMUM": "maximum", "MINIMUM": "minimum",
          "POW": "pow", "FLOOR_DIV": "div", "FLOOR_MOD": "mod"}  # fmt: skip
COMPARE = {
    "LESS": "lt",
    "LESS_EQUAL": "le",
    "GREATER": "gt",
    "GREATER_EQUAL": "ge",
    "EQUAL": "eq",
    "NOT_EQUAL": "ne",
}
LOGICAL = {"LOGICAL_AND": "and", "LOGICAL_OR": "or", "LOGICAL_NOT": "not"}
UNARY = {"ABS": "abs", "EXP": "exp", "LOG": "log", "SQRT": "sqrt", "RSQRT": "rsqrt", "NEG": "neg",
         "SQUARE": "square", "SIN": "sin", "COS": "cos", "FLOOR": "floor", "CEIL": "ceil", "ROUND": "round",
         "SIGN": "sign", "CAST": "cast", "QUANTIZE": "cast", "DEQUANTIZE": "cast"}  # fmt: skip
ACTIVATIONS = {"RELU": "relu", "RELU6": "relu6", "RELU_N1_TO_1": "hardtanh", "LOGISTIC": "sigmoid", "TANH": "tanh",
               "HARD_SWISH": "hardswish", "LEAKY_RELU": "leaky_relu", "ELU": "elu", "GELU": "gelu",
               "PRELU": "leaky_relu"}  # fmt: skip


@handles(*BINARY)
def binary(e: Emitter, op: OpInfo) -> None:
    ins = [e.operand(t, operand_role(e, t)) for t in op.inputs[:2]]
    e.with_activation(BINARY[op.name], ins, {}, opt(op, "FusedActivationFunction"))


def operand_role(e: Emitter, t: int) -> str:
    """A stored operand of arithmetic or concatenation is a weight (a folded BN scale); a scalar
    (an epsilon) or a short int32/int64 vector (shape arithmetic: Flatten as SHAPE..PACK) is a constant."""
    ti = e.info(t)
    return "config" if ti.numel == 1 or unknown_role(e, t) == "config" else "weight"


@handles("SQUARED_DIFFERENCE")
def squared_difference(e: Emitter, op: OpInfo) -> None:
    ins = [e.operand(t, "weight") for t in op.inputs[:2]]
    ti = e.info(op.outputs[0])
    diff = e.temp("diff", ti.shape, ti.dtype)
    e.node("sub", ins, [diff])
    e.node("square", [diff], [e.output(op.outputs[0])], suffix=":square")


@handles(*COMPARE, *LOGICAL)
def compare(e: Emitter, op: OpInfo) -> None:
    kind, name = (
        (COMPARE[op.name], "compare") if op.name in COMPARE else (LOGICAL[op.name], "logical")
    )
    e.node(
        name, [e.operand(t, "weight") for t in op.inputs], [e.output(op.outputs[0])], {"kind": kind}
    )


@handles(*UNARY)
def unary(e: Emitter, op: OpInfo) -> None:
    x = op.inputs[0]
    if op.name == "DEQUANTIZE" and e.is_const(
        x
    ):  # a weight stored at int8/float16, widened at load
        e.aliases[op.outputs[0]] = x  # its readers get the stored weight (declared in their role)
        return
    e.node(UNARY[op.name], [e.operand(x)], [e.output(op.outputs[0])])


@handles(*ACTIVATIONS)
def activation(e: Emitter, op: OpInfo) -> None:
    ins = [e.operand(op.inputs[0])] + [
        e.operand(t, "weight") for t in op.inputs[1:] if t >= 0
    ]  # PRELU's alpha
    attrs = (
        {"approximate": "tanh" if opt(op, "Approximate", False) else "none"}
        if op.name == "GELU"
        else {}
    )
    e.node(ACTIVATIONS[op.name], ins, [e.output(op.outputs[0])], attrs)


@handles("SOFTMAX", "LOG_SOFTMAX")
def softmax(e: Emitter, op: OpInfo) -> None:
    rank = len(e.shape(op.inputs[0]))
    kind = "softmax" if op.name == "SOFTMAX" else "log_softmax"
    e.node(kind, [e.operand(op.inputs[0])], [e.output(op.outputs[0])], {"axis": rank - 1})


# --- pooling and reductions -----------------------------------------------------
@handles("AVERAGE_POOL_2D", "MAX_POOL_2D")
def pool(e: Emitter, op: OpInfo) -> None:
    xs = e.shape(op.inputs[0])
    if len(xs) != 4:
        return unknown(e, op)
    k = (opt(op, "FilterHeight", 1), opt(op, "FilterWidth", 1))
    s = (opt(op, "StrideH", 1), opt(op, "StrideW", 1))
    attrs = {"kernel_size": k, "stride": s, "padding": _padding(op, xs[1:3], k, s, (1, 1)), "dilation": (1, 1),
             "channel_axis": 3}  # fmt: skip
    kind = "avg_pool" if op.name == "AVERAGE_POOL_2D" else "max_pool"
    e.with_activation(kind, [e.operand(op.inputs[0])], attrs, opt(op, "FusedActivationFunction"))


REDUCE = {"MEAN": "reduce_mean", "SUM": "reduce_sum", "REDUCE_MAX": "reduce_max", "REDUCE_MIN": "reduce_min",
          "REDUCE_PROD": "reduce_prod", "ARG_MAX": "argmax", "ARG_MIN": "argmin"}  # fmt: skip


@handles(*REDUCE)
def reduce(e: Emitter, op: OpInfo) -> None:
    x, ax = op.inputs[:2]
    rank = len(e.shape(x))
    axes = tuple(sorted({a % rank for a in e.values(ax)})) if rank else ()
    keep = len(e.shape(op.outputs[0])) == rank
    attrs: dict[str, Any] = {"axes": axes, "keepdims": keep}
    e.operand(ax, "config")
    e.node(REDUCE[op.name], [e.operand(x)], [e.output(op.outputs[0])], attrs)


# --- anything else -------------------------------------------------------------------
def unknown(e: Emitter, op: OpInfo) -> None:
    """An op without a handler: shapes and stored weights kept, reported as unsupported."""
    if op.subgraphs:  # control flow: its operands are the loop's initial values, its weights inside
        ins = [e.operand(t, "config") for t in op.inputs if t >= 0]
        ins += [e.subgraph_weight(op, t) for t in op.subgraph_weights]
    else:
        ins = [e.operand(t, unknown_role(e, t)) for t in op.inputs if t >= 0]
    meta = {"subgraphs": list(op.subgraphs)} if op.subgraphs else None
    e.node("unknown", ins, [e.output(t) for t in op.outputs], meta=meta)


def unknown_role(e: Emitter, t: int) -> str:
    """Stored weights of an unsupported op stay parameters; a few int32/int64 values (an axis, a shape) configure it."""
    ti = e.info(t)
    return "config" if ti.dtype in ("int32", "int64") and ti.numel <= 16 else "weight"


# the other handler modules register into HANDLERS when imported
from analyzer.plugins.frontends.tflite import movement  # noqa: E402, F401
