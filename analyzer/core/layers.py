"""Layer grouping: ops belonging to one module call form one layer.

Convention (docs/ir.md): a layer is a maximal run of consecutive nodes (in
execution order) with the same non-empty ``scope``; a node without scope is
a layer of its own, named by its id. A scope that reappears after other
layers ran in between gets a ``#k`` suffix, so layers stay in execution
order and the layer graph is acyclic.

Activations are the tensors crossing layer boundaries: a layer's inputs are
activation tensors it reads but does not produce; its outputs are the
tensors it produces that are read outside it or are graph outputs.

Grouping is an analysis step, not a property of the IR: the engine calls
``group_layers(graph, plugins.vocabulary)`` after the canonical passes, and
a layer's ``op`` (the op that names it) is ranked by that vocabulary
(``OpVocabulary.rank``), so a plugin's contraction op beside an ``add``
makes a contraction layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analyzer.core.ops import UNKNOWN_RANK

if TYPE_CHECKING:
    from collections.abc import Mapping

    from analyzer.core.graph import Graph
    from analyzer.core.ir import Node
    from analyzer.core.ops import OpVocabulary


@dataclass(slots=True)
class Layer:
    name: str
    scope: str
    nodes: list[str]
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    op: str = ""


def _principal_op(nodes: list[Node], ranks: Mapping[str, int]) -> str:
    """The op naming a layer: the first node of the lowest rank (``ops.CATEGORY_RANK``)."""
    return min((n.op for n in nodes), key=lambda op: ranks.get(op, UNKNOWN_RANK))


def group_layers(graph: Graph, vocabulary: OpVocabulary) -> list[Layer]:
    """The layers of ``graph`` in execution order, named and ranked with ``vocabulary``'s ops."""
    ranks = vocabulary.ranks
    runs: list[tuple[str, list[Node]]] = []
    last_scope = None
    for node in graph.nodes():
        scope = node.scope
        if scope and scope == last_scope:
            runs[-1][1].append(node)
        else:
            runs.append((scope, [node]))
        last_scope = scope

    graph_outputs = set(graph.outputs)
    infos = graph.infos()
    consumers = graph.consumer_ids
    seen: dict[str, int] = {}
    layers: list[Layer] = []
    for scope, nodes in runs:
        base = scope or nodes[0].id
        k = seen.get(base, 0)
        seen[base] = k + 1
        name = f"{base}#{k}" if k else base
        if len(nodes) == 1:  # most layers: nothing it reads or writes can stay inside it
            node = nodes[0]
            info = infos[node.id]
            acts, ps = info.act_inputs, info.params
            outputs = [t for t in info.act_outputs if t in graph_outputs or consumers(t)]
            inputs = list(acts) if len(acts) < 2 else _unique(acts)  # one operand: nothing to dedupe
            names = [p.name for p in ps] if len(ps) < 2 else _unique([p.name for p in ps])
            layers.append(Layer(name, scope, [node.id], inputs, outputs, names, node.op))
            continue
        ids = [n.id for n in nodes]
        members = set(ids)
        produced: set[str] = set()
        params: dict[str, None] = {}
        inputs: dict[str, None] = {}
        outs: dict[str, None] = {}
        for nid in ids:
            info = infos[nid]
            for p in info.params:
                params[p.name] = None
            for t in info.act_inputs:
                if t not in produced:
                    inputs[t] = None
            for t in info.act_outputs:
                produced.add(t)
                if t in graph_outputs or any(c not in members for c in consumers(t)):
                    outs[t] = None
        op = _principal_op(nodes, ranks)
        layers.append(Layer(name, scope, ids, list(inputs), list(outs), list(params), op))
    return layers


def _unique(names: tuple[str, ...] | list[str]) -> list[str]:
    return list(dict.fromkeys(names))
