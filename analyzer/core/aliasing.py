"""Which tensors share storage: the basis of every activation-memory number.

Convention (docs/metrics.md): a view (reshape, permute, slice, split,
identity...) aliases its first input; an elementwise activation (ReLU...)
runs in place, aliasing its input, when it is the only reader of that input
and the input is not a graph output. Every other op creates new storage.

The input's storage counts, not just the tensor: an activation reading a
view (``relu(dropout(x))``) may not run in place when the storage is still
read afterwards through another name (``x + relu(dropout(x))``) or is a
graph output, or the later reader would see the activation's result.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING

from analyzer.core.ops import Category, OpVocabulary

if TYPE_CHECKING:
    from analyzer.core.graph import Graph, NodeInfo


def storage_roots(graph: Graph, vocabulary: OpVocabulary) -> dict[str, str]:
    """Map every activation tensor to the tensor that owns its storage."""
    return with_aliases(graph, storage_aliases(graph, vocabulary))


def with_aliases(graph: Graph, aliases: dict[str, str]) -> dict[str, str]:
    """``storage_roots`` from ``storage_aliases``: every activation tensor (in the order the
    inputs and the nodes define them) to the tensor owning its storage."""
    infos = graph.infos()
    roots: dict[str, str] = {t: t for t in graph.inputs}
    roots.update(zip(_act_outputs(infos), _act_outputs(infos), strict=True))  # in bulk
    roots.update(aliases)
    return roots


def storage_aliases(graph: Graph, vocabulary: OpVocabulary) -> dict[str, str]:
    """The activation tensors that are names of another's storage (outputs of views and of
    in-place activations) -> the tensor owning it. Every other activation owns its storage: a
    pass over layers looks a tensor up here (``aliases.get(t, t)``), in a map of a few names
    rather than of every tensor."""
    infos = graph.infos()
    aliases: dict[str, str] = {}
    root_of = aliases.get
    VIEW, ACTIVATION = Category.VIEW, Category.ACTIVATION
    category = {op: c for op, c in vocabulary.categories.items() if c is VIEW or c is ACTIVATION}
    outputs = set(graph.outputs)
    consumers = graph.consumer_ids
    aliased: set[str] = set()  # storages that have other names (most have none)
    # Only needed for an activation reading a storage that has other names: each storage's other
    # names, the execution position of each node, and per such storage the last position any of
    # its names is read at (past the end for a graph output), kept up to date as names are added.
    names: dict[str, list[str]] = {}
    position: dict[str, int] = {}
    last_read: dict[str, int] = {}

    def last(t: str) -> int:
        if t in outputs:
            return len(position)
        return max((position[r] for r in consumers(t)), default=-1)

    for node, info in zip(graph.nodes(), infos.values(), strict=True):
        cat = category.get(node.op)
        if cat is None:
            continue  # most nodes: their outputs own their storage
        acts = info.act_inputs
        if not acts:
            continue
        a = acts[0]
        root = root_of(a, a)
        if cat is ACTIVATION:
            # in place: the only reader of its input (so that name is read no later), which is
            # not a graph output, nor is any other name of the storage (or read later)
            if len(consumers(a)) != 1 or root in outputs:
                continue
            if root in aliased:
                if not position:
                    position.update((nid, k) for k, nid in enumerate(infos))
                    for t, r in aliases.items():
                        names.setdefault(r, []).append(t)
                if root not in last_read:
                    last_read[root] = max(map(last, (root, *names[root])))
                if last_read[root] > position[node.id]:
                    continue
        new_names = info.act_outputs
        if new_names:
            for t in new_names:
                aliases[t] = root
            aliased.add(root)
            if position:  # the names are indexed: keep them (and a storage's last read) up to date
                names.setdefault(root, []).extend(new_names)
                if root in last_read:
                    last_read[root] = max(last_read[root], *map(last, new_names))
    return aliases


def _act_outputs(infos: dict[str, NodeInfo]) -> Iterator[str]:
    return chain.from_iterable(map(itemgetter(1), infos.values()))  # NodeInfo.act_outputs
