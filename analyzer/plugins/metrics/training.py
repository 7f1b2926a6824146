"""Training-memory estimate: weights + gradients + optimizer state + saved activations.

- weights: model_size_bytes (every stored weight, at its bit width);
- gradients: one per trainable parameter, at the parameter's dtype;
- optimizer state per trainable parameter, at its dtype: SGD none,
  momentum 1 buffer, Adam 2 (first and second moments);
- saved activations: every activation storage of the forward pass is kept
  for the backward pass (total_activation_bytes), scaled linearly from the
  graph's batch to ``train_batch``. Frameworks keep somewhat less (in-place
  ops, recomputation) or more (masks, workspace): an estimate, not a plan.
"""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.core import dtypes
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Param
from analyzer.core.metric import Metric, MetricContext, MetricResult, Option, Quantity
from analyzer.plugins.metrics.params import counted_params

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}


class TrainingMemoryMetric(Metric):
    name = "training_memory"
    requires = ("model_size", "activations")
    options = (
        Option("optimizer", str, "adam", "optimizer whose state is counted: sgd 0, momentum 1, adam 2 buffers per parameter",
               choices=tuple(OPTIMIZER_STATES), alias="optimizer"),  # fmt: skip
        Option("train_batch", int, None, "batch size of the estimate (default: the graph's batch)", alias="train_batch",
               minimum=1),
    )
    quantities = (
        Quantity("training_memory_bytes", "byte", "weights + gradients + optimizer state + saved activations",
                 per_layer=False, label="training memory", group="training"),  # fmt: skip
        Quantity("gradient_bytes", "byte", "one gradient per trainable parameter at its dtype", per_layer=False,
                 label="gradients", group="training"),  # fmt: skip
        Quantity("optimizer_state_bytes", "byte", "SGD 0, momentum 1, Adam 2 buffers per trainable parameter",
                 per_layer=False, label="optimizer state", group="training"),  # fmt: skip
        Quantity("saved_activation_bytes", "byte", "total_activation_bytes scaled to the training batch",
                 per_layer=False, label="saved act.", group="training"),  # fmt: skip
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        optimizer = ctx.option("optimizer")  # one of OPTIMIZER_STATES: checked when options are resolved
        states = OPTIMIZER_STATES[optimizer]
        trainable_bits = _trainable_bits(counted_params(ctx).values())
        grad = -(-trainable_bits // 8)
        base = ctx.graph.batch_size()
        batch = ctx.option("train_batch") or base
        saved = ctx.result("activations").totals["total_activation_bytes"] * batch // base
        weights = ctx.result("model_size").totals["model_size_bytes"]
        return MetricResult(
            totals={
                "training_memory_bytes": weights + grad + states * grad + saved,
                "gradient_bytes": grad,
                "optimizer_state_bytes": states * grad,
                "saved_activation_bytes": saved,
            },
            details={"optimizer": optimizer, "train_batch": batch, "graph_batch": base},
        )


def _trainable_bits(params: Iterable[Param]) -> int:
    """Bits of the trainable ``params`` at their dtypes: elements summed per run of one dtype (a
    model has one or a few), one bit width lookup per dtype."""
    elements: dict[str, int] = {}
    dtype, n = "", 0
    for p in params:
        if p.trainable:
            if p.dtype != dtype:
                elements[dtype] = elements.get(dtype, 0) + n
                dtype, n = p.dtype, 0
            n += p.numel
    elements[dtype] = elements.get(dtype, 0) + n
    return sum(n * dtypes.bits(dtype) for dtype, n in elements.items() if n)


@hookimpl
def analyzer_register_metrics(register):
    register(TrainingMemoryMetric())
