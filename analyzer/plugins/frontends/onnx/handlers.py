"""Handlers of the ONNX ops without weights: arithmetic, activations, views, movement, reductions."""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.plugins.frontends.onnx.convert import Converter


def _ints(v: Any) -> list[int]:
    return [int(x) for x in np.asarray(v).reshape(-1)]


def _axis(c: Converter, a: dict[str, Any], name: str, rank: int, default: int = 0) -> int:
    return int(a.get(name, default)) % max(rank, 1)


def simple(op: str, n_inputs: int | None = None, **fixed: Any):
    """One canonical op on the node's data operands (the first ``n_inputs`` if given)."""

    def handler(c: Converter, a: dict[str, Any]) -> None:
        names = [t for t in c.node.input if t]
        if n_inputs is not None:
            names = names[:n_inputs]
        c.emit(op, [c.operand(t) for t in names], dict(fixed), outputs=list(c.node.output[:1]))

    return handler


def mapped(op: str):
    """A plugin's mapping onto canonical ``op``: every data operand, every named output."""

    def handler(c: Converter, a: dict[str, Any]) -> None:
        c.emit(op, [c.operand(t) for t in c.node.input if t])

    return handler


def activation(op: str, **fixed: Any):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        attrs = dict(fixed)
        if op == "gelu":
            approx = a.get("approximate", b"none")
            attrs["approximate"] = approx.decode() if isinstance(approx, bytes) else str(approx)
        c.emit(op, [c.operand(c.input(0))], attrs, outputs=list(c.node.output[:1]))

    return handler


def prelu(c: Converter, a: dict[str, Any]) -> None:
    c.emit("leaky_relu", [c.operand(c.input(0)), c.operand(c.input(1), "weight")])


def clip(c: Converter, a: dict[str, Any]) -> None:
    """``Clip(0, 6)`` is ReLU6, ``Clip(-1, 1)`` hardtanh, ``Clip(0, inf)`` ReLU; else clamp."""
    lo_name, hi_name = c.input(1), c.input(2)
    lo = a.get("min") if c.opset < 11 else (c.value(lo_name) if lo_name else None)
    hi = a.get("max") if c.opset < 11 else (c.value(hi_name) if hi_name else None)
    known = (lo_name == "" or lo is not None) and (hi_name == "" or hi is not None)
    bounds = (None if lo is None else float(np.asarray(lo).reshape(-1)[0]),
              None if hi is None else float(np.asarray(hi).reshape(-1)[0]))  # fmt: skip
    op = (
        {(0.0, 6.0): "relu6", (-1.0, 1.0): "hardtanh", (0.0, None): "relu"}.get(bounds)
        if known
        else None
    )
    x = c.operand(c.input(0))
    if op is not None:
        c.emit(op, [x])
    else:
        c.emit("clamp", [x] + [c.operand(t) for t in (lo_name, hi_name) if t])


def compare(kind: str):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        c.emit("compare", [c.operand(t) for t in c.node.input[:2]], {"kind": kind})

    return handler


def logical(kind: str):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        c.emit("logical", [c.operand(t) for t in c.node.input if t], {"kind": kind})

    return handler


def variadic(op: str):
    """Min/Max/Sum/Mean of several operands: a chain of binary ops (Mean adds a division)."""

    def handler(c: Converter, a: dict[str, Any]) -> None:
        names = [c.operand(t) for t in c.node.input if t]
        if len(names) == 1:
            c.emit("identity", names)
            return
        out = c.node.output[0]
        acc = names[0]
        last = len(names) - 1 if op != "mean" else len(names)
        for i, t in enumerate(names[1:], 1):
            step_out = out if i == last else f"{out}::{i}"
            c.facts.shapes.setdefault(step_out, c.shape(out))
            acc = c.emit(
                {"mean": "add"}.get(op, op), [acc, t], outputs=[step_out], suffix=f"/{i}"
            ).outputs[0]
        if op == "mean":
            c.emit(
                "div", [acc, c.constant_scalar(float(len(names)))], outputs=[out], suffix="/mean"
            )

    return handler


def view(op: str = "reshape"):
    """Reshape/Flatten/Squeeze/Unsqueeze/Identity/Dropout: a view of the first input."""

    def handler(c: Converter, a: dict[str, Any]) -> None:
        c.emit(op, [c.operand(c.input(0))], outputs=list(c.node.output[:1]))

    return handler


def transpose(c: Converter, a: dict[str, Any]) -> None:
    x = c.input(0)
    perm = tuple(int(p) for p in a.get("perm", reversed(range(len(c.shape(x))))))
    c.emit("permute", [c.operand(x)], {"perm": perm})


def concat(c: Converter, a: dict[str, Any]) -> None:
    rank = len(c.shape(c.node.output[0]))
    c.emit("concat", [c.operand(t) for t in c.node.input if t], {"axis": _axis(c, a, "axis", rank)})


def split(c: Converter, a: dict[str, Any]) -> None:
    c.emit(
        "split", [c.operand(c.input(0))], {"axis": _axis(c, a, "axis", len(c.shape(c.input(0))))}
    )


