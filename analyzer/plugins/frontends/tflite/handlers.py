"""TFLite builtin operators -> canonical ops, one small handler per family.

TFLite tensors are NHWC: convolutions and pools get ``channel_axis = 3``.
Padding SAME/VALID becomes explicit ``(lo, hi)`` pairs by TensorFlow's rule
(SAME pads ``max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0)``, the extra pixel
at the end). A fused activation is a separate in-place node in the op's
scope. Operators without a handler become ``unknown`` nodes (their stored
weights attached), so the report lists them as unsupported.
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


def _opt(op: OpInfo, getter: str, default: Any = 0) -> Any:
    return getattr(op.options, getter)() if op.options is not None else default


def same_padding(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _padding(op: OpInfo, spatial: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...],
             d: tuple[int, ...]) -> tuple[tuple[int, int], ...]:  # fmt: skip
    if _opt(op, "Padding") == 0:  # Padding.SAME
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
    s = (_opt(op, "StrideH", 1), _opt(op, "StrideW", 1))
    d = (_opt(op, "DilationHFactor", 1), _opt(op, "DilationWFactor", 1))
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
    e.with_activation("conv", ins, attrs, _opt(op, "FusedActivationFunction"))


@handles("TRANSPOSE_CONV")
def transpose_conv(e: Emitter, op: OpInfo) -> None:
    shape_t, w, x = op.inputs[:3]
    xs, ws, out = e.shape(x), e.shape(w), e.shape(op.outputs[0])
    if len(xs) != 4 or len(ws) != 4 or len(out) != 4:
        return unknown(e, op)
    k, s = (ws[1], ws[2]), (_opt(op, "StrideH", 1), _opt(op, "StrideW", 1))
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
    e.with_activation("conv", ins, attrs, _opt(op, "FusedActivationFunction"))


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
        e.with_activation(kind, ins, attrs, _opt(op, "FusedActivationFunction"))
        return
    tmp = e.temp("matmul", shape, e.info(out_t).dtype)
    fused = _opt(op, "FusedActivationFunction")
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
        if _opt(op, flag, False) and len(s) >= 2:
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
    ins = [e.operand(t, _operand_role(e, t)) for t in op.inputs[:2]]
    e.with_activation(BINARY[op.name], ins, {}, _opt(op, "FusedActivationFunction"))


def _operand_role(e: Emitter, t: int) -> str:
    """A stored operand of arithmetic is a weight (a folded BN scale), a scalar a constant (an epsilon)."""
    return "config" if e.info(t).numel == 1 else "weight"


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
        {"approximate": "tanh" if _opt(op, "Approximate", False) else "none"}
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
    k = (_opt(op, "FilterHeight", 1), _opt(op, "FilterWidth", 1))
    s = (_opt(op, "StrideH", 1), _opt(op, "StrideW", 1))
    attrs = {"kernel_size": k, "stride": s, "padding": _padding(op, xs[1:3], k, s, (1, 1)), "dilation": (1, 1),
             "channel_axis": 3}  # fmt: skip
    kind = "avg_pool" if op.name == "AVERAGE_POOL_2D" else "max_pool"
    e.with_activation(kind, [e.operand(op.inputs[0])], attrs, _opt(op, "FusedActivationFunction"))


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


# --- views and data movement ------------------------------------------------------
@handles("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def reshape(e: Emitter, op: OpInfo) -> None:
    for t in op.inputs[1:]:
        if t >= 0 and e.is_const(t):
            e.operand(t, "config")
    e.node("reshape", [e.operand(op.inputs[0])], [e.output(op.outputs[0])], meta={"inplace": True})


@handles("STRIDED_SLICE", "SLICE")
def slice_(e: Emitter, op: OpInfo) -> None:
    for t in op.inputs[1:]:
        e.operand(t, "config")
    e.node("slice", [e.operand(op.inputs[0])], [e.output(op.outputs[0])])


@handles("TRANSPOSE")
def transpose(e: Emitter, op: OpInfo) -> None:
    x, p = op.inputs[:2]
    perm = e.values(p)
    e.operand(p, "config")
    e.node("permute", [e.operand(x)], [e.output(op.outputs[0])], {"perm": tuple(perm)})


@handles("SPLIT", "SPLIT_V", "UNPACK")
def split(e: Emitter, op: OpInfo) -> None:
    data = {"SPLIT": 1, "SPLIT_V": 0, "UNPACK": 0}[op.name]
    for i, t in enumerate(op.inputs):
        if i != data:
            e.operand(t, "config")
    e.node("split", [e.operand(op.inputs[data])], [e.output(t) for t in op.outputs])


@handles("CONCATENATION", "PACK")
def concat(e: Emitter, op: OpInfo) -> None:
    rank = len(e.shape(op.outputs[0]))
    axis = _opt(op, "Axis", 0) % max(rank, 1)
    ins = [e.operand(t, "weight") for t in op.inputs]
    if op.name == "PACK":
        e.node("stack", ins, [e.output(op.outputs[0])], {"axis": axis})
    else:
        e.with_activation("concat", ins, {"axis": axis}, _opt(op, "FusedActivationFunction"))


@handles("PAD", "PADV2", "MIRROR_PAD")
def pad(e: Emitter, op: OpInfo) -> None:
    x, p = op.inputs[:2]
    vals = e.values(p)
    pads = tuple((vals[2 * i], vals[2 * i + 1]) for i in range(len(vals) // 2))
    mode = (
        "constant"
        if op.name != "MIRROR_PAD"
        else ("reflect" if _opt(op, "Mode", 0) == 0 else "symmetric")
    )
    e.operand(p, "config")
    for t in op.inputs[2:]:
        e.operand(t, "config")
    e.node("pad", [e.operand(x)], [e.output(op.outputs[0])], {"pads": pads, "mode": mode})


@handles("GATHER")
def gather(e: Emitter, op: OpInfo) -> None:
    x, idx = op.inputs[:2]
    rank = len(e.shape(x))
    ins = [e.operand(x, "weight"), e.operand(idx, "config")]
    e.node("gather", ins, [e.output(op.outputs[0])], {"axis": _opt(op, "Axis", 0) % max(rank, 1)})


@handles("EMBEDDING_LOOKUP")
def embedding(e: Emitter, op: OpInfo) -> None:
    ids, table = op.inputs[:2]
    e.node(
        "embedding",
        [e.operand(ids, "config"), e.operand(table, "embedding")],
        [e.output(op.outputs[0])],
    )


@handles("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")
def resize(e: Emitter, op: OpInfo) -> None:
    for t in op.inputs[1:]:
        e.operand(t, "config")
    mode = "linear" if op.name == "RESIZE_BILINEAR" else "nearest"
    e.node(
        "resize",
        [e.operand(op.inputs[0])],
        [e.output(op.outputs[0])],
        {"mode": mode, "spatial_dims": 2},
    )


@handles("TILE", "BROADCAST_TO", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH")
def movement(e: Emitter, op: OpInfo) -> None:
    kind = {
        "TILE": "tile",
        "BROADCAST_TO": "expand",
        "DEPTH_TO_SPACE": "copy",
        "SPACE_TO_DEPTH": "copy",
    }[op.name]
    for t in op.inputs[1:]:
        e.operand(t, "config")
    e.node(kind, [e.operand(op.inputs[0])], [e.output(op.outputs[0])])


@handles("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
def space_batch(e: Emitter, op: OpInfo) -> None:
    """A dilated convolution's rearrangement (TF1 files): a copy when it keeps the element count."""
    if numel(e.shape(op.inputs[0])) != numel(e.shape(op.outputs[0])):
        return unknown(e, op)  # it pads or crops: no canonical op says by how much
    movement(e, op)


