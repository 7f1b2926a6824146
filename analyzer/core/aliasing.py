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
    for node in graph.nodes():
        opdef = vocabulary.get(node.op)
        info = graph.info(node.id)
        source = info.act_inputs[0] if info.act_inputs else None
        alias = False
        if source is not None and opdef is not None:
            if opdef.category is Category.VIEW:
                alias = True
            elif opdef.category is Category.ACTIVATION:
                alias = len(graph.consumer_ids(source)) == 1 and source not in outputs
        for t in info.act_outputs:
            roots[t] = roots[source] if alias else t
    return roots
