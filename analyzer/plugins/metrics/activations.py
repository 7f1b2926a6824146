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

from array import array
from collections.abc import Callable, Iterable, MutableSequence, Sequence
from dataclasses import dataclass
from itertools import accumulate

from analyzer.core import dtypes
from analyzer.core.aliasing import storage_aliases, with_aliases
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.plugins.metrics.columns import int_column


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
    io = layer_io(ctx)
    storages = {
        r: Storage(r, e, b, f, last)
        for r, e, b, f, last in zip(io.owners, io.elements, io.nbytes, io.first, io.last, strict=True)
    }
    return storages, with_aliases(ctx.graph, io.aliases)


@dataclass(slots=True)
class LayerIO:
    """The activation storages and what each layer reads and writes of them (one pass, shared).

    ``aliases``: the tensors that are names of another's storage
    (``core.aliasing.storage_aliases``; any other tensor owns its own).
    Storages are numbered in the order they are created (graph inputs, then
    layer outputs); ``owners`` holds each one's root tensor (the name owning
    it) and ``elements``, ``nbytes``, ``first``, ``last`` are per storage, as in
    ``Storage`` (sequences, not an object per storage: the passes over them
    touch less memory); ``input_elements`` / ``input_bytes``: the storages no
    layer creates (graph inputs). Per layer, in ``ctx.layers`` order:
    ``created`` / ``created_bytes`` (the storages it creates), ``io_elements``
    / ``io_bytes`` (its distinct input and output storages together),
    ``read_bytes`` / ``write_bytes`` (its distinct input storages; its
    distinct output storages). Per-layer sequences are 64-bit arrays (lists
    of ints where a value does not fit, as no real model has): read them,
    never change them.
    """

    aliases: dict[str, str]
    owners: list[str]
    elements: list[int]
    nbytes: list[int]
    first: Sequence[int]
    last: Sequence[int]
    created: Sequence[int]
    created_bytes: Sequence[int]
    input_elements: int
    input_bytes: int
    io_elements: Sequence[int]
    io_bytes: Sequence[int]
    read_bytes: Sequence[int]
    write_bytes: Sequence[int]


def layer_io(ctx: MetricContext) -> LayerIO:
    """``LayerIO`` of the analysed graph (built once per analysis; the traffic metric reads it too)."""
    return ctx.derived(_layer_io)


def _layer_io(ctx: MetricContext) -> LayerIO:
    aliases = storage_aliases(ctx.graph, ctx.vocabulary)
    try:
        return _layer_pass(ctx, aliases, _zeros)
    except OverflowError:  # a layer's sum beyond 64 bits (no real model): Python ints
        return _layer_pass(ctx, aliases, _zero_list)


def _zeros(n: int) -> MutableSequence[int]:
    return array("q", bytes(8 * n))  # 8 bytes a value, no int object each


def _zero_list(n: int) -> MutableSequence[int]:
    return [0] * n


