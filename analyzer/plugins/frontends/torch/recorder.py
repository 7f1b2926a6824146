"""Builds the IR from ATen calls, independent of how they were captured.

Both capture paths (a dispatch trace, torch.export) turn every tensor they
see into a ``V`` and hand each ATen call to the op table, whose handlers
call ``Recorder.emit``. The recorder keeps the torch-specific rules on top
of the core recorder (``analyzer.core.recorder``), which names and adds
everything (node ids ``scope``, ``scope/1``...):

- a ``V`` is an activation (graph input or op output), a parameter, or a
  constant (literals, creation ops, anything computed from weights and
  constants only: weight preprocessing is not an activation);
- views of parameters stay *lazy*: a ``linear`` fed ``weight.t()`` names the
  parameter itself (``Recorder.weight``); a view node is emitted only when
  an op needs the viewed tensor as an operand (``Recorder.use``).

Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from analyzer.core.graph import Graph
from analyzer.core.ir import Param, Shape
from analyzer.core.ops import BUILTIN_OPS, Category
from analyzer.core.recorder import Recorder as CoreRecorder

_VIEW_OPS = frozenset(d.name for d in BUILTIN_OPS if d.category is Category.VIEW)
ACT, PARAM, CONST = "act", "param", "const"


class V:
    """One tensor value: shape, dtype, what it is, and its IR name once it has one."""

    __slots__ = ("name", "shape", "dtype", "kind", "root", "pending")

    def __init__(
        self,
        shape: Shape,
        dtype: str,
        kind: str = ACT,
        name: str | None = None,
        root: str | None = None,
    ):
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.kind = kind
        self.root = root  # the parameter this value is (a view of)
        self.pending: _PendingView | None = None

    def __repr__(self) -> str:
        return f"V({self.name or '?'}, {self.shape}, {self.dtype}, {self.kind})"


@dataclasses.dataclass(slots=True)
class _PendingView:
    """A view of a parameter, emitted only if something reads it as an operand."""

    op: str
    src: V
    outs: list[V]
    attrs: dict[str, Any]
    scope: str
    source_op: str
    done: bool = False


class Recorder:
    """Accumulates nodes into a Graph; ``scope`` is set by the capture before each call."""

    def __init__(
        self, name: str, params: Sequence[Param] = (), fixed_roles: set[str] | None = None
    ):
        self.rec = CoreRecorder(name, "torch", sep="/")
        self.graph: Graph = self.rec.graph
        self.data_dependent: dict[str, int] = {}  # source op -> nodes whose size values set
        fixed = set(fixed_roles or ())  # roles the module type decided: uses do not change them
        for p in params:
            self.rec.add_param(p, fixed_role=p.name in fixed)

    @property
    def scope(self) -> str:
        return self.rec.scope

    @scope.setter
    def scope(self, value: str) -> None:
        self.rec.scope = value

    # --- values ---------------------------------------------------------------
    def input(self, name: str, shape: Shape, dtype: str) -> V:
        self.rec.input(name, shape, dtype)
        return V(shape, dtype, ACT, name)

    def param(self, name: str) -> V:
        p = self.graph.params[name]
        return V(p.shape, p.dtype, PARAM, name, root=name)

    def constant(self, shape: Shape, dtype: str, base: str = "constant") -> V:
        name = self.rec.constant(base, shape, dtype)
        return V(shape, dtype, CONST, name)

    def tmp(self, shape: Shape, dtype: str) -> V:
        """An intermediate value a handler creates (one ATen op -> several IR nodes)."""
        return V(tuple(shape), dtype)

    # --- operands -------------------------------------------------------------
    def use(self, v: V | str) -> str:
        """The IR name of ``v`` as an operand, emitting a pending parameter view if needed."""
        if isinstance(v, str):
            return v
        if v.name is None and v.pending is not None:
            self._materialize(v.pending)
        if v.name is None:
            raise RuntimeError(f"value {v!r} was never produced")
        return v.name

    def weight(self, v: V | None, role: str | None = None) -> V | str | None:
        """For a weight operand: the parameter's own name if ``v`` is one (or a view of one).

        ``role`` tells what the op uses it as; it becomes the parameter's role
        unless the module type already fixed one (first use wins).
        """
        if v is None:
            return None
        if v.kind == PARAM and v.root is not None:
            if role is not None:
                self.rec.hint_role(v.root, role)
            return v.root
        return v

    def is_param(self, v: Any) -> bool:
        return isinstance(v, V) and v.kind == PARAM and v.root is not None

    # --- nodes ----------------------------------------------------------------
    def emit(
        self, op: str, inputs: Sequence[V | str | None], outs: Sequence[V], attrs: dict[str, Any] | None = None,
        source_op: str = "", base: str | None = None, meta: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Add one node ``op(inputs) -> outs``; names ``outs``. ``None`` inputs are skipped.

        ``meta`` starts the node's meta dict (``{"data_dependent": True}``: its output size
        came from the values of this run's inputs).
        """
        if meta and meta.get("data_dependent"):
            self.data_dependent[source_op or op] = self.data_dependent.get(source_op or op, 0) + 1
        ins = [v for v in inputs if v is not None]
        acts = any(isinstance(v, V) and v.kind == ACT for v in ins) or self.rec.any_activation(
            [v for v in ins if isinstance(v, str)]
        )
        first = ins[0] if ins and isinstance(ins[0], V) else None
        alias = op == "identity" and not acts and first is not None and first.kind == CONST
        if alias and len(outs) == 1:  # detach() of a constant: the constant itself
            outs[0].name, outs[0].kind = self.use(first), CONST
            return
        if op in _VIEW_OPS and not acts and first is not None and first.kind == PARAM:
            pending = _PendingView(op, first, list(outs), dict(attrs or {}), self.scope, source_op)
            for o in outs:
                o.kind, o.root, o.pending = PARAM, first.root, pending
            return
        names = [self.use(v) for v in ins]
        self._add(op, names, outs, attrs or {}, self.scope, source_op, base, constant=not acts,
                  meta=meta)  # fmt: skip

    def _materialize(self, pv: _PendingView) -> None:
        if pv.done:
            return
        pv.done = True
        src = self.use(pv.src)
        for o in pv.outs:  # a materialized view of a weight is a constant, not an activation
            o.kind, o.root = CONST, None
        self._add(pv.op, [src], pv.outs, pv.attrs, pv.scope, pv.source_op, None, constant=True)

    def _add(self, op: str, names: list[str], outs: Sequence[V], attrs: dict[str, Any], scope: str,
             source_op: str, base: str | None, constant: bool, meta: dict[str, Any] | None = None,
             ) -> None:  # fmt: skip
        specs = [(o.shape, o.dtype) for o in outs]
        out_names = self.rec.node(op, names, specs, attrs, scope=scope, base=scope or base or op,
                                  source_op=source_op, meta=meta, constant=constant)  # fmt: skip
        for o, t in zip(outs, out_names, strict=True):
            o.name, o.kind = t, CONST if constant else ACT

    def finish(self, outputs: Sequence[V | str]) -> Graph:
        names = [self.use(v) for v in outputs]
        if self.data_dependent:
            self.rec.warn(data_dependent_warning(self.data_dependent))
        return self.rec.finish(names)


def data_dependent_warning(counts: dict[str, int]) -> str:
    """One line for the report: which ops had their output size set by values."""
    ops = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(counts.items()))
    n = sum(counts.values())
    return (f"{n} op{'s' if n > 1 else ''} with value-dependent output sizes ({ops}): sized by "
            "the example inputs' values, so the counts after them hold for these inputs")  # fmt: skip
