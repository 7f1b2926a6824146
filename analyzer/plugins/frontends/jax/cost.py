"""FLOPs of a few staged nodes, to pick the most expensive branch of a ``cond``.

Uses the default plugin set's formula tables, as a report would; roles are
not decided yet, so bias additions are left out of the comparison.
"""

from __future__ import annotations

from analyzer.core.formulas import OpView
from analyzer.core.graph import Graph
from analyzer.core.ir import Node, Param
from analyzer.core.options import AnalysisOptions

from .staging import Staged


def nodes_flops(nodes: list[Node], staged: Staged) -> int:
    from analyzer.core.plugins import default_plugins

    ps = default_plugins()
    g = Graph("branch")
    produced = {t for n in nodes for t in n.outputs}
    for n in nodes:
        for t in n.inputs:
            if t in produced or t in g.tensors or t in g.params:
                continue
            p = staged.params.get(t)
            if p is not None:
                g.add_param(Param(p.name, p.shape, p.dtype))
            else:
                g.add_tensor(staged.tensors[t])
    options = AnalysisOptions()
    total = 0
    for n in nodes:
        for t in n.outputs:
            g.add_tensor(staged.tensors[t])
        g.add_node(n)
        opdef = ps.vocabulary.get(n.op)
        if opdef is None or not ps.formulas.supports(opdef):
            continue
        view = OpView(n, g, options)
        f = ps.formulas
        total += (2 * f.count("macs", opdef, view) + f.count("flops", opdef, view)) * n.repeat
    return total
