"""Constant folding of shape arithmetic: small integer tensors computed with numpy.

Exporters write ``x.view(x.size(0), -1)`` as ``Shape -> Gather -> Unsqueeze
-> Concat -> Reshape``: a chain of ops on constants and on the *shapes* of
activations. Those ops do no work in a deployed model (runtimes fold them)
and the analyzer needs their values to know the shapes they decide, so they
are evaluated here and leave no node in the IR.

Only a closed list of ops is evaluated, only on values of at most
``MAX_ELEMENTS`` elements, and an op whose output would be larger (a
``ConstantOfShape`` of a crafted size) is not folded: a file cannot make the
analyzer allocate. Nothing of the model is executed: these are numpy
one-liners over values the file states.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

MAX_ELEMENTS = 1 << 16

Array = np.ndarray
Fold = Callable[[Sequence[Any], dict[str, Any]], list[Array]]


def _ints(v: Any) -> list[int]:
    return [int(x) for x in np.asarray(v).reshape(-1)]


def _axes(ins: Sequence[Any], attrs: dict[str, Any], i: int = 1) -> list[int] | None:
    if len(ins) > i and ins[i] is not None:
        return _ints(ins[i])
    return list(attrs["axes"]) if "axes" in attrs else None


def _unsqueeze(ins, attrs):
    x = ins[0]
    axes = _axes(ins, attrs) or []
    rank = x.ndim + len(axes)
    for a in sorted(a % rank for a in axes):
        x = np.expand_dims(x, a)
    return [x]


def _squeeze(ins, attrs):
    axes = _axes(ins, attrs)
    return [np.squeeze(ins[0], axis=tuple(axes)) if axes is not None else np.squeeze(ins[0])]


def _slice(ins, attrs):
    x = ins[0]
    if len(ins) > 1:
        starts, ends = _ints(ins[1]), _ints(ins[2])
        axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    else:  # opset < 10: attributes
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes = list(attrs.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        index[a % x.ndim] = slice(s, e, st)
    return [x[tuple(index)]]


def _gather(ins, attrs):
    return [np.take(ins[0], np.asarray(ins[1]).astype(np.int64), axis=attrs.get("axis", 0))]


def _concat(ins, attrs):
    return [np.concatenate([np.asarray(x) for x in ins], axis=attrs.get("axis", 0))]


def _reshape(ins, attrs):
    x, shape = ins[0], _ints(ins[1])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


def _cast(ins, attrs):
    from onnx import helper

    return [ins[0].astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))]


def _range(ins, attrs):
    start, limit, delta = (np.asarray(v).item() for v in ins)
    if delta == 0 or abs((limit - start) / delta) > MAX_ELEMENTS:
        raise _TooLarge
    return [np.arange(start, limit, delta, dtype=np.asarray(ins[0]).dtype)]


def _constant_of_shape(ins, attrs):
    shape = _ints(ins[0])
    if math.prod(shape) > MAX_ELEMENTS:
        raise _TooLarge
    from onnx import numpy_helper

    value = (
        numpy_helper.to_array(attrs["value"]).reshape(-1)[0] if "value" in attrs else np.float32(0)
    )
    return [np.full(shape, value, dtype=np.asarray(value).dtype)]


def _expand(ins, attrs):
    shape = np.broadcast_shapes(ins[0].shape, tuple(_ints(ins[1])))
    if math.prod(shape) > MAX_ELEMENTS:
        raise _TooLarge
    return [np.broadcast_to(ins[0], shape).copy()]


def _tile(ins, attrs):
    reps = _ints(ins[1])
    if ins[0].size * math.prod(reps) > MAX_ELEMENTS:
        raise _TooLarge
    return [np.tile(ins[0], reps)]


def _reduce(fn: Callable[..., Array]) -> Fold:
    def fold(ins, attrs):
        axes = _axes(ins, attrs)
        keep = bool(attrs.get("keepdims", 1))
        return [fn(ins[0], axis=tuple(axes) if axes else None, keepdims=keep)]

    return fold


def _binary(fn: Callable[[Array, Array], Array]) -> Fold:
    def fold(ins, attrs):
        a, b = np.asarray(ins[0]), np.asarray(ins[1])
        return [np.asarray(fn(a, b)).astype(np.result_type(a, b) if fn is not _div else a.dtype)]

    return fold


def _div(a: Array, b: Array) -> Array:
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)  # ONNX integer Div truncates
    return a / b


def _trilu(ins, attrs):
    k = int(np.asarray(ins[1]).reshape(-1)[0]) if len(ins) > 1 and ins[1] is not None else 0
    return [np.triu(ins[0], k) if attrs.get("upper", 1) else np.tril(ins[0], k)]


FOLDS: dict[str, Fold] = {
    "Identity": lambda ins, attrs: [ins[0]],
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Slice": _slice, "Gather": _gather,
    "Concat": _concat, "Reshape": _reshape, "Cast": _cast, "Range": _range,
    "ConstantOfShape": _constant_of_shape, "Expand": _expand, "Tile": _tile,
    "Flatten": lambda ins, attrs: [ins[0].reshape(int(np.prod(ins[0].shape[: attrs.get("axis", 1)])), -1)],
    "Transpose": lambda ins, attrs: [np.transpose(ins[0], attrs.get("perm"))],
    "Add": _binary(np.add), "Sub": _binary(np.subtract), "Mul": _binary(np.multiply),
    "Div": _binary(_div), "Mod": _binary(np.mod), "Pow": _binary(np.power),
    "Min": lambda ins, attrs: [np.minimum.reduce([np.asarray(x) for x in ins])],
    "Max": lambda ins, attrs: [np.maximum.reduce([np.asarray(x) for x in ins])],
    "Equal": _binary(np.equal), "Less": _binary(np.less), "Greater": _binary(np.greater),
    "Where": lambda ins, attrs: [np.where(ins[0], ins[1], ins[2])], "Trilu": _trilu,
    "Not": lambda ins, attrs: [np.logical_not(ins[0])],
    "Neg": lambda ins, attrs: [np.negative(ins[0])], "Abs": lambda ins, attrs: [np.abs(ins[0])],
    "Sqrt": lambda ins, attrs: [np.sqrt(ins[0])], "Floor": lambda ins, attrs: [np.floor(ins[0])],
    "Ceil": lambda ins, attrs: [np.ceil(ins[0])], "Reciprocal": lambda ins, attrs: [1 / ins[0]],
    "ReduceProd": _reduce(np.prod), "ReduceSum": _reduce(np.sum),
    "ReduceMin": _reduce(np.min), "ReduceMax": _reduce(np.max),
}  # fmt: skip


class _TooLarge(Exception):
    """The folded value would exceed MAX_ELEMENTS: leave the op in the graph."""


def fold(op_type: str, inputs: Sequence[Any], attrs: dict[str, Any]) -> list[Array] | None:
    """The outputs of ``op_type`` on constant ``inputs`` (None: optional input absent), or None.

    None when the op is not foldable, an input is too large, the result
    would be, or numpy refuses the values (a malformed file: the op is then
    analysed as a node and the shape checks judge it).
    """
    fn = FOLDS.get(op_type)
    if fn is None or any(x is not None and np.asarray(x).size > MAX_ELEMENTS for x in inputs):
        return None
    try:
        with np.errstate(all="ignore"):
            outs = fn([None if x is None else np.asarray(x) for x in inputs], attrs)
    except (
        _TooLarge,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        ZeroDivisionError,
        OverflowError,
    ):
        return None
    if any(np.asarray(o).size > MAX_ELEMENTS for o in outs):
        return None
    return [np.asarray(o) for o in outs]
