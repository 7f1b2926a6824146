"""Parameter counts: trainable, non-trainable and buffers, each shared tensor once.

A parameter is attributed to the first layer that uses it; later layers
sharing it show it under ``shared_params`` instead, so layer rows add up to
the totals. Parameters no op uses still count in the totals (as
``sum(p.numel())`` over a model does) and appear as ``unused_params``.
Step counters (role ``counter``, e.g. PyTorch's ``num_batches_tracked``)
are not weights and are left out; with ``bias=False`` so are biases.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from fnmatch import fnmatchcase
from operator import attrgetter
from typing import NamedTuple

from analyzer.core import dtypes
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Param
from analyzer.core.layers import Layer
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.options import AnalysisOptions
from analyzer.plugins.metrics.columns import int_columns


def counted(param: Param, options: AnalysisOptions) -> bool:
    """Does ``param`` count as a weight under ``options``?"""
    if param.role == "counter":
        return False
    return options.bias or param.role != "bias"


def weight_bits(param_name: str, dtype: str, layer: str, options: AnalysisOptions) -> int:
    """The bit width ``param_name`` is stored at in layer ``layer`` (metrics.model_size)."""
    for pattern, bits in options.layer_bits.items():
        if fnmatchcase(layer, pattern) or fnmatchcase(param_name, pattern):
            return int(bits)
    return options.weight_bits or dtypes.bits(dtype)


def owner_layers(graph: Graph, layers: list[Layer]) -> dict[str, str]:
    """Parameter name -> name of the first layer using it."""
    return _claims(layers)[0]


def _claims(layers: list[Layer]) -> tuple[dict[str, str], set[str]]:
    """``owner_layers``, and the parameters more than one layer uses (tied weights: rare)."""
    owner: dict[str, str] = {}
    reused: set[str] = set()
    for layer in layers:
        names = layer.params
        if names:
            name = layer.name
            for p in names:
                if p in owner:
                    if owner[p] != name:
                        reused.add(p)
                else:
                    owner[p] = name
    return owner, reused


def counted_params(ctx: MetricContext) -> Mapping[str, Param]:
    """The parameters that count as weights under the analysis options, by name (built once per
    analysis; read-only: the graph's own table when every parameter counts)."""
    return ctx.derived(_counted_params)


_ROLE = attrgetter("role")


def _counted_params(ctx: MetricContext) -> Mapping[str, Param]:
    params = ctx.graph.params
    left_out = {"counter"} if ctx.options.bias else {"counter", "bias"}  # ``counted``, for every param
    if left_out.isdisjoint(map(_ROLE, params.values())):
        return params  # no copy of a million-entry table (read-only, as every derived structure)
    return {n: p for n, p in params.items() if p.role not in left_out}


def param_owners(ctx: MetricContext) -> dict[str, str]:
    """``owner_layers`` of the analysed graph, built once per analysis, when first asked for (the
    built-in metrics need no such table: a million-parameter dict)."""
    return ctx.derived(_param_owners)


def _param_owners(ctx: MetricContext) -> dict[str, str]:
    return _claims(ctx.layers)[0]


def reused_params(ctx: MetricContext) -> set[str]:
    """Parameters more than one layer uses (tied weights); read-only."""
    return ctx.derived(_weights).reused


def unused_params(ctx: MetricContext) -> Collection[str]:
    """Counted parameters no layer uses (they count in the totals, in no layer); read-only."""
    return ctx.derived(_weights).unused


class ParamsMetric(Metric):
    name = "params"
    quantities = (
        Quantity("params", "element", "trainable parameter elements; shared tensors once; bias per the bias option",
                 label="params", group="weights"),  # fmt: skip
        Quantity("non_trainable_params", "element",
                 "non-trainable parameters and state buffers (BatchNorm running statistics); step counters excluded", label="non-trainable params", display="total", group="weights"),  # fmt: skip
        Quantity("buffers", "element", "elements of framework buffers (PyTorch register_buffer), a subset of non_trainable_params",
                 label="buffers", display="total", group="weights"),  # fmt: skip
        Quantity("total_params", "element", "params + non_trainable_params", per_layer=False,
                 label="total params", group="weights"),  # fmt: skip
        Quantity("shared_params", "element", "parameters this layer uses that an earlier layer owns (tied weights)",
                 label="shared params", display="total", group="weights"),  # fmt: skip
        Quantity("unused_params", "element", "parameters no op uses (counted in the totals, in no layer)", per_layer=False,
                 label="unused params", group="weights"),  # fmt: skip
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        weights, counted = layer_weights(ctx), counted_params(ctx)
        # every counted parameter is owned by one layer or by none (unused): layer rows + unused
        trainable, frozen, buffers = sum(weights.trainable), sum(weights.frozen), sum(weights.buffers)
        unused = 0
        for name in unused_params(ctx):
            p = counted[name]
            unused += p.numel
            if p.trainable:
                trainable += p.numel
            else:
                frozen += p.numel
            if p.buffer:
                buffers += p.numel
        layers = ctx.columns({
            "params": weights.trainable, "non_trainable_params": weights.frozen,
            "buffers": weights.buffers, "shared_params": weights.shared,
        })  # fmt: skip
        totals = {"params": trainable, "non_trainable_params": frozen, "buffers": buffers,
                  "unused_params": unused, "total_params": trainable + frozen}  # fmt: skip
        return MetricResult(layers=layers, totals=totals)  # type: ignore[arg-type]


class LayerWeights(NamedTuple):
    """Per layer of ``ctx.layers``, in order, what its counted weights add up to: the elements it
    owns (trainable, frozen, buffers), those it uses that an earlier layer owns (shared), and the
    bits the ones it owns are stored in (``weight_bits``). One pass for params and model_size."""

    trainable: Sequence[int]
    frozen: Sequence[int]
    buffers: Sequence[int]
    shared: Sequence[int]
    bits: Sequence[int]


def layer_weights(ctx: MetricContext) -> LayerWeights:
    """``LayerWeights`` of the analysed graph, built once per analysis; read-only."""
    return ctx.derived(_weights).layers


class _Weights(NamedTuple):
    reused: set[str]
    unused: Collection[str]
    layers: LayerWeights


def _weights(ctx: MetricContext) -> _Weights:
    """One pass over the layers' parameters: ``LayerWeights``, the reused and the unused ones."""
    opts = ctx.options
    counted = counted_params(ctx)
    weight = counted.get
    by_dtype = not opts.layer_bits  # no pattern applies: a width per dtype
    widths: dict[str, int] = {}
    seen: set[str] = set()  # every parameter some layer uses (kept for this pass only)
    reused: set[str] = set()
    rows: list[tuple[int, int, int, int, int]] = []
    add = rows.append
    for layer in ctx.layers:
        names = layer.params
        if not names:  # most layers
            add(_NONE)
            continue
        trainable = frozen = buffers = shared = bits = 0
        for name in names:
            if name in seen:  # an earlier layer uses it, so owns it (a layer lists a name once)
                reused.add(name)
                p = weight(name)
                shared += p.numel if p is not None else 0
                continue
            seen.add(name)
            p = weight(name)
            if p is None:
                continue  # not a weight under the options (a step counter; a bias with bias=False)
            if p.trainable:
                trainable += p.numel
            else:
                frozen += p.numel
            if p.buffer:
                buffers += p.numel
            w = widths.get(p.dtype) if by_dtype else None
            if w is None:
                w = weight_bits(name, p.dtype, layer.name, opts)
                if by_dtype:
                    widths[p.dtype] = w
            bits += p.numel * w
        add((trainable, frozen, buffers, shared, bits))
    return _Weights(reused, counted.keys() - seen, LayerWeights(*int_columns(rows, 5)))


_NONE = (0, 0, 0, 0, 0)


@hookimpl
def analyzer_register_metrics(register):
    register(ParamsMetric())
