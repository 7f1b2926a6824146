"""Activation memory: total, lecture peak and live peak.

Activations are the tensors crossing layer boundaries (graph inputs and
layer outputs read elsewhere), each storage counted once: views and
in-place activation functions create none (core.aliasing). Sizes are in
elements and in bytes (each tensor's dtype, or ``activation_bits``).

- ``total_activations``: every activation storage of one inference, once.
- ``peak_activations``: the lecture's definition, max over layers of the
  layer's input plus output activations.
- ``peak_live_activations``: the most storage alive at once when layers run
  in graph order; a storage lives from the layer creating it (graph inputs:
  from the start) to its last reader (graph outputs: to the end).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from analyzer.core import dtypes
from analyzer.core.aliasing import storage_roots
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity


@dataclass(slots=True)
class Storage:
    """One activation buffer: its size, the layer creating it and the last reading it."""

    name: str
    elements: int
    bytes: int
    first: int  # layer index; -1 for graph inputs
    last: int  # layer index of the last reader; len(layers) for graph outputs


def activation_storages(ctx: MetricContext) -> tuple[dict[str, Storage], dict[str, str]]:
    """Storages crossing layer boundaries, and the tensor -> storage map (built once per analysis)."""
    return ctx.derived(_activation_storages)


def _activation_storages(ctx: MetricContext) -> tuple[dict[str, Storage], dict[str, str]]:
    g, layers = ctx.graph, ctx.layers
    roots = storage_roots(g, ctx.vocabulary)
    bits_override = ctx.options.activation_bits
    tensors, producer_of = g.tensors, g.producer

    def make(root: str, first: int) -> Storage:
        t = tensors[root]
        bits = bits_override or dtypes.bits(t.dtype)
        return Storage(root, t.numel, -(-t.numel * bits // 8), first, first)

    node_layer: dict[str, int] | None = None  # built only if some output is a view of another layer's
    storages: dict[str, Storage] = {}
    for t in g.inputs:
        if roots[t] not in storages:
            storages[roots[t]] = make(roots[t], -1)
    for i, layer in enumerate(layers):
        for t in layer.outputs:
            r = roots[t]
            if r in storages:
                continue
            if r == t:  # its own storage: created by this layer
                storages[r] = make(r, i)
                continue
            producer = producer_of(r)
            if producer is not None and node_layer is None:
                node_layer = {nid: k for k, lay in enumerate(layers) for nid in lay.nodes}
            storages[r] = make(r, node_layer[producer.id] if producer is not None and node_layer else -1)
    for i, layer in enumerate(layers):
        for t in layer.inputs:
            s = storages.get(roots[t])
            if s is not None and i > s.last:
                s.last = i
    for t in g.outputs:
        s = storages.get(roots.get(t, ""))
        if s is not None:
            s.last = len(layers)
    return storages, roots


class ActivationsMetric(Metric):
    name = "activations"
    quantities = (
        Quantity("total_activations", "element", "input + every layer's new output storage, each once",
                 label="total act.", display="total", group="memory"),  # fmt: skip
        Quantity("total_activation_bytes", "byte", "total_activations at each tensor's bit width", per_layer=False,
                 label="total act. bytes", group="memory"),  # fmt: skip
        Quantity("peak_activations", "element", "lecture: max over layers of input + output activations", per_layer=False,
                 label="peak act. (lecture)", group="memory"),  # fmt: skip
        Quantity("peak_activation_bytes", "byte", "peak_activations in bytes (max over layers, bytes)", per_layer=False,
                 label="peak act. bytes (lecture)", group="memory"),  # fmt: skip
        Quantity("peak_live_activations", "element",
                 "max over layers of storages alive while the layer runs, graph order", per_layer=False, label="peak live act.", group="memory"),  # fmt: skip
        Quantity("peak_live_activation_bytes", "byte", "peak_live_activations in bytes", per_layer=False,
                 label="peak live act. bytes", group="memory"),  # fmt: skip
        Quantity("activations", "element", "new activation storage the layer creates",
                 label="new act.", group="memory"),  # fmt: skip
        Quantity("io_activations", "element", "the layer's input + output activations (lecture peak term)", aggregate="max",
                 label="in+out act.", group="memory"),  # fmt: skip
        Quantity("live_activations", "element", "activation storage alive while the layer runs", aggregate="max",
                 label="live act.", display="total", group="memory"),  # fmt: skip
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        layers = ctx.layers
        storages, roots = activation_storages(ctx)
        res = MetricResult()
        created = [0] * len(layers)
        for s in storages.values():
            if s.first >= 0:
                created[s.first] += s.elements
        io_elems, io_bytes = [], []
        for layer in layers:
            ins, outs = layer.inputs, layer.outputs
            if len(ins) == 1 and len(outs) == 1 and roots[ins[0]] != roots[outs[0]]:
                a, b = storages[roots[ins[0]]], storages[roots[outs[0]]]  # the common case, without a set
                io_elems.append(a.elements + b.elements)
                io_bytes.append(a.bytes + b.bytes)
                continue
            elems = nbytes = 0
            for r in {roots[t] for t in (*ins, *outs)}:
                s = storages[r]
                elems += s.elements
                nbytes += s.bytes
            io_elems.append(elems)
            io_bytes.append(nbytes)
        live_elems, live_bytes = _live(storages.values(), len(layers))
        res.layers = {
            layer.name: {"activations": created[i], "io_activations": io_elems[i], "live_activations": live_elems[i]}
            for i, layer in enumerate(layers)
        }
        peak_i = _argmax(io_elems)
        live_i = _argmax(live_elems)
        res.totals = {
            "total_activations": sum(s.elements for s in storages.values()),
            "total_activation_bytes": sum(s.bytes for s in storages.values()),
            "peak_activations": io_elems[peak_i] if layers else 0,
            "peak_activation_bytes": max(io_bytes, default=0),
            "peak_live_activations": live_elems[live_i] if layers else 0,
            "peak_live_activation_bytes": max(live_bytes, default=0),
        }
        res.details = {
            "peak_layer": layers[peak_i].name if layers else None,
            "peak_live_layer": layers[live_i].name if layers else None,
            "input_activations": sum(s.elements for s in storages.values() if s.first < 0),
        }
        return res


def _live(storages, n: int) -> tuple[list[int], list[int]]:
    """Per layer, the elements and bytes of the storages alive then (difference arrays: linear time)."""
    d_elems, d_bytes = [0] * (n + 1), [0] * (n + 1)
    for s in storages:
        lo, hi = max(s.first, 0), min(s.last, n - 1)
        if lo <= hi:
            d_elems[lo] += s.elements
            d_elems[hi + 1] -= s.elements
            d_bytes[lo] += s.bytes
            d_bytes[hi + 1] -= s.bytes
    return list(accumulate(d_elems[:n])), list(accumulate(d_bytes[:n]))


def _argmax(values: list[int]) -> int:
    return max(range(len(values)), key=values.__getitem__, default=0)


@hookimpl
def analyzer_register_metrics(register):
    register(ActivationsMetric())
