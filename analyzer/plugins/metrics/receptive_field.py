"""Receptive field per layer for convolution/pooling chains.

Per spatial dim, a tensor's receptive field is (size, jump, start): how
many input pixels one element sees, the input distance between adjacent
elements, and the input coordinate of the first element's centre (input
pixel i has centre i). A window op with kernel k, stride s, dilation d and
low padding p maps (r, j, x) to (r + (d(k-1)) j, j s, x + (d(k-1)/2 - p) j)
(Dumoulin & Visin 2016; Araujo et al., Distill 2019). Elementwise ops keep
it (the largest over their inputs when the jumps agree); explicit padding
shifts the start; permutes follow their dims; anything else (reshape, flatten, linear,
global pooling, attention) ends it: the field is undefined (reported as
null) after such a layer.
"""

from __future__ import annotations

from collections.abc import Callable

from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.ops import Category

RF = dict[int, tuple[int, int, float]]  # tensor dim -> (size, jump, start)
_WINDOW_OPS = {"conv", "max_pool", "avg_pool"}
_PASS = (Category.ELEMENTWISE, Category.ACTIVATION)


def _window(rf: RF, attrs: dict, ndim: int) -> RF | None:
    if attrs.get("transposed"):
        return None
    c = attrs.get("channel_axis", 1) % ndim
    kernel, stride = attrs["kernel_size"], attrs.get("stride")
    dilation, padding = attrs.get("dilation"), attrs.get("padding")
    out: RF = {}
    i = 0  # index among the spatial dims (every dim but batch and channels)
    for d in range(1, ndim):
        if d == c:
            continue
        f = rf.get(d)
        if f is None:
            return None
        r, j, x = f
        span = (dilation[i] if dilation else 1) * (kernel[i] - 1)  # effective kernel size - 1
        pad_lo = padding[i][0] if padding else 0
        out[d] = (r + span * j, j * (stride[i] if stride else 1), x + (span / 2 - pad_lo) * j)
        i += 1
    return out


def _merge(fields: list[RF | None], shapes: Callable[[], list[tuple[int, ...]]]) -> RF | None:
    """Field of an elementwise op: the largest of its inputs' (jumps must agree).

    An input without a field that is size 1 along the other inputs' spatial
    dims (a per-channel gate, as in squeeze-and-excitation) is ignored.
    ``shapes`` gives the inputs' shapes, needed only when some input has no field.
    """
    known = [f for f in fields if f]
    if not known:
        return None
    dims = [d for d in known[0] if all(d in f for f in known[1:])]
    if len(known) < len(fields):
        for f, s in zip(fields, shapes(), strict=True):
            if not f and any(len(s) > d and s[d] != 1 for d in dims):
                return None
    merged: RF = {}
    for d in dims:
        entries = [f[d] for f in known]
        jump = entries[0][1]
        if any(e[1] != jump for e in entries):
            return None  # different strides meet: no single field
        merged[d] = max(entries)
    return merged or None


class ReceptiveFieldMetric(Metric):
    name = "receptive_field"
    quantities = (
        Quantity("receptive_field", "pixel", "input pixels seen by one output element, per spatial dim (null where undefined)",
                 aggregate="none", label="receptive field", display="total", format="int", group="rf"),  # fmt: skip
        Quantity("receptive_field_jump", "pixel", "input distance between adjacent output elements, per spatial dim",
                 aggregate="none", label="RF jump", display="total", format="int", group="rf"),  # fmt: skip
        Quantity("max_receptive_field", "pixel", "largest receptive field of any layer, any dim (layers of views excluded)",
                 per_layer=False, aggregate="max", label="max receptive field", format="int", group="rf"),  # fmt: skip
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        g = ctx.graph
        fields: dict[str, RF] = {}  # only tensors that have a field (most have none at scale)
        readers = g.consumer_ids
        live = 0  # reads of tensors with a field still to come: at 0, no later node can get one
        for t in g.inputs:
            shape = g.shape(t)
            if len(shape) >= 3:
                fields[t] = {d: (1, 1, 0.0) for d in range(1, len(shape))}
                live += len(readers(t))
        # ops that keep their input's field, by name (Enum hashing is slow)
        keeps = {"batch_norm", "identity", "copy"}.union(*(ctx.vocabulary.names(c) for c in _PASS))
        field = fields.get
        for node, info in zip(g.nodes(), g.infos().values(), strict=True):  # both in execution order
            if not live:
                break  # every field has been read for the last time (past a reshape, a linear...)
            acts = info.act_inputs
            if not acts:
                continue
            first = field(acts[0])
            if len(acts) == 1:
                if not first:
                    continue  # no field in, none out
                live -= 1
                op = node.op
                if op in keeps:
                    out = first
                elif op in _WINDOW_OPS:
                    out = _window(first, node.attrs, len(g.shape(acts[0])))
                else:
                    out = _other(op, node.attrs, first)
            else:
                known = [field(t) for t in acts]
                reads = len(known) - known.count(None)
                if not reads:
                    continue
                live -= reads
                op = node.op
                if op in keeps:  # a gate may come first: merge all operands
                    out = _merge(known, lambda acts=acts: [g.shape(t) for t in acts])
                elif not first:
                    out = None
                elif op in _WINDOW_OPS:
                    out = _window(first, node.attrs, len(g.shape(acts[0])))
                else:
                    out = _other(op, node.attrs, first)
            if out:
                for t in node.outputs:
                    fields[t] = out
                    live += len(readers(t))
        best = 0
        sizes: list[list[int] | None] = [None] * len(ctx.layers)  # None: no field (undefined)
        jumps: list[list[int] | None] = [None] * len(ctx.layers)
        per_field: dict[int, tuple[list[int], list[int]]] = {}  # id(field) -> its lists (shared)
        # a layer of views computes nothing: it does not count for the maximum (an inference-time
        # dropout is an identity layer in PyTorch and Keras, and no op at all in Flax)
        views = ctx.vocabulary.names(Category.VIEW)
        for i, layer in enumerate(ctx.layers):
            outs = layer.outputs
            rf = field(outs[0]) if outs else None
            if not rf:
                continue
            lists = per_field.get(id(rf))
            if lists is None:
                dims = sorted(rf)
                lists = per_field[id(rf)] = ([rf[d][0] for d in dims], [rf[d][1] for d in dims])
            if not all(g.node(n).op in views for n in layer.nodes):
                best = max(best, *lists[0])
            sizes[i], jumps[i] = lists
        layers = ctx.columns({"receptive_field": sizes, "receptive_field_jump": jumps})
        return MetricResult(layers=layers, totals={"max_receptive_field": best})  # type: ignore[arg-type]


def _other(op: str, attrs: dict, first: RF) -> RF | None:
    """The field after a pad or a permute; None after anything else."""
    if op == "pad" and "pads" in attrs:
        # padding shifts where the first element sits; size and jump are unchanged
        return {d: (r, j, x - attrs["pads"][d][0] * j) for d, (r, j, x) in first.items()}
    if op == "permute":
        perm = attrs.get("perm", ())
        return {i: first[p] for i, p in enumerate(perm) if p in first} or None
    return None


@hookimpl
def analyzer_register_metrics(register):
    register(ReceptiveFieldMetric())