def _layer_pass(ctx: MetricContext, aliases: dict[str, str], zeros: Callable[[int], MutableSequence[int]]) -> LayerIO:
    g, layers = ctx.graph, ctx.layers
    n = len(layers)
    root_of = aliases.get  # (t, t): a tensor not in aliases owns its storage
    tensors = g.tensors
    bits_override = ctx.options.activation_bits
    byte_sizes: dict[str, dict[int, int]] = {}  # dtype -> elements -> bytes: equal sizes share one int
    index: dict[str, int] = {}
    elements: list[int] = []  # tensors' element counts (equal shapes share one int)
    nbytes: list[int] = []
    first, last = array("q"), array("q")
    created, created_bytes = zeros(n), zeros(n)
    before = [0, 0]  # elements and bytes of the storages no layer creates (graph inputs)

    def make(root: str, at: int) -> int:
        """A new storage for ``root``, created by layer ``at`` (-1: before the first); its number."""
        t = tensors[root]
        e = t.numel
        sizes = byte_sizes.get(t.dtype)
        if sizes is None:
            sizes = byte_sizes[t.dtype] = {}
        b = sizes.get(e)
        if b is None:
            b = sizes[e] = -(-e * (bits_override or dtypes.bits(t.dtype)) // 8)
        k = index[root] = len(elements)
        elements.append(e)
        nbytes.append(b)
        first.append(at)
        last.append(at)
        if at >= 0:
            created[at] += e
            created_bytes[at] += b
        else:
            before[0] += e
            before[1] += b
        return k

    node_layer: dict[str, int] = {}  # built only if some output is a view of another layer's

    def creator(root: str) -> int:
        """The layer creating ``root`` (-1: none), whose view a later layer outputs."""
        producer = g.producer(root)
        if producer is None:
            return -1
        if not node_layer:
            node_layer.update((nid, k) for k, lay in enumerate(layers) for nid in lay.nodes)
        return node_layer[producer.id]

    for t in g.inputs:
        if root_of(t, t) not in index:
            make(root_of(t, t), -1)
    io_elems, io_bytes = zeros(n), zeros(n)
    read_bytes, write_bytes = zeros(n), zeros(n)
    late: list[int] = []  # layers reading a storage that only a later layer outputs (none, grouped)
    get = index.get
    # One pass over the layers: each creates the storages of its outputs, is the last reader of
    # its inputs' so far and sums what it reads and writes (an input's storage exists by then:
    # a graph input's or an earlier layer's output). Most layers read what the one before wrote
    # (prev): its storage is known without looking its name up.
    prev: str | None = None
    prev_k = -1
    for i, layer in enumerate(layers):
        ins, outs = layer.inputs, layer.outputs
        if len(outs) == 1:
            t = outs[0]
            ro = root_of(t, t)
            ko = get(ro)
            if ko is None:
                if ro == t:  # its own storage, created here (most layers): make() inlined
                    tensor = tensors[t]
                    e = tensor.numel
                    b = byte_sizes.get(tensor.dtype, _NO_SIZES).get(e)
                    if b is None:
                        ko = make(t, i)
                    else:
                        ko = index[t] = len(elements)
                        elements.append(e)
                        nbytes.append(b)
                        first.append(i)
                        last.append(i)
                        created[i] += e
                        created_bytes[i] += b
                else:
                    ko = make(ro, creator(ro))
            write_bytes[i] = nbytes[ko]
        else:
            ko = -1
            for t in outs:
                r = root_of(t, t)
                if r not in index:
                    make(r, i if r == t else creator(r))
            write_bytes[i] = sum([nbytes[index[r]] for r in {root_of(t, t) for t in outs}])
        n_in = len(ins)
        if n_in == 1:
            t = ins[0]
            k = prev_k if t == prev else get(root_of(t, t))
            if k is None:
                late.append(i)
            else:
                if last[k] < i:
                    last[k] = i
                read_bytes[i] = nbytes[k]
                if ko >= 0 and k != ko:  # one storage in, one out: the common case, without a set
                    io_elems[i] = elements[k] + elements[ko]
                    io_bytes[i] = nbytes[k] + nbytes[ko]
                else:
                    io_elems[i], io_bytes[i] = _distinct(ins, outs, aliases, index, elements, nbytes)
        elif n_in == 2 and ko >= 0:  # a binary op (add, mul): two storages in, one out
            t, u = ins
            ka = prev_k if t == prev else get(root_of(t, t))
            kb = prev_k if u == prev else get(root_of(u, u))
            if ka is None or kb is None:
                late.append(i)
            else:
                if last[ka] < i:
                    last[ka] = i
                if last[kb] < i:
                    last[kb] = i
                if ka != kb:
                    read_bytes[i] = nbytes[ka] + nbytes[kb]
                    if ko != ka and ko != kb:
                        io_elems[i] = elements[ka] + elements[kb] + elements[ko]
                        io_bytes[i] = nbytes[ka] + nbytes[kb] + nbytes[ko]
                    else:
                        io_elems[i] = elements[ka] + elements[kb]
                        io_bytes[i] = nbytes[ka] + nbytes[kb]
                else:
                    read_bytes[i] = nbytes[ka]
                    io_elems[i], io_bytes[i] = _distinct(ins, outs, aliases, index, elements, nbytes)
        else:
            missing = False
            for t in ins:
                k = get(root_of(t, t))
                if k is None:
                    missing = True
                elif last[k] < i:
                    last[k] = i
            if missing:
                late.append(i)
            else:
                read_bytes[i] = sum([nbytes[index[r]] for r in {root_of(t, t) for t in ins}])
                io_elems[i], io_bytes[i] = _distinct(ins, outs, aliases, index, elements, nbytes)
        if ko >= 0:
            prev, prev_k = outs[0], ko
        else:
            prev = None
    for i in late:  # every storage exists now
        ins, outs = layers[i].inputs, layers[i].outputs
        for t in ins:
            k = get(root_of(t, t))
            if k is not None and last[k] < i:
                last[k] = i
        read_bytes[i] = sum([nbytes[index[r]] for r in {root_of(t, t) for t in ins}])
        io_elems[i], io_bytes[i] = _distinct(ins, outs, aliases, index, elements, nbytes)
    for t in g.outputs:
        k = get(root_of(t, t))
        if k is not None:
            last[k] = n
    # the name -> number table is the pass's own: a list of the names is what the analysis keeps
    return LayerIO(aliases, list(index), elements, nbytes, first, last, created, created_bytes, *before,
                   io_elems, io_bytes, read_bytes, write_bytes)  # fmt: skip


def _distinct(ins: list[str], outs: list[str], aliases: dict[str, str], index: dict[str, int],
              elements: list[int], nbytes: list[int]) -> tuple[int, int]:  # fmt: skip
    """Elements and bytes of the distinct storages behind ``ins`` and ``outs``."""
    elems = size = 0
    for r in {aliases.get(t, t) for t in (*ins, *outs)}:
        k = index[r]
        elems += elements[k]
        size += nbytes[k]
    return elems, size


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
        io = layer_io(ctx)
        io_elems = io.io_elements
        live_elems, live_bytes = _live(io, len(layers))
        res = MetricResult()
        res.layers = ctx.columns({  # type: ignore[assignment]  # column-wise: no dict per layer
            "activations": int_column(io.created), "io_activations": int_column(io_elems),
            "live_activations": int_column(live_elems),
        })  # fmt: skip
        peak_i = _argmax(io_elems)
        live_i = _argmax(live_elems)
        res.totals = {
            "total_activations": sum(io.elements),
            "total_activation_bytes": sum(io.nbytes),
            "peak_activations": io_elems[peak_i] if layers else 0,
            "peak_activation_bytes": max(io.io_bytes, default=0),
            "peak_live_activations": live_elems[live_i] if layers else 0,
            "peak_live_activation_bytes": max(live_bytes, default=0),
        }
        res.details = {
            "peak_layer": layers[peak_i].name if layers else None,
            "peak_live_layer": layers[live_i].name if layers else None,
            "input_activations": io.input_elements,
        }
        return res


def _live(io: LayerIO, n: int) -> tuple[Sequence[int], Sequence[int]]:
    """Per layer, the elements and bytes of the storages alive then (difference arrays: linear time).

    A storage is alive from the layer creating it (graph inputs: the first) to its last reader
    (clamped to the last layer; an input nothing reads: never): each layer's created storages are
    added where it runs, and each storage is taken off after its last reader.
    """
    try:
        return _live_sums(io, n, _int64)
    except OverflowError:  # a sum beyond 64 bits (no real model): Python ints
        return _live_sums(io, n, list)


def _int64(values: Iterable[int]) -> MutableSequence[int]:
    return array("q", values)


def _live_sums(io: LayerIO, n: int, store: Callable[[Iterable[int]], MutableSequence[int]]) -> tuple[Sequence[int], Sequence[int]]:
    d_elems, d_bytes = store(io.created), store(io.created_bytes)
    d_elems.append(0)
    d_bytes.append(0)
    if n:
        d_elems[0] += io.input_elements
        d_bytes[0] += io.input_bytes
    end = n - 1
    for hi, e, b in zip(io.last, io.elements, io.nbytes, strict=True):
        if hi < end:  # (living to the last layer or beyond: nothing to take off)
            d_elems[hi + 1] -= e
            d_bytes[hi + 1] -= b
    d_elems.pop()
    d_bytes.pop()
    return store(accumulate(d_elems)), store(accumulate(d_bytes))


_NO_SIZES: dict[int, int] = {}


def _argmax(values: list[int]) -> int:
    """The first index of the largest value (0 for none)."""
    return values.index(max(values)) if values else 0


@hookimpl
def analyzer_register_metrics(register):
    register(ActivationsMetric())
