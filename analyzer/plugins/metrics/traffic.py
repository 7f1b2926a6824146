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

from array import array
from collections.abc import Callable, Mapping, MutableSequence, Sequence
from typing import Any

from analyzer.core import dtypes
from analyzer.core.graph import NodeInfo
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Node, Param, Tensor
from analyzer.core.layers import Layer
from analyzer.core.metric import Metric, MetricContext, MetricResult, Option, Quantity, Ratio
from analyzer.core.ops import Category
from analyzer.core.options import AnalysisOptions
from analyzer.plugins.metrics.activations import layer_io
from analyzer.plugins.metrics.params import counted_params, param_owners, weight_bits


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
        for column in (_int_array, _int_list):  # lists where a value exceeds 64 bits (no real model)
            try:
                columns = _per_layer(ctx, column)
                break
            except OverflowError:
                if column is _int_list:
                    raise
        res = MetricResult()
        res.layers = ctx.columns(columns)  # type: ignore[assignment]  # column-wise: no dict per layer
        totals = {q: sum(values) for q, values in columns.items() if q != "arithmetic_intensity"}
        t_mem = totals["memory_bytes"]
        totals["arithmetic_intensity"] = ctx.result("compute").totals["ops"] / t_mem if t_mem else 0.0
        res.totals = totals
        return res


def _int_array() -> MutableSequence[int]:
    return array("q")  # 8 bytes a value, no int object each


def _int_list() -> MutableSequence[int]:
    return []


