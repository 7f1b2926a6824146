"""MACs, FLOPs and OPs from the per-op formula tables.

Per node (times its ``repeat``): MACs from the ``macs`` table; contraction
FLOPs = 2 x MACs (minus one per dot product with ``exact_flops``) plus the
``bias`` table's additions; other FLOPs from the ``flops`` table. A node's
arithmetic counts as FLOPs when its operands are floating point (the first
operand for contractions, the first output otherwise) and as integer OPs
otherwise. Unsupported nodes count nothing here and are listed in the
report's ``unsupported`` section.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from analyzer.core import dtypes
from analyzer.core.formulas import Formula, OpView, formula_error, is_signature_formula
from analyzer.core.graph import Graph, NodeInfo
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Node
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.ops import Category
from analyzer.core.options import AnalysisOptions
from analyzer.plugins.metrics.columns import int_columns

FIELDS = ("macs", "flops", "mac_flops", "other_flops", "int_ops", "mac_int_ops", "ops")


def compute_dtype(graph: Graph, node: Node, category: Category) -> str:
    """The dtype the node computes in: its first operand's for contractions, else its first output's."""
    if category is Category.CONTRACTION and node.inputs:
        return graph.spec(node.inputs[0]).dtype
    if node.outputs:
        return graph.tensors[node.outputs[0]].dtype
    return "float32"


@dataclass(frozen=True, slots=True)
class _OpPlan:
    """How to count one op, looked up once per analysis (not once per node)."""

    category: Category
    macs: Formula | None
    bias: Formula | None
    dots: Formula | None
    flops: Formula | None
    by_signature: bool = False  # every formula is a ``@signature_formula``: evaluated once per signature

    @property
    def counts_nothing(self) -> bool:
        """Views, movement, constants: nothing to evaluate, every count 0."""
        return self.macs is None and self.flops is None


class _Plans(dict[str, "_OpPlan | None"]):
    """Per op name: its formulas, or None when the op is unsupported (looked up on first use)."""

    def __init__(self, ctx: MetricContext):
        super().__init__()
        self.formulas, self.vocabulary = ctx.formulas, ctx.vocabulary

    def __missing__(self, op: str) -> _OpPlan | None:
        f = self.formulas
        opdef = self.vocabulary.get(op)
        plan = None
        if f.supports(opdef):
            assert opdef is not None
            fns = [f.get(t, op) for t in ("macs", "bias", "dots", "flops")]
            plan = _OpPlan(opdef.category, *fns, all(map(is_signature_formula, fns)))  # type: ignore[arg-type]
        self[op] = plan
        return plan


_NOTHING, _ONE_BY_ONE, _SIGNATURE, _CONTRACTION = "nothing", "one by one", "signature", "contraction"


class _Ways(dict[str, str]):
    """Per op name, how the compute metric counts its nodes (looked up on first use):
    ``_NOTHING`` (every count 0), ``_ONE_BY_ONE`` (unsupported, or a formula that is not a
    ``@signature_formula``), ``_SIGNATURE`` or ``_CONTRACTION`` (once per signature)."""

    def __init__(self, plans: _Plans):
        super().__init__()
        self.plans = plans

    def __missing__(self, op: str) -> str:
        plan = self.plans[op]
        if plan is None or not plan.by_signature:
            way = _ONE_BY_ONE
        elif plan.counts_nothing:
            way = _NOTHING
        else:
            way = _CONTRACTION if plan.category is Category.CONTRACTION else _SIGNATURE
        self[op] = way
        return way


def node_counts(ctx: MetricContext, node: Node, plan: _OpPlan, repeat: int, dtype: str) -> dict[str, int]:
    """The counts of one node run ``repeat`` times under ``plan``, computing in ``dtype``.

    A formula that fails is an error naming the node.
    """
    return dict(zip(FIELDS, _counts(ctx.graph, ctx.options, node, plan, repeat, dtypes.is_float(dtype)), strict=True))


def _counts(graph: Graph, options: AnalysisOptions, node: Node, plan: _OpPlan, repeat: int, is_float: bool) -> tuple[int, ...]:
    """``node_counts``' values, in ``FIELDS`` order."""
    if plan.counts_nothing:
        return _ZEROS  # views, movement, constants: nothing to evaluate
    view = OpView(node, graph, options)
    r = repeat
    try:  # int(): a plugin's formula may return a float; counts are whole numbers (as FormulaTables.count)
        macs = int(plan.macs(view)) * r if plan.macs else 0
        mac_flops = 2 * macs
        if macs:
            mac_flops += int(plan.bias(view)) * r if plan.bias else 0
            if options.exact_flops and plan.dots:
                mac_flops -= int(plan.dots(view)) * r
        other = int(plan.flops(view)) * r if plan.flops else 0
    except Exception as e:
        raise formula_error(node, e) from e
    if is_float:
        return macs, mac_flops + other, mac_flops, other, 0, 0, mac_flops + other
    return macs, 0, 0, 0, mac_flops + other, mac_flops, mac_flops + other


