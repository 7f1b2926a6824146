"""Memory traffic per layer, and the lecture's naive sliding-window access count.

Fused-layer model (default): a layer reads each distinct activation storage
it consumes and every weight it uses (at the bit width model size uses),
and writes each storage it outputs; a layer made only of views moves
nothing. Arithmetic intensity = ops / bytes moved.

A layer whose ops run ``repeat`` times (a loop body) moves its bytes that
many times, weights included (the largest ``repeat`` of its ops).

Naive model (the lecture's convolution table): a contraction reads one
input element per MAC, reads each weight once (bias included) and writes
each output once; any other op reads its inputs and writes its outputs
once. Counted in elements (``naive_*``) and, with ``naive_traffic=True``,
used for ``memory_bytes`` (elements x element size) as well.
"""

from __future__ import annotations

from analyzer.core import dtypes
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import numel
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.ops import Category
from analyzer.plugins.metrics.activations import activation_storages
from analyzer.plugins.metrics.model_size import weight_bits
from analyzer.plugins.metrics.params import counted

FIELDS = ("read_bytes", "weight_read_bytes", "write_bytes", "memory_bytes",
          "naive_input_reads", "naive_weight_reads", "naive_output_writes", "naive_accesses")  # fmt: skip


class TrafficMetric(Metric):
    name = "traffic"
    requires = ("compute",)
    quantities = (
        Quantity("read_bytes", "byte", "activation bytes the layer reads (each distinct storage once)"),
        Quantity("weight_read_bytes", "byte", "weight bytes the layer reads (model-size bit widths)"),
        Quantity("write_bytes", "byte", "activation bytes the layer writes"),
        Quantity("memory_bytes", "byte", "read + weight read + write (naive model x element size with naive_traffic)"),
        Quantity("naive_input_reads", "element", "naive model: one input read per MAC (contractions), else input elements"),
        Quantity("naive_weight_reads", "element", "naive model: each weight element once, bias included"),
        Quantity("naive_output_writes", "element", "naive model: each output element once"),
        Quantity("naive_accesses", "element", "naive input reads + weight reads + output writes"),
        Quantity("arithmetic_intensity", "OP/byte", "ops / memory_bytes", total="own"),
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        g, opts = ctx.graph, ctx.options
        storages, roots = activation_storages(ctx)
        compute = ctx.result("compute")
        act_bits = opts.activation_bits
        res = MetricResult()
        totals: dict = dict.fromkeys(FIELDS, 0)
        for layer in ctx.layers:
            nodes = [g.node(n) for n in layer.nodes]
            moves = any((d := ctx.vocabulary.get(n.op)) is None or d.category is not Category.VIEW for n in nodes)
            row: dict = dict.fromkeys(FIELDS, 0)
            if moves:
                row["read_bytes"] = sum(storages[r].bytes for r in {roots[t] for t in layer.inputs})
                row["write_bytes"] = sum(storages[r].bytes for r in {roots[t] for t in layer.outputs})
                for name in layer.params:
                    p = g.params[name]
                    if counted(p, opts):
                        row["weight_read_bytes"] += -(-p.numel * weight_bits(name, p.dtype, layer.name, opts) // 8)
                reps = max(n.repeat for n in nodes)
                for k in ("read_bytes", "write_bytes", "weight_read_bytes"):
                    row[k] *= reps
                naive = self._naive(ctx, nodes, compute.nodes)
                for k, v in zip(("naive_input_reads", "naive_weight_reads", "naive_output_writes"), naive, strict=True):
                    row[k] = v
                row["naive_accesses"] = sum(naive)
            if opts.naive_traffic:
                bits = act_bits or dtypes.bits(compute.layers[layer.name].get("dtype") or "float32")
                row["memory_bytes"] = -(-row["naive_accesses"] * bits // 8)
            else:
                row["memory_bytes"] = row["read_bytes"] + row["weight_read_bytes"] + row["write_bytes"]
            for k in FIELDS:
                totals[k] += row[k]
            ops = compute.layers[layer.name]["ops"]
            row["arithmetic_intensity"] = ops / row["memory_bytes"] if row["memory_bytes"] else 0.0
            res.layers[layer.name] = row
        totals["arithmetic_intensity"] = (
            compute.totals["ops"] / totals["memory_bytes"] if totals["memory_bytes"] else 0.0
        )
        res.totals = totals
        return res

    @staticmethod
    def _naive(ctx: MetricContext, nodes: list, node_counts: dict) -> tuple[int, int, int]:
        g, opts = ctx.graph, ctx.options
        reads = weights = writes = 0
        for n in nodes:
            opdef = ctx.vocabulary.get(n.op)
            if opdef is None or opdef.category is Category.VIEW:
                continue
            acts = [t for t in n.inputs if g.is_activation(t)]
            if opdef.category is Category.CONTRACTION and n.id in node_counts:
                reads += node_counts[n.id]["macs"]
            else:
                reads += sum(numel(g.shape(t)) for t in acts) * n.repeat
            weights += sum(p.numel for p in g.node_params(n) if counted(p, opts)) * n.repeat
            writes += sum(numel(g.shape(t)) for t in n.outputs if g.is_activation(t)) * n.repeat
        return reads, weights, writes


@hookimpl
def analyzer_register_metrics(register):
    register(TrafficMetric())