@handles("REVERSE_V2")
def reverse(e: Emitter, op: OpInfo) -> None:
    x, ax = op.inputs[:2]
    rank = len(e.shape(x))
    axes = tuple(sorted({a % rank for a in e.values(ax)})) if rank else ()
    e.operand(ax, "config")
    e.node("flip", [e.operand(x)], [e.output(op.outputs[0])], {"axes": axes})


@handles("CUMSUM")
def cumsum(e: Emitter, op: OpInfo) -> None:
    x, ax = op.inputs[:2]
    rank = len(e.shape(x))
    axis = e.values(ax)[0] % rank if rank else 0
    e.operand(ax, "config")
    e.node("cumsum", [e.operand(x)], [e.output(op.outputs[0])], {"axis": axis})


@handles("SELECT", "SELECT_V2")
def select(e: Emitter, op: OpInfo) -> None:
    ins = [e.operand(t, _operand_role(e, t)) for t in op.inputs[:3]]
    e.node("where", ins, [e.output(op.outputs[0])])


@handles("ADD_N")
def add_n(e: Emitter, op: OpInfo) -> None:
    e.node("add", [e.operand(t, _operand_role(e, t)) for t in op.inputs], [e.output(op.outputs[0])])


@handles("TOPK_V2")
def topk(e: Emitter, op: OpInfo) -> None:
    e.operand(op.inputs[1], "config")
    e.node("sort", [e.operand(op.inputs[0])], [e.output(t) for t in op.outputs])


