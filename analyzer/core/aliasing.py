"""Which tensors share storage: the basis of every activation-memory number.

Convention (docs/metrics.md): a view (reshape, permute, slice, split,
identity...) aliases its first input; an elementwise activation (ReLU...)
runs in place, aliasing its input, when it is the only reader of that input
and the input is not a graph output. Every other op creates new storage.
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
    category = {d.name: d.category for d in vocabulary}  # by op name: Enum hashing is slow
    infos, consumers = graph.infos(), graph.consumer_ids
    VIEW, ACTIVATION = Category.VIEW, Category.ACTIVATION
    for node in graph.nodes():
        info = infos[node.id]
        acts = info.act_inputs
        cat = category.get(node.op) if acts else None
        if cat is VIEW or (cat is ACTIVATION and len(consumers(acts[0])) == 1 and acts[0] not in outputs):
            root = roots[acts[0]]
            for t in info.act_outputs:
                roots[t] = root
        else:
            for t in info.act_outputs:
                roots[t] = t
    return roots
