"""Memory traffic per layer, and the lecture's naive sliding-window access count.

Fused-layer model (default): a layer reads each distinct activation storage
it consumes and every weight it uses (at the bit width model size uses),
and writes each storage it outputs; a layer made only of views moves
nothing. Arithmetic intensity = ops / bytes moved.

A layer whose ops run ``repeat`` times (a loop body) moves its bytes that
many times, weights included (the largest ``repeat`` of its ops), except a
weight stacked over the loop (``attrs["param_slices"]``: each run reads one
of its k slices), which is read k times less.

Naive model (the lecture's convolution table): a contraction reads one
input element per MAC, reads each weight once (bias included) and writes
each output once; any other op reads its inputs and writes its outputs
once. Counted in elements (``naive_*``) and, with ``naive_traffic=True``,
used for ``memory_bytes`` (elements x element size) as well.
"""

from __future__ import annotations

from analyzer.core import dtypes
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Param
from analyzer.core.metric import Metric, MetricContext, MetricResult, Option, Quantity, Ratio
from analyzer.core.ops import Category
from analyzer.core.options import AnalysisOptions
from analyzer.plugins.metrics.activations import activation_storages
from analyzer.plugins.metrics.model_size import weight_bits
from analyzer.plugins.metrics.params import counted_params, param_owners


class TrafficMetric(Metric):
    name = "traffic"
    requires = ("compute",)
    options = (
        Option("naive_traffic", bool, False, "memory_bytes from the lecture's naive model (one input read per MAC)",
               alias="naive_traffic"),  # fmt: skip
    )
    quantities = (
        Quantity("read_bytes", "byte", "activation bytes the layer reads (each distinct storage once)",
                 label="act. read", display="total", group="traffic"),  # fmt: skip
        Quantity("weight_read_bytes", "byte", "weight bytes the layer reads (model-size bit widths)",
                 label="weights read", display="total", group="traffic"),  # fmt: skip
        Quantity("write_bytes", "byte", "activation bytes the layer writes",
                 label="act. written", display="total", group="traffic"),  # fmt: skip
        Quantity("memory_bytes", "byte", "read + weight read + write (naive model x element size with naive_traffic)",
                 label="memory traffic", display="total", group="traffic"),  # fmt: skip
        Quantity("naive_input_reads", "element", "naive model: one input read per MAC (contractions), else input elements",
                 label="naive input reads", display="total", group="traffic"),  # fmt: skip
        Quantity("naive_weight_reads", "element", "naive model: each weight element once, bias included",
                 label="naive weight reads", display="total", group="traffic"),  # fmt: skip
        Quantity("naive_output_writes", "element", "naive model: each output element once",
                 label="naive output writes", display="total", group="traffic"),  # fmt: skip
        Quantity("naive_accesses", "element", "naive input reads + weight reads + output writes",
                 label="naive accesses", display="total", group="traffic"),  # fmt: skip
        Quantity("arithmetic_intensity", "OP/byte", "ops / memory_bytes", aggregate=Ratio("ops", "memory_bytes"),
                 label="arith. intensity", display="total", format="ratio", digits=3, group="traffic"),  # fmt: skip
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        g, opts = ctx.graph, ctx.options
        storages, roots = activation_storages(ctx)
        compute = ctx.result("compute")
        node_counts, layer_counts = compute.nodes, compute.layers
        infos, nodes, tensors = g.infos(), g.node, g.tensors
        category = ctx.vocabulary.categories
        weight_params = counted_params(ctx)  # uncounted parameters (biases with bias=False) move nothing
        # bytes at model-size bit widths: a tensor is stored once, at the width of the layer owning
        # it (layer_bits), so a layer reading a tied weight reads the owner's bytes
        owner = param_owners(ctx)
        sizes = {n: _weight_bytes(p, owner.get(n, ""), opts) for n, p in weight_params.items()}
        naive = ctx.option("naive_traffic")
        res = MetricResult()
        t_read = t_weight = t_write = t_mem = t_nin = t_nw = t_nout = 0
        for layer in ctx.layers:
            reads = weights = writes = reps = 0
            sliced: dict[str, int] | None = None  # stacked weight -> slices one run reads
            for nid in layer.nodes:
                node = nodes(nid)
                cat = category.get(node.op)
                if cat is Category.VIEW:
                    continue
                info = infos[nid]
                r = info.repeat
                if r > reps:
                    reps = r
                counts = node_counts.get(nid)
                if cat is Category.CONTRACTION and counts is not None:
                    reads += counts["macs"]
                else:
                    for t in info.act_inputs:
                        reads += tensors[t].numel * r
                marks = node.attrs.get("param_slices") if r > 1 else None
                if marks:
                    sliced = {**(sliced or {}), **marks}
                for p in info.params:
                    if p.name in weight_params:
                        weights += p.numel * r // (marks.get(p.name, 1) if marks else 1)
                for t in info.act_outputs:
                    writes += tensors[t].numel * r
            read_b = weight_b = write_b = 0
            if reps:  # the layer does work: it moves its tensors (views alone move nothing)
                ins, outs = layer.inputs, layer.outputs  # one tensor each, mostly: no set needed
                read_b = reps * (storages[roots[ins[0]]].bytes if len(ins) == 1 else _storage_bytes(ins, roots, storages))
                write_b = reps * (storages[roots[outs[0]]].bytes if len(outs) == 1 else _storage_bytes(outs, roots, storages))
                for name in layer.params:
                    if name in weight_params:
                        # a loop reading one slice of a stacked weight per run reads it once in all
                        weight_b += sizes[name] * reps // (sliced.get(name, 1) if sliced else 1)
            else:
                reads = weights = writes = 0
            accesses = reads + weights + writes
            if naive:
                bits = opts.activation_bits or dtypes.bits(layer_counts[layer.name].get("dtype") or "float32")
                memory = -(-accesses * bits // 8)
            else:
                memory = read_b + weight_b + write_b
            ops = layer_counts[layer.name]["ops"]
            res.layers[layer.name] = {
                "read_bytes": read_b, "weight_read_bytes": weight_b, "write_bytes": write_b, "memory_bytes": memory,
                "naive_input_reads": reads, "naive_weight_reads": weights, "naive_output_writes": writes,
                "naive_accesses": accesses, "arithmetic_intensity": ops / memory if memory else 0.0,
            }  # fmt: skip
            t_read += read_b
            t_weight += weight_b
            t_write += write_b
            t_mem += memory
            t_nin += reads
            t_nw += weights
            t_nout += writes
        res.totals = {
            "read_bytes": t_read, "weight_read_bytes": t_weight, "write_bytes": t_write, "memory_bytes": t_mem,
            "naive_input_reads": t_nin, "naive_weight_reads": t_nw, "naive_output_writes": t_nout,
            "naive_accesses": t_nin + t_nw + t_nout,
            "arithmetic_intensity": compute.totals["ops"] / t_mem if t_mem else 0.0,
        }  # fmt: skip
        return res


def _storage_bytes(tensors: list[str], roots: dict[str, str], storages: dict) -> int:
    """Bytes of the distinct storages behind ``tensors`` (two views of one buffer move it once)."""
    return sum(storages[r].bytes for r in {roots[t] for t in tensors})


def _weight_bytes(p: Param, layer: str, opts: AnalysisOptions) -> int:
    """Bytes of parameter ``p`` read by ``layer``, at the bit width model size stores it with."""
    return -(-p.numel * weight_bits(p.name, p.dtype, layer, opts) // 8)


@hookimpl
def analyzer_register_metrics(register):
    register(TrafficMetric())