_ZEROS = (0,) * len(FIELDS)


class ComputeMetric(Metric):
    name = "compute"
    quantities = (
        Quantity("macs", "MAC", "multiply-accumulates of contractions (padded taps included), x batch, x repeat",
                 label="MACs", group="compute"),  # fmt: skip
        Quantity("flops", "FLOP", "mac_flops + other_flops, floating-point operands only (a count, not a rate)",
                 label="FLOPs", group="compute"),  # fmt: skip
        Quantity("mac_flops", "FLOP",
                 "2 per MAC (2n-1 per length-n dot product with exact_flops) + 1 per bias addition", label="MAC FLOPs", display="total", group="compute"),  # fmt: skip
        Quantity("other_flops", "FLOP", "non-contraction FLOPs from the per-op table in docs/metrics.md",
                 label="other FLOPs", display="total", group="compute"),  # fmt: skip
        Quantity("int_ops", "OP", "the same counts for integer operands (quantized models)",
                 label="int OPs", display="total", group="compute"),  # fmt: skip
        Quantity("mac_int_ops", "OP", "contraction part of int_ops",
                 label="MAC int OPs", display="total", group="compute"),  # fmt: skip
        Quantity("ops", "OP", "flops + int_ops: every arithmetic operation, any dtype",
                 label="OPs", display="total", group="compute"),  # fmt: skip
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        g = ctx.graph
        node_rows = _NodeRows()
        count = _node_counter(ctx, node_rows)
        res = MetricResult()
        per_node: dict[str, dict[str, int]] = {}  # nodes with MACs (what traffic reads); others on demand
        per_layer: list[tuple[Any, ...]] = []  # each layer's FIELDS values, then its dtype
        add = per_layer.append
        node_of, infos = g.node, g.infos()
        # layers are runs of consecutive nodes in execution order (group_layers): walk both together,
        # looking a node up by id only where they disagree
        walk = zip(g.nodes(), infos.values(), strict=False)
        for layer in ctx.layers:
            ids = layer.nodes
            if len(ids) == 1:  # most layers: the node's counts are the layer's
                nid = ids[0]
                node, info = next(walk, _END)
                if node.id != nid:
                    node, info = node_of(nid), infos[nid]
                node_row, row = count(node, info)
                if row[0]:  # MACs
                    per_node[nid] = node_row
                if node.op != layer.op:  # (group_layers names a one-node layer by its op)
                    row = (*row[:-1], "")
            else:
                sums = _ZEROS
                dtype = None  # the layer's: its principal node's compute dtype
                for nid in ids:
                    node, info = next(walk, _END)
                    if node.id != nid:
                        node, info = node_of(nid), infos[nid]
                    node_row, row = count(node, info)
                    if dtype is None and node.op == layer.op:
                        dtype = row[-1]
                    if node_row is not None:
                        if row[0]:
                            per_node[nid] = node_row
                        sums = tuple(map(operator.add, sums, row))  # (zip stops before the dtype)
                row = (*sums, dtype or "")
            add(row)
        res.nodes = _NodeCounts(g, count, per_node)  # type: ignore[assignment]
        counts = dict(zip(FIELDS, int_columns(per_layer, len(FIELDS)), strict=True))
        res.totals = {f: sum(column) for f, column in counts.items()}
        res.layers = ctx.columns({**counts, "dtype": [row[-1] for row in per_layer]})  # type: ignore[assignment]
        return res


class _NoNode:
    id = None


_END = (_NoNode(), None)  # past the last node: every id disagrees


class _NodeCounts(Mapping[str, dict[str, int]]):
    """Node id -> its counts (``MetricResult.nodes``; read-only, equal counts one dict): every
    supported node. Stored for the nodes with MACs (the ones traffic reads); any other is counted
    again when asked for, from the signature memo (a million-entry dict less at scale)."""

    def __init__(self, graph: Graph, count: Callable[[Node, NodeInfo], _Counted], stored: dict[str, dict[str, int]]):
        self._graph, self._count, self._stored = graph, count, stored

    def get(self, nid: str, default: Any = None) -> Any:  # type: ignore[override]
        row = self._stored.get(nid)
        if row is None:
            row = self._counted(nid)
        return default if row is None else row

    def __getitem__(self, nid: str) -> dict[str, int]:
        row = self.get(nid)
        if row is None:
            raise KeyError(nid)
        return row

    def _counted(self, nid: str) -> dict[str, int] | None:
        g = self._graph
        if nid not in g:
            return None
        return self._count(g.node(nid), g.infos()[nid])[0]

    def __contains__(self, nid: object) -> bool:
        return nid in self._stored or (isinstance(nid, str) and self._counted(nid) is not None)

    def __iter__(self) -> Iterator[str]:
        infos = self._graph.infos()
        return (n.id for n in self._graph.nodes() if self._count(n, infos[n.id])[0] is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _NodeRows(dict[tuple[int, ...], dict[str, int]]):
    """Counts -> the one dict of every node with these counts (repeated blocks: memory at scale)."""

    def __missing__(self, counts: tuple[int, ...]) -> dict[str, int]:
        row = self[counts] = dict(zip(FIELDS, counts, strict=True))
        return row


# a node's row (None when unsupported), and the row of a layer of that node alone (FIELDS, dtype)
_Counted = tuple["dict[str, int] | None", tuple[Any, ...]]


def _node_counter(ctx: MetricContext, node_rows: _NodeRows) -> Callable[[Node, NodeInfo], _Counted]:
    """``count(node, its NodeInfo)`` -> what it counts.

    Ops whose formulas are all ``@signature_formula`` are evaluated once per
    distinct signature: op, compute dtype, attrs (compared by value, so an
    unhashable one opts the node out), activation operand shapes, parameter
    operand shapes and roles, result shape. Other ops (a plugin's formula
    may read anything) and unusual operand lists are evaluated node by node.
    """
    # the closures keep no reference to ctx: the result's node mapping holds them (no cycle)
    g, options = ctx.graph, ctx.options
    plans = _Plans(ctx)
    tensor = g.tensors.__getitem__
    categories = ctx.vocabulary.categories
    ways = _Ways(plans)
    memo: dict[tuple[Any, ...], _Counted] = {}
    nothing: dict[str, _Counted] = {}  # dtype -> what a node that computes nothing counts
    floats: dict[str, bool] = {}

    def evaluate(node: Node, info: NodeInfo, plan: _OpPlan | None, dtype: str) -> _Counted:
        if plan is None:
            return None, (*_ZEROS, dtype)
        is_float = floats.get(dtype)
        if is_float is None:
            is_float = floats[dtype] = dtypes.is_float(dtype)
        counts = _counts(g, options, node, plan, info.repeat, is_float)
        return node_rows[counts], (*counts, dtype)

    def one_by_one(node: Node, info: NodeInfo) -> _Counted:
        category = categories.get(node.op)
        return evaluate(node, info, plans[node.op], compute_dtype(g, node, category) if category else "")

    def count(node: Node, info: NodeInfo) -> _Counted:
        op = node.op
        way = ways[op]
        outs = node.outputs
        if way is _NOTHING:  # views, movement, constants: only the dtype to find
            dtype = tensor(outs[0]).dtype if outs else "float32"
            counted = nothing.get(dtype)
            if counted is None:
                counted = nothing[dtype] = (node_rows[_ZEROS], (*_ZEROS, dtype))
            return counted
        acts, ps = info.act_inputs, info.params
        n_acts = len(acts)
        if way is _ONE_BY_ONE or len(outs) != 1 or not n_acts:
            return one_by_one(node, info)  # unsupported, a plugin's formula, no operand...: rare
        ins = node.inputs
        if acts is not ins and (n_acts + len(ps) != len(ins) or ins[:n_acts] != acts):
            return one_by_one(node, info)  # constant operands, parameters first: rare
        first, out = tensor(acts[0]), tensor(outs[0])  # the first operand: acts[0] is ins[0] here
        dtype = first.dtype if way is _CONTRACTION else out.dtype  # compute_dtype
        attrs = node.attrs
        n_ps = len(ps)
        key = (  # the signature; the common operand counts spelt out (cheaper than comprehensions)
            op,
            dtype,
            tuple(attrs.items()) if attrs else (),
            first.shape if n_acts == 1  # one shape (ints) never equals several (tuples)
            else (first.shape, tensor(acts[1]).shape) if n_acts == 2
            else tuple([tensor(t).shape for t in acts]),
            () if not n_ps else (ps[0].shape, ps[0].role) if n_ps == 1 else tuple([(p.shape, p.role) for p in ps]),
            out.shape,
        )  # fmt: skip
        try:
            counted = memo.get(key)
        except TypeError:  # an unhashable attribute value (a list): no signature
            return evaluate(node, info, plans[op], dtype)
        if counted is None:
            counted = memo[key] = evaluate(node, info, plans[op], dtype)
        return counted

    return count


@hookimpl
def analyzer_register_metrics(register):
    register(ComputeMetric())
