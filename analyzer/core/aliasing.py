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

from typing import TYPE_CHECKING

from analyzer.core.ops import Category, OpVocabulary

if TYPE_CHECKING:
    from analyzer.core.graph import Graph


def storage_roots(graph: Graph, vocabulary: OpVocabulary) -> dict[str, str]:
    """Map every activation tensor to the tensor that owns its storage."""
    roots: dict[str, str] = {t: t for t in graph.inputs}
    outputs = set(graph.outputs)
    category = vocabulary.categories
    infos, consumers = graph.infos(), graph.consumer_ids
    position = {nid: i for i, nid in enumerate(infos)}
    # per storage: the last position any of its names is read at, and whether one is an output
    last_read: dict[str, int] = {}
    is_output: set[str] = set()

    def alias(t: str, root: str) -> None:
        roots[t] = root
        readers = consumers(t)
        if readers:
            last = position[readers[0]] if len(readers) == 1 else max(position[r] for r in readers)
            if last > last_read.get(root, -1):
                last_read[root] = last
        if t in outputs:
            is_output.add(root)

    for t in graph.inputs:
        alias(t, t)
    VIEW, ACTIVATION = Category.VIEW, Category.ACTIVATION
    for i, (nid, info) in enumerate(infos.items()):
        acts = info.act_inputs
        cat = category.get(graph.node(nid).op) if acts else None
        if cat is ACTIVATION:
            root = roots[acts[0]]
            in_place = (
                len(consumers(acts[0])) == 1
                and root not in is_output
                and last_read.get(root, -1) <= i
            )
            cat = VIEW if in_place else None
        if cat is VIEW:
            root = roots[acts[0]]
            for t in info.act_outputs:
                alias(t, root)
        else:
            for t in info.act_outputs:
                alias(t, t)
    return roots
