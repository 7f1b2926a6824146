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

from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzer.core.ops import UNKNOWN_RANK

if TYPE_CHECKING:
    from collections.abc import Mapping

    from analyzer.core.graph import Graph, NodeInfo
    from analyzer.core.ir import Node
    from analyzer.core.ops import OpVocabulary


@dataclass(slots=True)
class Layer:
    """One layer: its name, scope, node ids and boundary tensors (activation names), parameter
    names and principal op.

    The sequences are tuples, shared where equal ones already exist (a one-node layer's are
    mostly its node's own: ``Graph.infos()``): a million-node graph has a million layers.
    """

    name: str
    scope: str
    nodes: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    op: str = ""


def _principal_op(nodes: list[Node], ranks: Mapping[str, int]) -> str:
    """The op naming a layer: the first node of the lowest rank (``ops.CATEGORY_RANK``)."""
    return min((n.op for n in nodes), key=lambda op: ranks.get(op, UNKNOWN_RANK))


def group_layers(graph: Graph, vocabulary: OpVocabulary) -> list[Layer]:
    """The layers of ``graph`` in execution order, named and ranked with ``vocabulary``'s ops."""
    # Built for every analysed graph, a million nodes at scale, where each lookup in a big dict
    # is a cache miss: nodes and their infos are walked side by side (the same order), a layer
    # whose output the next node reads needs no lookup to know it is read, and names get their
    # "#k" in a second pass only if some name repeats.
    ranks = vocabulary.ranks
    infos = graph.infos()
    graph_outputs = set(graph.outputs)
    read = graph.read_tensors()  # activations and constants some node reads
    layers: list[Layer] = []
    add = layers.append

    def single(node: Node, info: NodeInfo, next_inputs: tuple[str, ...]) -> Layer:
        """A one-node layer (most of them): nothing it reads or writes can stay inside it."""
        acts, outs, ps, _ = info
        if len(acts) > 1 and (acts[0] == acts[1] if len(acts) == 2 else len(set(acts)) < len(acts)):
            acts = tuple(dict.fromkeys(acts))  # an operand read twice: listed once
        if len(outs) == 1:
            t = outs[0]
            if t not in next_inputs and t not in read and t not in graph_outputs:
                outs = ()
        else:
            outs = tuple([t for t in outs if t in read or t in graph_outputs])
        ins = node.inputs
        if not ps:
            names: tuple[str, ...] = ()
        elif len(ins) == len(ps) + 1 and len(acts) == 1 and ins[0] == acts[0]:
            names = ins[1:]  # (x, weight, bias...): the parameters' names in order
        else:
            names = tuple([p.name for p in ps])
        if len(names) > 1 and len(set(names)) < len(names):
            names = tuple(dict.fromkeys(names))
        nid, own = node.id, node.outputs  # (id,) when its output is named like it: shared
        ids = own if len(own) == 1 and own[0] == nid else (nid,)
        return Layer(node.scope or nid, node.scope, ids, acts, outs, names, node.op)

    def run(scope: str, nodes: list[Node]) -> Layer:
        """A layer of several nodes of one scope: tensors produced and read inside are fused."""
        ids = tuple([n.id for n in nodes])
        members = set(ids)
        produced: set[str] = set()
        params: dict[str, None] = {}
        inputs: dict[str, None] = {}
        outs: dict[str, None] = {}
        for nid in ids:
            acts, act_outs, ps, _ = infos[nid]
            for p in ps:
                params[p.name] = None
            for t in acts:
                if t not in produced:
                    inputs[t] = None
            for t in act_outs:
                produced.add(t)
                if t in graph_outputs or any(c not in members for c in graph.consumer_ids(t)):
                    outs[t] = None
        op = _principal_op(nodes, ranks)
        return Layer(scope, scope, ids, tuple(inputs), tuple(outs), tuple(params), op)

    first: Node | None = None  # the current run's first node
    first_info: NodeInfo | None = None
    rest: list[Node] | None = None  # and its others, if any
    last_scope = None
    for node, info in zip(graph.nodes(), infos.values(), strict=True):
        scope = node.scope
        if scope and scope == last_scope:
            if rest is None:
                rest = [first]  # type: ignore[list-item]
            rest.append(node)
            continue
        if first is not None:
            if rest is None:
                add(single(first, first_info, info.act_inputs))  # type: ignore[arg-type]
            else:
                add(run(last_scope, rest))  # type: ignore[arg-type]
        first, first_info, rest, last_scope = node, info, None, scope
    if first is not None:
        add(single(first, first_info, ()) if rest is None else run(last_scope, rest))  # type: ignore[arg-type]
    if len({layer.name for layer in layers}) < len(layers):
        _number_repeats(layers)
    return layers


def _number_repeats(layers: list[Layer]) -> None:
    """Rename the second, third... layer of one name ``name#1``, ``name#2``... (scopes that
    reappear after other layers ran; a scope and an unscoped node's id may coincide too)."""
    seen: dict[str, int] = {}
    for layer in layers:
        k = seen.get(layer.name, 0)
        seen[layer.name] = k + 1
        if k:
            layer.name = f"{layer.name}#{k}"
