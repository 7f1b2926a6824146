"""Model size: storage of the weights at their bit widths.

Each counted parameter (see metrics.params) is stored at, in order of
precedence: the bit width of the first ``layer_bits`` pattern matching its
layer's name or its own name (fnmatch), else ``weight_bits``, else its
dtype's width. Bytes are the total bits rounded up to whole bytes;
MB = 10^6 bytes and MiB = 2^20 bytes are reported beside them.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from analyzer.core import dtypes
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.options import AnalysisOptions
from analyzer.plugins.metrics.columns import int_column
from analyzer.plugins.metrics.params import counted_params, param_owners, reused_params


def weight_bits(param_name: str, dtype: str, layer: str, options: AnalysisOptions) -> int:
    for pattern, bits in options.layer_bits.items():
        if fnmatchcase(layer, pattern) or fnmatchcase(param_name, pattern):
            return int(bits)
    return options.weight_bits or dtypes.bits(dtype)


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
        opts = ctx.options
        owner, reused = param_owners(ctx), reused_params(ctx)
        weights = counted_params(ctx)
        weight = weights.get
        by_dtype = not opts.layer_bits  # no pattern applies: a width per dtype
        widths: dict[str, int] = {}
        sizes: list[int] = []  # per layer: bytes of the counted weights it owns
        add = sizes.append
        total_bits = 0
        for layer in ctx.layers:
            names = layer.params
            if not names:  # most layers
                add(0)
                continue
            bits = 0
            for name in names:  # the counted parameters this layer owns
                p = weight(name)
                if p is None or (reused and name in reused and owner[name] != layer.name):
                    continue
                w = widths.get(p.dtype) if by_dtype else None
                if w is None:
                    w = weight_bits(name, p.dtype, layer.name, opts)
                    if by_dtype:
                        widths[p.dtype] = w
                bits += p.numel * w
            total_bits += bits
            add(-(-bits // 8))
        for name in weights.keys() - owner.keys():  # parameters no op uses count in the total
            p = weights[name]
            total_bits += p.numel * weight_bits(name, p.dtype, "", opts)
        size = -(-total_bits // 8)
        return MetricResult(
            layers=ctx.columns({"weight_bytes": int_column(sizes)}),  # type: ignore[arg-type]
            totals={"model_size_bytes": size, "model_size_mb": size / 1e6, "model_size_mib": size / 2**20},
        )


@hookimpl
def analyzer_register_metrics(register):
    register(ModelSizeMetric())
