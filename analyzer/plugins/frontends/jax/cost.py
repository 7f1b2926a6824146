"""FLOPs of a few staged nodes, to pick the most expensive branch of a ``cond``.

Uses the formula tables of the plugin set the frontend is registered in
(``JaxFrontend.bind_plugins``), as that set's report would; a frontend used
outside any plugin set prices with the built-ins only. Never a global set.
Roles are not decided yet, so bias additions are left out of the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzer.core.formulas import OpView
from analyzer.core.graph import Graph
from analyzer.core.ir import Node, Param
from analyzer.core.options import AnalysisOptions

from .staging import Staged

if TYPE_CHECKING:
    from analyzer.core.formulas import FormulaTables
    from analyzer.core.ops import OpVocabulary


@dataclass(frozen=True, slots=True)
class Pricing:
    """The op vocabulary and formula tables that price a branch."""

    vocabulary: OpVocabulary
    formulas: FormulaTables

    @staticmethod
    def builtin() -> Pricing:
        """The built-in plugins' tables (a fresh set without entry points)."""
        from analyzer.core.plugins import load_plugins

        ps = load_plugins(entry_points=False)
        return Pricing(ps.vocabulary, ps.formulas)


def nodes_flops(nodes: list[Node], staged: Staged, ps: Pricing) -> int:
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