def gather(c: Converter, a: dict[str, Any]) -> None:
    data, idx = c.input(0), c.input(1)
    rank = len(c.shape(data))
    axis = _axis(c, a, "axis", rank)
    if c.is_weight(data) and rank == 2 and axis == 0:  # a lookup: the whole table is the weight
        index = idx if c.is_act(idx) else c.constant(idx)  # position ids may be a constant
        c.emit("embedding", [index, c.param(data, "embedding")], dtype=c.dtype(data))
        return
    index = c.value(idx)
    if index is not None and index.ndim == 0 and c.is_act(data):  # x[:, 0]: a select, a view
        c.emit("slice", [data])
        return
    ins = [c.operand(data)] + ([c.operand(idx)] if c.is_act(idx) else [])
    c.emit("gather", ins, {"axis": axis})


def gather_other(c: Converter, a: dict[str, Any]) -> None:
    """GatherElements / GatherND / ScatterND...: data-movement ops on their data operands."""
    op = "scatter" if c.node.op_type.startswith("Scatter") else "gather"
    ins = [
        c.operand(t)
        for t in c.node.input
        if t and not (c.value(t) is not None and not c.is_act(t) and op == "gather")
    ]
    c.emit(op, ins or [c.operand(c.input(0))])


def pad(c: Converter, a: dict[str, Any]) -> None:
    x = c.input(0)
    rank = len(c.shape(x))
    raw = a.get("pads") if c.opset < 11 else c.value(c.input(1))
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    attrs: dict[str, Any] = {"mode": mode}
    axes = c.value(c.input(3)) if c.opset >= 18 and c.input(3) else None
    if raw is not None:
        p = _ints(raw)
        axes_l = [ax % rank for ax in _ints(axes)] if axes is not None else list(range(rank))
        n = len(axes_l)
        pairs = [(0, 0)] * rank
        for i, ax in enumerate(axes_l):
            pairs[ax] = (p[i], p[i + n])
        attrs["pads"] = tuple(pairs)
    c.emit("pad", [c.operand(x)], attrs)


def resize(c: Converter, a: dict[str, Any]) -> None:
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    x = c.input(0)
    c.emit("resize", [c.operand(x)], {"mode": mode if mode in ("nearest", "linear", "cubic") else "nearest",
                                      "spatial_dims": max(len(c.shape(x)) - 2, 0)})  # fmt: skip


def reduction(op: str):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        x = c.input(0)
        rank = len(c.shape(x))
        axes = a.get("axes")
        if axes is None and c.input(1):
            axes = c.value(c.input(1))
        attrs: dict[str, Any] = {"keepdims": bool(a.get("keepdims", 1))}
        if axes is not None and len(_ints(axes)):
            attrs["axes"] = tuple(sorted(ax % rank for ax in _ints(axes)))
        elif not a.get("noop_with_empty_axes", 0):
            attrs["axes"] = tuple(range(rank))
        c.emit(op, [c.operand(x)], attrs)

    return handler


def arg_reduction(op: str):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        x = c.input(0)
        rank = len(c.shape(x))
        c.emit(
            op,
            [c.operand(x)],
            {"axes": (_axis(c, a, "axis", rank),), "keepdims": bool(a.get("keepdims", 1))},
        )

    return handler


def softmax(op: str):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        x = c.input(0)
        rank = len(c.shape(x))
        default = -1 if c.opset >= 13 else 1
        c.emit(op, [c.operand(x)], {"axis": _axis(c, a, "axis", rank, default)})

    return handler


def einsum(c: Converter, a: dict[str, Any]) -> None:
    eq = a["equation"]
    eq = (eq.decode() if isinstance(eq, bytes) else str(eq)).replace(" ", "")
    if "..." in eq:
        unknown(c, a, "einsum with an ellipsis")
        return
    if "->" not in eq:  # implicit output: the letters seen once, in alphabetical order
        letters = eq.replace(",", "")
        eq = f"{eq}->{''.join(sorted(ch for ch in set(letters) if letters.count(ch) == 1))}"
    c.emit("einsum", [c.operand(t) for t in c.node.input], {"equation": eq})


def cumsum(c: Converter, a: dict[str, Any]) -> None:
    x = c.input(0)
    axis = c.value(c.input(1))
    attrs = {"axis": _ints(axis)[0] % len(c.shape(x))} if axis is not None else {}
    c.emit("cumsum", [c.operand(x)], attrs)


def constant_op(c: Converter, a: dict[str, Any]) -> None:
    """ConstantOfShape, Range, EyeLike, Random* too large to fold: create a tensor."""
    c.emit("constant", [], outputs=list(c.node.output[:1]))


def top_k(c: Converter, a: dict[str, Any]) -> None:
    c.emit(
        "sort", [c.operand(c.input(0))], {"axis": _axis(c, a, "axis", len(c.shape(c.input(0))), -1)}
    )


def control_flow(c: Converter, a: dict[str, Any]) -> None:
    """If/Loop/Scan: their subgraphs are not entered; the node is unknown, its work hidden, not guessed."""
    unknown(c, a, f"ONNX control flow {c.node.op_type!r}: its subgraphs are not entered")


def unknown(c: Converter, a: dict[str, Any], why: str = "") -> None:
    """An op the table does not map: an ``unknown`` node with its operands and inferred shapes."""
    ins = [c.operand(t) for t in c.node.input if t]
    node = c.emit("unknown", ins)
    if node is None:
        return
    reason = why or (f"ONNX op {c.node.op_type!r} of domain {c.node.domain!r} is not mapped"
                     if c.node.domain not in ("", "ai.onnx") else f"ONNX op {c.node.op_type!r} is not mapped")  # fmt: skip
    node.meta["uncounted"] = reason
