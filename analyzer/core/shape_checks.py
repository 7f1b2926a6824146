"""Cheap per-op shape consistency checks run by ``Graph.validate``.

They catch frontend bugs (a view that changes the element count, an
elementwise op whose output is not the broadcast of its inputs) before any
metric trusts the shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.core.ir import Node, numel
from analyzer.core.shapes import broadcast_shapes

if TYPE_CHECKING:
    from analyzer.core.graph import Graph

_BROADCAST_OPS = frozenset(
    {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "mod", "compare",
     "logical", "where", "fma", "clamp"}
)
_SAME_SHAPE_OPS = frozenset(
    {"relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "sigmoid", "tanh",
     "hardswish", "hardsigmoid", "softplus", "mish", "hardtanh", "neg", "abs", "exp",
     "log", "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos", "erf", "sign", "floor",
     "ceil", "round", "cast", "softmax", "log_softmax", "batch_norm", "layer_norm",
     "group_norm", "instance_norm", "rms_norm", "identity"}
)


_CHECKED = _BROADCAST_OPS | _SAME_SHAPE_OPS | {"reshape"}


def check_node_shapes(graph: Graph, node: Node) -> None:
    from analyzer.core.graph import GraphError

    if node.op not in _CHECKED or not node.inputs or not node.outputs:
        return
    outs = [graph.shape(t) for t in node.outputs]
    ins = [graph.shape(t) for t in node.inputs]
    if node.op == "reshape" and ins and outs and numel(ins[0]) != numel(outs[0]):
        raise GraphError(
            f"node {node.id!r} (reshape) changes the element count: {ins[0]} -> {outs[0]}"
        )
    if node.op in _SAME_SHAPE_OPS and ins and outs and ins[0] != outs[0]:
        raise GraphError(f"node {node.id!r} ({node.op}) maps shape {ins[0]} to {outs[0]}")
    if node.op in _BROADCAST_OPS and ins and outs:
        try:
            expected = broadcast_shapes(*ins)
        except ValueError as e:
            raise GraphError(f"node {node.id!r} ({node.op}): {e}") from None
        if expected != outs[0]:
            raise GraphError(
                f"node {node.id!r} ({node.op}) outputs {outs[0]}, broadcast of inputs is {expected}"
            )
