"""TFLite views, data movement and tensor-making ops -> canonical ops (registered in ``HANDLERS``)."""

from __future__ import annotations

from analyzer.core.ir import numel
from analyzer.plugins.frontends.tflite.emit import Emitter
from analyzer.plugins.frontends.tflite.handlers import handles, operand_role, opt, unknown
from analyzer.plugins.frontends.tflite.reader import OpInfo


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
    axis = opt(op, "Axis", 0) % max(rank, 1)
    ins = [e.operand(t, operand_role(e, t)) for t in op.inputs]
    if op.name == "PACK":
        e.node("stack", ins, [e.output(op.outputs[0])], {"axis": axis})
    else:
        e.with_activation("concat", ins, {"axis": axis}, opt(op, "FusedActivationFunction"))


@handles("PAD", "PADV2", "MIRROR_PAD")
def pad(e: Emitter, op: OpInfo) -> None:
    x, p = op.inputs[:2]
    vals = e.values(p)
    pads = tuple((vals[2 * i], vals[2 * i + 1]) for i in range(len(vals) // 2))
    mode = (
        "constant"
        if op.name != "MIRROR_PAD"
        else ("reflect" if opt(op, "Mode", 0) == 0 else "symmetric")
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
    e.node("gather", ins, [e.output(op.outputs[0])], {"axis": opt(op, "Axis", 0) % max(rank, 1)})


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
    ins = [e.operand(t, operand_role(e, t)) for t in op.inputs[:3]]
    e.node("where", ins, [e.output(op.outputs[0])])


@handles("ADD_N")
def add_n(e: Emitter, op: OpInfo) -> None:
    e.node("add", [e.operand(t, operand_role(e, t)) for t in op.inputs], [e.output(op.outputs[0])])


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
