"""Parameter counts: trainable, non-trainable and buffers, each shared tensor once.

A parameter is attributed to the first layer that uses it; later layers
sharing it show it under ``shared_params`` instead, so layer rows add up to
the totals. Parameters no op uses still count in the totals (as
``sum(p.numel())`` over a model does) and appear as ``unused_params``.
Step counters (role ``counter``, e.g. PyTorch's ``num_batches_tracked``)
are not weights and are left out; with ``bias=False`` so are biases.
"""

from __future__ import annotations

from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Param
from analyzer.core.layers import Layer
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.options import AnalysisOptions


def counted(param: Param, options: AnalysisOptions) -> bool:
    """Does ``param`` count as a weight under ``options``?"""
    if param.role == "counter":
        return False
    return options.bias or param.role != "bias"


def owner_layers(graph: Graph, layers: list[Layer]) -> dict[str, str]:
    """Parameter name -> name of the first layer using it."""
    owner: dict[str, str] = {}
    for layer in layers:
        for p in layer.params:
            if p not in owner:
                owner[p] = layer.name
    return owner


def counted_params(ctx: MetricContext) -> dict[str, Param]:
    """The parameters that count as weights under the analysis options, by name (built once per analysis)."""
    return ctx.derived(_counted_params)


def _counted_params(ctx: MetricContext) -> dict[str, Param]:
    return {n: p for n, p in ctx.graph.params.items() if counted(p, ctx.options)}


def param_owners(ctx: MetricContext) -> dict[str, str]:
    """``owner_layers`` of the analysed graph, built once per analysis."""
    return ctx.derived(_param_owners)


def _param_owners(ctx: MetricContext) -> dict[str, str]:
    return owner_layers(ctx.graph, ctx.layers)


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
        owner = param_owners(ctx)
        weights = counted_params(ctx)
        res = MetricResult()
        for layer in ctx.layers:
            trainable = frozen = buffers = shared = 0
            for name in layer.params:
                p = weights.get(name)
                if p is None:
                    continue
                if owner[name] != layer.name:
                    shared += p.numel
                    continue
                if p.trainable:
                    trainable += p.numel
                else:
                    frozen += p.numel
                if p.buffer:
                    buffers += p.numel
            res.layers[layer.name] = {"params": trainable, "non_trainable_params": frozen, "buffers": buffers,
                                      "shared_params": shared}  # fmt: skip
        totals = dict.fromkeys(("params", "non_trainable_params", "buffers", "unused_params"), 0)
        for p in weights.values():
            totals["params" if p.trainable else "non_trainable_params"] += p.numel
            totals["buffers"] += p.numel if p.buffer else 0
            totals["unused_params"] += p.numel if p.name not in owner else 0
        totals["total_params"] = totals["params"] + totals["non_trainable_params"]
        res.totals = totals
        return res


@hookimpl
def analyzer_register_metrics(register):
    register(ParamsMetric())
