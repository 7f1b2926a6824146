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
    spatial = [d for d in range(1, ndim) if d != c]
    out: RF = {}
    for i, d in enumerate(spatial):
        if d not in rf:
            return None
        r, j, x = rf[d]
        k = attrs["kernel_size"][i]
        dil = attrs.get("dilation", (1,) * len(spatial))[i]
        keff = dil * (k - 1) + 1
        pad_lo = attrs.get("padding", ((0, 0),) * len(spatial))[i][0]
        out[d] = (r + (keff - 1) * j, j * attrs.get("stride", (1,) * len(spatial))[i], x + ((keff - 1) / 2 - pad_lo) * j)
    return out


def _merge(fields: list[RF | None], shapes: list[tuple[int, ...]]) -> RF | None:
    """Field of an elementwise op: the largest of its inputs' (jumps must agree).

    An input without a field that is size 1 along the other inputs' spatial
    dims (a per-channel gate, as in squeeze-and-excitation) is ignored.
    """
    known = [(f, s) for f, s in zip(fields, shapes, strict=True) if f]
    if not known:
        return None
    dims = set.intersection(*(set(f) for f, _ in known))
    for f, s in zip(fields, shapes, strict=True):
        if not f and any(len(s) > d and s[d] != 1 for d in dims):
            return None
    merged: RF = {}
    for d in dims:
        entries = [f[d] for f, _ in known]
        if len({e[1] for e in entries}) != 1:
            return None  # different strides meet: no single field
        merged[d] = max(entries)
    return merged or None


class ReceptiveFieldMetric(Metric):
    name = "receptive_field"
    quantities = (
        Quantity("receptive_field", "pixel", "input pixels seen by one output element, per spatial dim (null where undefined)",
                 total="own"),  # fmt: skip
        Quantity("receptive_field_jump", "pixel", "input distance between adjacent output elements, per spatial dim",
                 total="own"),  # fmt: skip
        Quantity("max_receptive_field", "pixel", "largest receptive field of any layer, any dim", per_layer=False, total="own"),
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        g = ctx.graph
        fields: dict[str, RF | None] = {}
        for t in g.inputs:
            shape = g.shape(t)
            fields[t] = {d: (1, 1, 0.0) for d in range(1, len(shape))} if len(shape) >= 3 else None
        # ops that keep their input's field, by name (Enum hashing is slow)
        keeps = {d.name for d in ctx.vocabulary if d.category in _PASS} | {"batch_norm", "identity", "copy"}
        infos = g.infos()
        for node in g.nodes():
            op = node.op
            acts = infos[node.id].act_inputs
            first = fields.get(acts[0]) if acts else None
            out: RF | None = None
            if op in keeps:
                if len(acts) > 1:  # a gate may come first: merge all operands
                    out = _merge([fields.get(t) for t in acts], [g.shape(t) for t in acts])
                else:
                    out = first
            elif not first:
                pass
            elif op in _WINDOW_OPS:
                out = _window(first, node.attrs, len(g.shape(acts[0])))
            elif op == "pad" and "pads" in node.attrs:
                # padding shifts where the first element sits; size and jump are unchanged
                out = {d: (r, j, x - node.attrs["pads"][d][0] * j) for d, (r, j, x) in first.items()}
            elif op == "permute":
                perm = node.attrs.get("perm", ())
                out = {i: first[p] for i, p in enumerate(perm) if p in first} or None
            for t in node.outputs:
                fields[t] = out
        res = MetricResult()
        best = 0
        rows: dict[int, dict] = {}  # by field: an elementwise chain shares its input's field object
        for layer in ctx.layers:
            rf = fields.get(layer.outputs[0]) if layer.outputs else None
            if not rf:
                res.layers[layer.name] = {"receptive_field": None, "receptive_field_jump": None}
                continue
            row = rows.get(id(rf))
            if row is None:
                dims = sorted(rf)
                sizes = [rf[d][0] for d in dims]
                best = max(best, *sizes)
                row = rows[id(rf)] = {"receptive_field": sizes, "receptive_field_jump": [rf[d][1] for d in dims]}
            res.layers[layer.name] = {"receptive_field": list(row["receptive_field"]),
                                      "receptive_field_jump": list(row["receptive_field_jump"])}  # fmt: skip
        res.totals = {"max_receptive_field": best}
        return res


@hookimpl
def analyzer_register_metrics(register):
    register(ReceptiveFieldMetric())