@handles("ONE_HOT")
def one_hot(e: Emitter, op: OpInfo) -> None:
    for t in op.inputs[1:]:
        e.operand(t, "config")
    e.node("one_hot", [e.operand(op.inputs[0], "config")], [e.output(op.outputs[0])])


@handles("SHAPE", "FILL", "ZEROS_LIKE", "ONES_LIKE", "RANGE")
def created(e: Emitter, op: OpInfo) -> None:
    """A tensor made from shapes or scalars, not from the values of an activation."""
    for t in op.inputs:
        if t >= 0:
            e.operand(t, "config")
    e.node("constant", [], [e.output(t) for t in op.outputs], {"kind": op.name.lower()})


# --- anything else -------------------------------------------------------------------
def unknown(e: Emitter, op: OpInfo) -> None:
    """An op without a handler: shapes and stored weights kept, reported as unsupported."""
    if op.subgraphs:  # control flow: its operands are the loop's initial values, its weights inside
        ins = [e.operand(t, "config") for t in op.inputs if t >= 0]
        ins += [e.subgraph_weight(op, t) for t in op.subgraph_weights]
    else:
        ins = [e.operand(t, _unknown_role(e, t)) for t in op.inputs if t >= 0]
    meta = {"subgraphs": list(op.subgraphs)} if op.subgraphs else None
    e.node("unknown", ins, [e.output(t) for t in op.outputs], meta=meta)


def _unknown_role(e: Emitter, t: int) -> str:
    """Stored weights of an unsupported op stay parameters; a few int32/int64 values (an axis, a shape) configure it."""
    ti = e.info(t)
    return "config" if ti.dtype in ("int32", "int64") and ti.numel <= 16 else "weight"


# --- plugin op mappings ------------------------------------------------------------------
def op_key(op: OpInfo) -> str:
    """How handler tables name an op: its builtin name, or ``CUSTOM:<code>`` for a custom op."""
    return op.name if op.name != "CUSTOM" else f"CUSTOM:{op.custom_code}"


def mapped(target: str) -> Handler:
    """A plugin's canonical op for a TFLite op: every operand (stored weights as parameters)."""

    def handler(e: Emitter, op: OpInfo) -> None:
        ins = [e.operand(t, _unknown_role(e, t)) for t in op.inputs if t >= 0]
        e.node(target, ins, [e.output(t) for t in op.outputs])

    return handler


def with_plugin_mappings(mappings: dict[str, Any]) -> dict[str, Handler]:
    """HANDLERS with the plugins' ``tflite`` op mappings first (hook ``analyzer_register_op_mappings``).

    ``source_op`` is a builtin name (``L2_POOL_2D``) or a custom op's code
    (``MyOp`` or ``CUSTOM:MyOp``); ``target`` a canonical op or a handler
    ``fn(emitter, op)`` (``analyzer.plugins.frontends.tflite.emit.Emitter``,
    ``reader.OpInfo``).
    """
    if not mappings:
        return HANDLERS
    from tflite.utils import BUILTIN_OPCODE2NAME

    from analyzer.core.op_mappings import refuse_clashes

    builtins = set(BUILTIN_OPCODE2NAME.values())
    keyed: dict[str, list[Any]] = {}
    for source_op, m in mappings.items():
        code = source_op.removeprefix("CUSTOM:")
        key = code if code in builtins and not source_op.startswith("CUSTOM:") else f"CUSTOM:{code}"
        keyed.setdefault(key, []).append(m)
    refuse_clashes("tflite", keyed)
    table = dict(HANDLERS)
    for key, (m,) in keyed.items():
        table[key] = m.target if callable(m.target) else mapped(m.target)
    return table
