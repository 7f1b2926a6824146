"""Cheap per-op shape consistency checks run by ``Graph.validate``.

They catch frontend bugs (a view that changes the element count, an
elementwise op whose output is not the broadcast of its inputs) before any
metric trusts the shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.core.errors import GraphError
from analyzer.core.ir import Node, numel
from analyzer.core.ops import Category, builtin_vocabulary
from analyzer.core.shapes import broadcast_shapes

if TYPE_CHECKING:
    from analyzer.core.graph import Graph

_BROADCAST_OPS = frozenset(
    {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "mod", "compare",
     "logical", "where", "fma", "clamp"}
)
# Activations (unary, in place) come from the vocabulary: a new built-in activation is checked
# without being listed here. Other one-operand ops keep the shape of their input too.
_SAME_SHAPE_OPS = builtin_vocabulary().names(Category.ACTIVATION) | frozenset(
    {"neg", "abs", "exp", "log", "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos", "erf",
     "sign", "floor", "ceil", "round", "cast", "softmax", "log_softmax", "batch_norm",
     "layer_norm", "group_norm", "instance_norm", "rms_norm", "identity"}
)


_SAME, _RESHAPE, _BROADCAST = 1, 2, 3
# op -> which check: the ops ``check_node_shapes`` checks (``Graph.validate`` calls it for these only)
CHECKED_OPS: dict[str, int] = {
    **dict.fromkeys(_BROADCAST_OPS, _BROADCAST), **dict.fromkeys(_SAME_SHAPE_OPS, _SAME), "reshape": _RESHAPE,
}  # fmt: skip


def check_node_shapes(graph: Graph, node: Node) -> None:
    kind = CHECKED_OPS.get(node.op)
    inputs, outputs = node.inputs, node.outputs
    if kind is None or not inputs or not outputs:
        return
    tensors = graph.tensors  # outputs are always tensors; operands may be parameters
    out = tensors[outputs[0]].shape
    t = tensors.get(inputs[0])
    first = t.shape if t is not None else graph.shape(inputs[0])
    if kind == _SAME:
        if first != out:
            raise GraphError(f"node {node.id!r} ({node.op}) maps shape {first} to {out}")
    elif kind == _RESHAPE:
        if numel(first) != numel(out):
            raise GraphError(f"node {node.id!r} (reshape) changes the element count: {first} -> {out}")
    else:  # a broadcasting op
        if len(inputs) == 2:
            t = tensors.get(inputs[1])
            ins = (first, t.shape if t is not None else graph.shape(inputs[1]))
        else:
            ins = (first, *[graph.shape(name) for name in inputs[1:]])
        if len(ins) == 2 and first == ins[1]:
            expected = first  # the common case, without the general rule
        else:
            try:
                expected = broadcast_shapes(*ins)
            except ValueError as e:
                raise GraphError(f"node {node.id!r} ({node.op}): {e}") from None
        if expected != out:
            raise GraphError(f"node {node.id!r} ({node.op}) outputs {out}, broadcast of inputs is {expected}")
