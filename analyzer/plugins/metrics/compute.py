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

from analyzer.core import dtypes
from analyzer.core.formulas import OpView
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Node
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.ops import Category

FIELDS = ("macs", "flops", "mac_flops", "other_flops", "int_ops", "mac_int_ops", "ops")
_NO_WORK = (Category.VIEW, Category.MOVEMENT, Category.CONSTANT)


def compute_dtype(ctx: MetricContext, node: Node, category: Category) -> str:
    g = ctx.graph
    if category is Category.CONTRACTION and node.inputs:
        return g.spec(node.inputs[0]).dtype
    if node.outputs:
        return g.spec(node.outputs[0]).dtype
    return "float32"


def node_counts(ctx: MetricContext, node: Node) -> dict[str, int] | None:
    """The counts of one node, or None when its op is unsupported."""
    opdef = ctx.vocabulary.get(node.op)
    if not ctx.formulas.supports(opdef):
        return None
    assert opdef is not None
    f = ctx.formulas
    if opdef.category in _NO_WORK and f.get("flops", opdef.name) is None:
        return dict.fromkeys(FIELDS, 0)  # views, movement, constants: nothing to evaluate
    view = OpView(node, ctx.graph, ctx.options)
    r = node.repeat
    macs = f.count("macs", opdef, view) * r
    mac_flops = 2 * macs
    if macs:
        mac_flops += f.count("bias", opdef, view) * r
        if ctx.options.exact_flops:
            mac_flops -= f.count("dots", opdef, view) * r
    other = f.count("flops", opdef, view) * r
    is_float = dtypes.is_float(compute_dtype(ctx, node, opdef.category))
    return {
        "macs": macs,
        "flops": mac_flops + other if is_float else 0,
        "mac_flops": mac_flops if is_float else 0,
        "other_flops": other if is_float else 0,
        "int_ops": 0 if is_float else mac_flops + other,
        "mac_int_ops": 0 if is_float else mac_flops,
        "ops": mac_flops + other,
    }


class ComputeMetric(Metric):
    name = "compute"
    quantities = (
        Quantity("macs", "MAC", "multiply-accumulates of contractions (padded taps included), x batch, x repeat"),
        Quantity("flops", "FLOP", "mac_flops + other_flops, floating-point operands only (a count, not a rate)"),
        Quantity("mac_flops", "FLOP",
                 "2 per MAC (2n-1 per length-n dot product with exact_flops) + 1 per bias addition"),  # fmt: skip
        Quantity("other_flops", "FLOP", "non-contraction FLOPs from the per-op table in docs/metrics.md"),
        Quantity("int_ops", "OP", "the same counts for integer operands (quantized models)"),
        Quantity("mac_int_ops", "OP", "contraction part of int_ops"),
        Quantity("ops", "OP", "flops + int_ops: every arithmetic operation, any dtype"),
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        res = MetricResult()
        totals = dict.fromkeys(FIELDS, 0)
        for layer in ctx.layers:
            row: dict = dict.fromkeys(FIELDS, 0)
            for nid in layer.nodes:
                counts = node_counts(ctx, ctx.graph.node(nid))
                if counts is None:
                    continue
                res.nodes[nid] = counts
                for k, v in counts.items():
                    row[k] += v
            for k in FIELDS:
                totals[k] += row[k]
            principal = next((ctx.graph.node(n) for n in layer.nodes if ctx.graph.node(n).op == layer.op), None)
            cat = ctx.vocabulary.get(layer.op)
            row["dtype"] = compute_dtype(ctx, principal, cat.category) if principal and cat else ""
            res.layers[layer.name] = row
        res.totals = totals
        return res


@hookimpl
def analyzer_register_metrics(register):
    register(ComputeMetric())
