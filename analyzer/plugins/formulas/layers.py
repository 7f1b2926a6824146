"""FLOP formulas of normalization, softmax, pooling, reductions, resize, and the
non-MAC parts of attention and recurrent layers.

Conventions (per element of the tensor named; docs/metrics.md):

- batch_norm at inference 2 (x * s + t with per-channel s, t folded from
  the statistics, as inference kernels do); in training 6 (+ sum, sub,
  square, sum for the batch statistics)
- layer_norm, group_norm, instance_norm 5 (sum, sub, square, sum, scale by
  rsqrt) + 1 per affine parameter (scale, shift); rms_norm 3 (square, sum,
  scale) + 1 with a scale
- softmax 5 (max, sub, exp, sum, div); log_softmax 5 + one log per row
- max_pool K-1 comparisons per output, avg_pool K (K-1 adds, 1 div), K the window size
- reductions n-1 per output (sum, max, min, prod, argmax); mean adds a div per output;
  variance 4 per input element; cumsum 1 per element
- resize: nearest 0; linear 3 per lerp with 2^d - 1 lerps per output;
  cubic 7 per 4-tap interpolation with (4^d - 1)/3 of them; area as adaptive avg pooling
- attention (fused): per score element 1 scale + 1 mask add (with a mask or
  causal) + 5 softmax
- LSTM per hidden unit per step: 3 sigmoids, 2 tanh, 3 for c = f*c + i*g, 1 for
  h = o*tanh(c): 26; GRU: 2 sigmoids, tanh, r*(W h), +, h = (1-z)*n + z*h: 19;
  vanilla RNN: the nonlinearity (tanh 5, relu 1)
"""

from __future__ import annotations

import math

from analyzer.core.formulas import OpView, signature_formula
from analyzer.core.hookspecs import hookimpl
from analyzer.plugins.formulas.contractions import attention_shapes, rnn_units


@signature_formula
def batch_norm_flops(v: OpView) -> int:
    return (6 if v.attrs.get("training") else 2) * v.out_numel(0)


def _affine_terms(v: OpView) -> int:
    return sum(1 for role in ("scale", "shift") if v.param(role) is not None)


@signature_formula
def norm_flops(v: OpView) -> int:
    return (5 + _affine_terms(v)) * v.out_numel(0)


@signature_formula
def rms_norm_flops(v: OpView) -> int:
    return (3 + (1 if v.param("scale") is not None else 0)) * v.out_numel(0)


@signature_formula
def softmax_flops(v: OpView) -> int:
    return 5 * v.out_numel(0)


@signature_formula
def log_softmax_flops(v: OpView) -> int:
    shape = v.out_shape(0)
    n = math.prod(shape)
    axis_len = shape[v.attrs.get("axis", -1)] if shape else 1
    return 5 * n + (n // axis_len if axis_len else 0)


def _window(v: OpView) -> int:
    if "kernel_size" in v.attrs:
        return math.prod(v.attrs["kernel_size"])
    # adaptive pooling: the window covers ceil(in / out) positions per spatial dim
    inp, out = v.in_shape(0), v.out_shape(0)
    c_axis = v.attrs.get("channel_axis", 1) % len(inp)
    dims = [i for i in range(1, len(inp)) if i != c_axis]
    return math.prod(-(-inp[i] // out[i]) for i in dims)


@signature_formula
def max_pool_flops(v: OpView) -> int:
    return (_window(v) - 1) * v.out_numel(0)


@signature_formula
def avg_pool_flops(v: OpView) -> int:
    return _window(v) * v.out_numel(0)


@signature_formula
def reduce_flops(v: OpView) -> int:
    return max(v.in_numel(0) - v.out_numel(0), 0)


@signature_formula
def reduce_mean_flops(v: OpView) -> int:
    return reduce_flops(v) + v.out_numel(0)


@signature_formula
def resize_flops(v: OpView) -> int:
    mode = v.attrs.get("mode", "nearest")
    d = v.attrs.get("spatial_dims", len(v.out_shape(0)) - 2)
    if mode == "nearest":
        return 0
    if mode == "linear":
        return 3 * (2**d - 1) * v.out_numel(0)
    if mode == "cubic":
        return 7 * ((4**d - 1) // 3) * v.out_numel(0)
    if mode == "area":  # the mean of the input window each output covers, as adaptive avg pooling
        return avg_pool_flops(v)
    raise ValueError(f"resize mode {mode!r} has no FLOP formula (nearest, linear, cubic, area)")


@signature_formula
def attention_flops(v: OpView) -> int:
    bh, lq, lk, _, _ = attention_shapes(v)
    masked = v.n_inputs > 3 or v.attrs.get("is_causal", False)
    return bh * lq * lk * (1 + (1 if masked else 0) + 5)


_RNN_UNIT_FLOPS = {"lstm": 26, "gru": 19}


@signature_formula
def rnn_flops(v: OpView) -> int:
    cell = v.attrs["cell"]
    per_unit = _RNN_UNIT_FLOPS.get(cell)
    if per_unit is None:  # vanilla RNN
        per_unit = 1 if v.attrs.get("nonlinearity", "tanh") == "relu" else 5
    return per_unit * rnn_units(v)


@signature_formula
def einsum_flops(v: OpView) -> int:
    # a one-operand einsum is a reduction or a transpose
    return reduce_flops(v) if v.n_inputs == 1 else 0


@hookimpl
def analyzer_register_formulas(register):
    register("flops", "batch_norm", batch_norm_flops)
    register("flops", ("layer_norm", "group_norm", "instance_norm"), norm_flops)
    register("flops", "rms_norm", rms_norm_flops)
    register("flops", "softmax", softmax_flops)
    register("flops", "log_softmax", log_softmax_flops)
    register("flops", ("max_pool", "adaptive_max_pool"), max_pool_flops)
    register("flops", ("avg_pool", "adaptive_avg_pool"), avg_pool_flops)
    register("flops", ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "argmax", "argmin"), reduce_flops)
    register("flops", "reduce_mean", reduce_mean_flops)
    register("flops", "reduce_var", signature_formula(lambda v: 4 * v.in_numel(0)))
    register("flops", "cumsum", signature_formula(lambda v: v.in_numel(0)))
    register("flops", "resize", resize_flops)
    register("flops", "attention", attention_flops)
    register("flops", "rnn", rnn_flops)
    register("flops", "einsum", einsum_flops)
