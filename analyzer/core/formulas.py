"""Per-op formula tables (torch.utils.flop_counter style).

A formula is a small function of an ``OpView`` (shapes, attrs, params of one
node) returning a count for one execution of that node. Formulas live in
named tables keyed by canonical op:

- ``macs``: multiply-accumulates of contraction ops;
- ``dots``: how many dot products those MACs form (for exact ``2n-1`` FLOPs);
- ``bias``: additions of a bias to contraction results (counted with the
  contraction FLOPs, so a linear layer with bias is ``2ij`` FLOPs);
- ``flops``: FLOPs that are not multiply-accumulates (activations, norms,
  softmax, pooling, elementwise arithmetic; attention's softmax and scale).

Ops of categories that do no arithmetic (views, data movement, constants)
count zero without a formula; non-contraction ops count zero MACs. Any
other op without a formula is *unsupported* and is reported, never counted
as zero silently. Registering the same (table, op) twice is refused.

A formula marked with ``@signature_formula`` declares that its count is a
function of the node's signature alone: its op, attrs, the shapes of its
operands and results, the roles of its parameter operands and the analysis
options (what ``OpView`` offers, but not names, scopes, dtypes or other
nodes). The compute metric evaluates such formulas once per distinct
signature instead of once per node (a model repeats its blocks: a
million-node graph has a few hundred signatures). Unmarked formulas (a
plugin's, by default) run on every node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from analyzer.core.errors import AnalysisError
from analyzer.core.ir import Node, Param, Shape
from analyzer.core.ops import Category, OpDef

if TYPE_CHECKING:
    from analyzer.core.graph import Graph
    from analyzer.core.options import AnalysisOptions

TABLES = ("macs", "dots", "bias", "flops")
_NO_ARITHMETIC = (Category.VIEW, Category.MOVEMENT, Category.CONSTANT)


class OpView:
    """What a formula sees of one node: operand and result shapes, attrs, params."""

    __slots__ = ("node", "graph", "options")

    def __init__(self, node: Node, graph: Graph, options: AnalysisOptions):
        self.node = node
        self.graph = graph
        self.options = options

    @property
    def op(self) -> str:
        return self.node.op

    @property
    def attrs(self) -> dict:
        return self.node.attrs

    def in_shape(self, i: int = 0) -> Shape:
        return self.graph.spec(self.node.inputs[i]).shape

    def out_shape(self, i: int = 0) -> Shape:
        return self.graph.tensors[self.node.outputs[i]].shape

    def in_numel(self, i: int = 0) -> int:
        return self.graph.spec(self.node.inputs[i]).numel

    def out_numel(self, i: int = 0) -> int:
        return self.graph.tensors[self.node.outputs[i]].numel

    @property
    def n_inputs(self) -> int:
        return len(self.node.inputs)

    def param(self, role: str) -> Param | None:
        """The first parameter operand with ``role`` (``"bias"``...), or None."""
        for p in self.graph.info(self.node.id).params:
            if p.role == role:
                return p
        return None

    @property
    def has_bias(self) -> bool:
        """True when a bias operand exists and the analysis counts biases."""
        return self.options.bias and self.param("bias") is not None


Formula = Callable[[OpView], int]
F = TypeVar("F", bound=Formula)


def signature_formula(fn: F) -> F:
    """Mark ``fn`` as a function of the node's signature alone (see the module docstring)."""
    fn.signature_only = True  # type: ignore[attr-defined]
    return fn


def is_signature_formula(fn: Formula | None) -> bool:
    """True for None (nothing to evaluate) and for formulas marked ``@signature_formula``."""
    return fn is None or getattr(fn, "signature_only", False) is True


class FormulaTables:
    """The formula tables of one plugin set."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, Formula]] = {t: {} for t in TABLES}

    def register(self, table: str, ops: str | Iterable[str], fn: Formula) -> None:
        """Add ``fn`` as the ``table`` formula of each op in ``ops``."""
        if table not in self._tables:
            raise ValueError(f"unknown formula table {table!r}; tables: {', '.join(TABLES)}")
        for op in [ops] if isinstance(ops, str) else ops:
            if op in self._tables[table]:
                raise ValueError(f"a {table!r} formula for op {op!r} is already registered")
            self._tables[table][op] = fn

    def get(self, table: str, op: str) -> Formula | None:
        return self._tables[table].get(op)

    def ops(self, table: str) -> set[str]:
        return set(self._tables[table])

    def supports(self, opdef: OpDef | None) -> bool:
        """Can MACs and FLOPs of this op be counted?"""
        if opdef is None or opdef.name == "unknown":
            return False
        if opdef.category is Category.CONTRACTION:
            return opdef.name in self._tables["macs"]
        return opdef.category in _NO_ARITHMETIC or opdef.name in self._tables["flops"]

    def count(self, table: str, opdef: OpDef, view: OpView) -> int:
        """Evaluate one table for one node (0 where the op's category does no such work).

        A formula that fails on a node (an attribute it cannot handle) is an
        AnalysisError naming the node, not a traceback.
        """
        fn = self._tables[table].get(opdef.name)
        if fn is None:
            return 0
        try:
            return int(fn(view))
        except Exception as e:
            raise formula_error(view.node, e, table) from e


def formula_error(node: Node, exc: Exception, table: str = "") -> AnalysisError:
    """The one-line error for a formula that cannot handle ``node``'s attributes."""
    what = f"{table} formula" if table else "formula"
    return AnalysisError(
        f"{what} of op {node.op!r} failed on node {node.id!r} ({node.source_op or node.op}): {type(exc).__name__}: {exc}"
    )