def _per_layer(ctx: MetricContext, column: Callable[[], MutableSequence[int]]) -> dict[str, Sequence[Any]]:
    """Each quantity's value for every layer, in order; int columns made by ``column()``."""
    g, opts, layers = ctx.graph, ctx.options, ctx.layers
    io = layer_io(ctx)  # each layer's distinct activation storages, read and written
    read_bytes, write_bytes = io.read_bytes, io.write_bytes
    compute = ctx.result("compute")
    node_counts = compute.nodes
    ops = _column(compute.layers, "ops", layers)
    naive = ctx.option("naive_traffic")
    dtypes_of = _column(compute.layers, "dtype", layers) if naive else ()
    infos, node_of, tensors = g.infos(), g.node, g.tensors
    VIEW, CONTRACTION = Category.VIEW, Category.CONTRACTION
    kinds = {op: c for op, c in ctx.vocabulary.categories.items() if c is VIEW or c is CONTRACTION}
    weights_of = _Weights(ctx)
    # a parameter's bytes do not depend on the layer reading it unless layer_bits is set
    plain = weights_of.every_param_counts and not opts.layer_bits
    byte_sizes = weights_of.sizes  # dtype -> elements -> bytes
    read_col, weight_col, write_col, memory_col = column(), column(), column(), column()
    nin_col, nw_col, nout_col, acc_col, intensity_col = column(), column(), column(), column(), array("d")
    # layers are runs of consecutive nodes in execution order: walk the nodes beside them,
    # looking a node up by id only where they disagree. Most nodes read what the one before
    # wrote (prev): its element count is known without looking the tensor up.
    walk = zip(g.nodes(), infos.values(), strict=False)
    prev, prev_numel = None, 0
    for i, layer in enumerate(layers):
        ids = layer.nodes
        if len(ids) == 1:
            node, info = next(walk, _END)
            if node.id != ids[0]:
                node, info = node_of(ids[0]), infos[ids[0]]
            pairs = None
            cat = kinds.get(node.op)
            params = info.params
            if cat is VIEW:  # moves nothing
                read_b = weight_b = write_b = reads = weights = writes = 0
            elif info.repeat == 1 and (not params or plain and len(params) == len(layer.params)):
                # the common layer: one op run once, every parameter counted once at its dtype
                counts = node_counts.get(node.id) if cat is CONTRACTION else None
                if counts is not None:
                    reads = counts["macs"]
                else:
                    reads = 0
                    for t in info.act_inputs:
                        reads += prev_numel if t == prev else tensors[t].numel
                weights = weight_b = 0
                for p in params:
                    e = p.numel
                    weights += e
                    b = byte_sizes.get(p.dtype, _NO_SIZES).get(e)
                    weight_b += weights_of.param_bytes(p) if b is None else b
                writes = 0
                for t in info.act_outputs:
                    prev = t
                    prev_numel = tensors[t].numel
                    writes += prev_numel
                read_b, write_b = read_bytes[i], write_bytes[i]
            else:
                pairs = [(node, info)]
        else:
            pairs = []
            for nid in ids:
                node, info = next(walk, _END)
                pairs.append((node, info) if node.id == nid else (node_of(nid), infos[nid]))
        if pairs is not None:
            reads, weights, writes, reps, sliced = _naive_counts(pairs, kinds, node_counts, tensors, weights_of)
            prev = None
            if reps:  # the layer does work: it moves its tensors (views alone move nothing)
                read_b, write_b = reps * read_bytes[i], reps * write_bytes[i]
                weight_b = weights_of.layer_bytes(layer.params, reps, sliced)
            else:
                read_b = weight_b = write_b = reads = weights = writes = 0
        accesses = reads + weights + writes
        if naive:
            bits = opts.activation_bits or dtypes.bits(dtypes_of[i] or "float32")
            memory = -(-accesses * bits // 8)
        else:
            memory = read_b + weight_b + write_b
        read_col.append(read_b)
        weight_col.append(weight_b)
        write_col.append(write_b)
        memory_col.append(memory)
        nin_col.append(reads)
        nw_col.append(weights)
        nout_col.append(writes)
        acc_col.append(accesses)
        intensity_col.append(ops[i] / memory if memory else 0.0)
    return {
        "read_bytes": read_col, "weight_read_bytes": weight_col, "write_bytes": write_col,
        "memory_bytes": memory_col, "naive_input_reads": nin_col, "naive_weight_reads": nw_col,
        "naive_output_writes": nout_col, "naive_accesses": acc_col, "arithmetic_intensity": intensity_col,
    }  # fmt: skip


def _naive_counts(pairs: list[tuple[Node, NodeInfo]], kinds: Mapping[str, Category], node_counts: Mapping[str, Any],
                  tensors: Mapping[str, Tensor], weights_of: _Weights) -> tuple[int, int, int, int, dict[str, int] | None]:  # fmt: skip
    """A layer's naive input reads, weight reads and output writes, the largest ``repeat`` of its
    ops (0: only views) and the stacked weights its loop reads one slice of per run."""
    reads = weights = writes = reps = 0
    sliced: dict[str, int] | None = None  # stacked weight -> slices one run reads
    counted = weights_of.counted
    for node, info in pairs:
        cat = kinds.get(node.op)
        if cat is Category.VIEW:
            continue
        r = info.repeat
        if r > reps:
            reps = r
        counts = node_counts.get(node.id) if cat is Category.CONTRACTION else None
        if counts is not None:
            reads += counts["macs"]
        else:
            for t in info.act_inputs:
                reads += tensors[t].numel * r
        marks = node.attrs.get("param_slices") if r > 1 else None
        if marks:
            sliced = {**(sliced or {}), **marks}
        for p in info.params:
            if p.name in counted:
                weights += p.numel * r // (marks.get(p.name, 1) if marks else 1)
        for t in info.act_outputs:
            writes += tensors[t].numel * r
    return reads, weights, writes, reps, sliced


_NO_SIZES: dict[int, int] = {}


class _NoNode:
    id = None


_END = (_NoNode(), None)  # past the last node: every id disagrees


def _column(values: Mapping[str, Mapping[str, Any]], key: str, layers: list[Layer]) -> Sequence[Any]:
    """``key``'s value for every layer, in order, from another metric's per-layer values."""
    column = getattr(values, "column", None)  # a LayerTable (the engine's): the column at once
    if column is not None:
        return column(key)
    return [values[layer.name][key] for layer in layers]


class _Weights:
    """The counted parameters and their bytes at the bit widths model size stores them with.

    Uncounted parameters (biases with bias=False) move nothing. A tensor is
    stored once, at the width of the layer owning it (layer_bits), so a layer
    reading a tied weight reads the owner's bytes.
    """

    def __init__(self, ctx: MetricContext):
        self.options = ctx.options
        self.counted = counted_params(ctx)
        self.every_param_counts = len(self.counted) == len(ctx.graph.params)
        self.owner = param_owners(ctx) if ctx.options.layer_bits else None
        self.sizes: dict[str, dict[int, int]] = {}  # dtype -> elements -> bytes (equal sizes: one int)

    def param_bytes(self, p: Param) -> int:
        """``p``'s bytes where no layer_bits pattern applies (at weight_bits or its dtype)."""
        sizes = self.sizes.get(p.dtype)
        if sizes is None:
            sizes = self.sizes[p.dtype] = {}
        b = sizes.get(p.numel)
        if b is None:
            b = sizes[p.numel] = _weight_bytes(p, "", self.options)
        return b

    def layer_bytes(self, names: list[str], reps: int, sliced: dict[str, int] | None) -> int:
        """Weight bytes a layer using parameters ``names`` moves when its ops run ``reps`` times."""
        total = 0
        for name in names:
            p = self.counted.get(name)
            if p is None:
                continue
            b = self.param_bytes(p) if self.owner is None else _weight_bytes(p, self.owner.get(name, ""), self.options)
            # a loop reading one slice of a stacked weight per run reads it once in all
            total += b * reps // (sliced.get(name, 1) if sliced else 1)
        return total


def _weight_bytes(p: Param, layer: str, opts: AnalysisOptions) -> int:
    """Bytes of parameter ``p`` read by ``layer``, at the bit width model size stores it with."""
    return -(-p.numel * weight_bits(p.name, p.dtype, layer, opts) // 8)


@hookimpl
def analyzer_register_metrics(register):
    register(TrafficMetric())
