"""Parameter counts: trainable, non-trainable and buffers, each shared tensor once.

A parameter is attributed to the first layer that uses it; later layers
sharing it show it under ``shared_params`` instead, so layer rows add up to
the totals. Parameters no op uses still count in the totals (as
``sum(p.numel())`` over a model does) and appear as ``unused_params``.
Step counters (role ``counter``, e.g. PyTorch's ``num_batches_tracked``)
are not weights and are left out; with ``bias=False`` so are biases.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter

from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Param
from analyzer.core.layers import Layer
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.options import AnalysisOptions
from analyzer.plugins.metrics.columns import int_column


def counted(param: Param, options: AnalysisOptions) -> bool:
    """Does ``param`` count as a weight under ``options``?"""
    if param.role == "counter":
        return False
    return options.bias or param.role != "bias"


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
    """``owner_layers`` of the analysed graph, built once per analysis."""
    return ctx.derived(_param_claims)[0]


def reused_params(ctx: MetricContext) -> set[str]:
    """Parameters more than one layer uses (tied weights), built with ``param_owners``; read-only."""
    return ctx.derived(_param_claims)[1]


def _param_claims(ctx: MetricContext) -> tuple[dict[str, str], set[str]]:
    return _claims(ctx.layers)


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
        owner, reused = param_owners(ctx), reused_params(ctx)
        weights = counted_params(ctx)
        weight = weights.get
        rows: list[tuple[int, int, int, int]] = []  # per layer: trainable, frozen, buffers, shared
        add = rows.append
        for layer in ctx.layers:
            names = layer.params
            if not names:  # most layers
                add(_NONE)
                continue
            trainable = frozen = buffers = shared = 0
            for name in names:
                p = weight(name)
                if p is None:
                    continue
                if reused and name in reused and owner[name] != layer.name:
                    shared += p.numel
                    continue
                if p.trainable:
                    trainable += p.numel
                else:
                    frozen += p.numel
                if p.buffer:
                    buffers += p.numel
            add((trainable, frozen, buffers, shared))
        columns = list(zip(*rows, strict=True)) if rows else [()] * 4
        # every counted parameter is owned by one layer or by none (unused): layer rows + unused
        trainable, frozen, buffers = sum(columns[0]), sum(columns[1]), sum(columns[2])
        unused = 0
        for name in weights.keys() - owner.keys():
            p = weights[name]
            unused += p.numel
            if p.trainable:
                trainable += p.numel
            else:
                frozen += p.numel
            if p.buffer:
                buffers += p.numel
        keys = ("params", "non_trainable_params", "buffers", "shared_params")
        layers = ctx.columns({k: int_column(c) for k, c in zip(keys, columns, strict=True)})
        totals = {"params": trainable, "non_trainable_params": frozen, "buffers": buffers,
                  "unused_params": unused, "total_params": trainable + frozen}  # fmt: skip
        return MetricResult(layers=layers, totals=totals)  # type: ignore[arg-type]


_NONE = (0, 0, 0, 0)


@hookimpl
def analyzer_register_metrics(register):
    register(ParamsMetric())
