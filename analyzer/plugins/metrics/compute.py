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

from dataclasses import dataclass

from analyzer.core import dtypes
from analyzer.core.formulas import Formula, OpView, formula_error
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Node
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.ops import Category

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


def _plans(ctx: MetricContext) -> dict[str, _OpPlan | None]:
    """Per op name: its formulas, or None when the op is unsupported."""
    plans: dict[str, _OpPlan | None] = {}
    f = ctx.formulas
    for node in ctx.graph.nodes():
        if node.op in plans:
            continue
        opdef = ctx.vocabulary.get(node.op)
        if not f.supports(opdef):
            plans[node.op] = None
            continue
        assert opdef is not None
        plans[node.op] = _OpPlan(opdef.category, *(f.get(t, node.op) for t in ("macs", "bias", "dots", "flops")))
    return plans


def node_counts(ctx: MetricContext, node: Node, plan: _OpPlan, repeat: int, dtype: str) -> dict[str, int]:
    """The counts of one node run ``repeat`` times under ``plan``, computing in ``dtype``.

    A formula that fails is an error naming the node.
    """
    if plan.macs is None and plan.flops is None:
        return dict.fromkeys(FIELDS, 0)  # views, movement, constants: nothing to evaluate
    view = OpView(node, ctx.graph, ctx.options)
    r = repeat
    try:  # int(): a plugin's formula may return a float; counts are whole numbers (as FormulaTables.count)
        macs = int(plan.macs(view)) * r if plan.macs else 0
        mac_flops = 2 * macs
        if macs:
            mac_flops += int(plan.bias(view)) * r if plan.bias else 0
            if ctx.options.exact_flops and plan.dots:
                mac_flops -= int(plan.dots(view)) * r
        other = int(plan.flops(view)) * r if plan.flops else 0
    except Exception as e:
        raise formula_error(node, e) from e
    if dtypes.is_float(dtype):
        return {"macs": macs, "flops": mac_flops + other, "mac_flops": mac_flops, "other_flops": other,
                "int_ops": 0, "mac_int_ops": 0, "ops": mac_flops + other}  # fmt: skip
    return {"macs": macs, "flops": 0, "mac_flops": 0, "other_flops": 0,
            "int_ops": mac_flops + other, "mac_int_ops": mac_flops, "ops": mac_flops + other}  # fmt: skip


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
        plans = _plans(ctx)
        infos, nodes = g.infos(), g.node
        category = ctx.vocabulary.categories
        res = MetricResult()
        per_node = res.nodes  # read-only: nodes with equal counts share one dict (memory at scale)
        shared: dict[tuple[int, ...], dict[str, int]] = {}
        t_macs = t_mf = t_of = t_mi = t_oi = 0
        for layer in ctx.layers:
            macs = mac_flops = other_flops = mac_int = other_int = 0
            dtype = None  # the layer's: its principal node's compute dtype
            for nid in layer.nodes:
                node = nodes(nid)
                cat = category.get(node.op)
                node_dtype = compute_dtype(g, node, cat) if cat else ""
                if dtype is None and node.op == layer.op:
                    dtype = node_dtype
                plan = plans[node.op]
                if plan is None:
                    continue  # unsupported: listed in the report, counted nowhere
                c = node_counts(ctx, node, plan, infos[nid].repeat, node_dtype)
                c = per_node[nid] = shared.setdefault(tuple(c.values()), c)  # repeated blocks: one dict
                macs += c["macs"]
                mac_flops += c["mac_flops"]
                other_flops += c["other_flops"]
                mac_int += c["mac_int_ops"]
                other_int += c["int_ops"] - c["mac_int_ops"]
            flops, int_ops = mac_flops + other_flops, mac_int + other_int
            res.layers[layer.name] = {
                "macs": macs, "flops": flops, "mac_flops": mac_flops, "other_flops": other_flops,
                "int_ops": int_ops, "mac_int_ops": mac_int, "ops": flops + int_ops,
                "dtype": dtype or "",
            }  # fmt: skip
            t_macs += macs
            t_mf += mac_flops
            t_of += other_flops
            t_mi += mac_int
            t_oi += other_int
        res.totals = {
            "macs": t_macs, "flops": t_mf + t_of, "mac_flops": t_mf, "other_flops": t_of,
            "int_ops": t_mi + t_oi, "mac_int_ops": t_mi, "ops": t_mf + t_of + t_mi + t_oi,
        }  # fmt: skip
        return res


@hookimpl
def analyzer_register_metrics(register):
    register(ComputeMetric())
