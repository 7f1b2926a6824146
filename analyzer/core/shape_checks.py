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


_CHECKED = _BROADCAST_OPS | _SAME_SHAPE_OPS | {"reshape"}


def check_node_shapes(graph: Graph, node: Node) -> None:
    op, inputs, outputs = node.op, node.inputs, node.outputs
    if op not in _CHECKED or not inputs or not outputs:
        return
    tensors = graph.tensors  # outputs are always tensors; operands may be parameters

    def shape(name: str) -> tuple[int, ...]:
        t = tensors.get(name)
        return t.shape if t is not None else graph.shape(name)

    out = tensors[outputs[0]].shape
    if op in _SAME_SHAPE_OPS:
        first = shape(inputs[0])
        if first != out:
            raise GraphError(f"node {node.id!r} ({op}) maps shape {first} to {out}")
    elif op == "reshape":
        first = shape(inputs[0])
        if numel(first) != numel(out):
            raise GraphError(f"node {node.id!r} (reshape) changes the element count: {first} -> {out}")
    else:  # a broadcasting op
        ins = [shape(t) for t in inputs]
        if len(ins) == 2 and ins[0] == ins[1]:
            expected = ins[0]  # the common case, without the general rule
        else:
            try:
                expected = broadcast_shapes(*ins)
            except ValueError as e:
                raise GraphError(f"node {node.id!r} ({op}): {e}") from None
        if expected != out:
            raise GraphError(f"node {node.id!r} ({op}) outputs {out}, broadcast of inputs is {expected}")
