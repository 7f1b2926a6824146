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
        g, opts, vocab = ctx.graph, ctx.options, ctx.vocabulary
        storages, roots = activation_storages(ctx)
        compute = ctx.result("compute")
        weight_bytes = _weight_bytes(ctx)
        tensors = g.tensors
        category = {op.name: op.category for op in vocab}
        weight_elems = {n: (p.numel if counted(p, opts) else 0) for n, p in g.params.items()}
        res = MetricResult()
        totals: dict = dict.fromkeys(FIELDS, 0)
        for layer in ctx.layers:
            row: dict = dict.fromkeys(FIELDS, 0)
            reads = weights = writes = reps = 0
            for nid in layer.nodes:
                node = g.node(nid)
                cat = category.get(node.op)
                if cat is Category.VIEW:
                    continue
                info, r = g.info(nid), node.repeat
                reps = max(reps, r)
                counts = compute.nodes.get(nid)
                if cat is Category.CONTRACTION and counts is not None:
                    reads += counts["macs"]
                else:
                    reads += sum(tensors[t].numel for t in info.act_inputs) * r
                weights += sum(weight_elems[p.name] for p in info.params) * r
                writes += sum(tensors[t].numel for t in info.act_outputs) * r
            if reps:  # the layer does work: it moves its tensors (views alone move nothing)
                row["read_bytes"] = reps * sum(storages[r].bytes for r in {roots[t] for t in layer.inputs})
                row["write_bytes"] = reps * sum(storages[r].bytes for r in {roots[t] for t in layer.outputs})
                row["weight_read_bytes"] = reps * sum(weight_bytes(p, layer.name) for p in layer.params)
                row.update(naive_input_reads=reads, naive_weight_reads=weights, naive_output_writes=writes,
                           naive_accesses=reads + weights + writes)  # fmt: skip
            if opts.naive_traffic:
                bits = opts.activation_bits or dtypes.bits(compute.layers[layer.name].get("dtype") or "float32")
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


def _weight_bytes(ctx: MetricContext):
    """``f(param name, layer name) -> bytes`` at model-size bit widths (0 for uncounted params)."""
    g, opts = ctx.graph, ctx.options
    if opts.layer_bits:  # bit widths depend on the layer's name: no shortcut
        def per_layer(name: str, layer: str) -> int:
            p = g.params[name]
            return -(-p.numel * weight_bits(name, p.dtype, layer, opts) // 8) if counted(p, opts) else 0

        return per_layer
    sizes = {
        n: (-(-p.numel * weight_bits(n, p.dtype, "", opts) // 8) if counted(p, opts) else 0) for n, p in g.params.items()
    }
    return lambda name, layer: sizes[name]


@hookimpl
def analyzer_register_metrics(register):
    register(TrafficMetric())
