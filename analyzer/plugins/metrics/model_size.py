"""Model size: storage of the weights at their bit widths.

Each counted parameter (see metrics.params) is stored at, in order of
precedence: the bit width of the first ``layer_bits`` pattern matching its
layer's name or its own name (fnmatch), else ``weight_bits``, else its
dtype's width. Bytes are the total bits rounded up to whole bytes;
MB = 10^6 bytes and MiB = 2^20 bytes are reported beside them.
"""

from __future__ import annotations

from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.plugins.metrics.columns import int_column
from analyzer.plugins.metrics.params import (
    counted_params,
    layer_weights,
    unused_params,
    weight_bits,
)

__all__ = ["ModelSizeMetric", "weight_bits"]  # weight_bits lives in params (one pass for both metrics)


class ModelSizeMetric(Metric):
    name = "model_size"
    requires = ("params",)
    quantities = (
        Quantity("model_size_bytes", "byte",
                 "sum of counted weights x bit width / 8 (layer_bits > weight_bits > dtype), trainable and non-trainable", label="model size", display="total", group="weights"),  # fmt: skip
        Quantity("model_size_mb", "MB", "model_size_bytes / 10^6", per_layer=False,
                 label="model size (MB)", display="hidden", format="float", group="weights"),  # fmt: skip
        Quantity("model_size_mib", "MiB", "model_size_bytes / 2^20", per_layer=False,
                 label="model size (MiB)", display="hidden", format="float", group="weights"),  # fmt: skip
        Quantity("weight_bytes", "byte", "bytes of the weights this layer owns",
                 label="weight bytes", display="total", group="weights"),  # fmt: skip
    )

    def compute(self, ctx: MetricContext) -> MetricResult:
        bits = layer_weights(ctx).bits  # per layer: the counted weights it owns
        counted = counted_params(ctx)
        total_bits = sum(bits)
        for name in unused_params(ctx):  # parameters no op uses count in the total
            p = counted[name]
            total_bits += p.numel * weight_bits(name, p.dtype, "", ctx.options)
        size = -(-total_bits // 8)
        return MetricResult(
            layers=ctx.columns({"weight_bytes": int_column([-(-b // 8) for b in bits])}),  # type: ignore[arg-type]
            totals={"model_size_bytes": size, "model_size_mb": size / 1e6, "model_size_mib": size / 2**20},
        )


@hookimpl
def analyzer_register_metrics(register):
    register(ModelSizeMetric())
