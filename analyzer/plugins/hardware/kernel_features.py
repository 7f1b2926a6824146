"""What the host's kernel-level model knows about one op: its kernel class and a feature vector.

The same ``OpShape`` describes a graph node (``from_node``) and a
micro-benchmark of ``calibrate``, so both give the predictor the same
features. Kernel classes (one predictor each): ``conv`` (dense, grouped,
depthwise and pointwise alike, told apart by features), ``gemm`` (linear,
matmul, einsum), ``attention`` (fused scaled-dot-product), ``elementwise``
(activations and arithmetic), ``normalization`` (norms, softmax),
``pooling``, ``reduction``, ``movement`` (concat, copies, gathers); views
cost one dispatch each (``view``). Sizes enter as log2, so the trees split
on orders of magnitude; the target is the log of time over a nominal
roofline (``nominal_s``), so a layer larger than every benchmark is
extrapolated at the ratio the largest ones showed, not clamped to their time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from analyzer.core.ir import numel

CLASSES = (
    "conv",
    "gemm",
    "attention",
    "elementwise",
    "normalization",
    "pooling",
    "reduction",
    "movement",
)
VIEW_OPS = frozenset({"reshape", "permute", "expand", "slice", "split", "identity"})
GEMM_OPS = frozenset({"linear", "matmul", "einsum", "dot_general", "grouped_matmul"})
NORM_OPS = (
    "batch_norm",
    "layer_norm",
    "group_norm",
    "instance_norm",
    "rms_norm",
    "softmax",
    "log_softmax",
)
POOL_OPS = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool")
REDUCE_OPS = ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "argmax", "argmin",
              "reduce_var", "cumsum")  # fmt: skip
# Elementwise ops by cost per element in PyTorch's CPU kernels (0 cheap ... 3 transcendental).
ELEMENTWISE_COST = {
    "relu": 0, "add": 0, "sub": 0, "mul": 0, "neg": 0, "abs": 0, "maximum": 0, "minimum": 0, "clamp": 0,
    "relu6": 0, "hardtanh": 0, "leaky_relu": 0, "cast": 0, "where": 0, "compare": 0, "logical": 0, "square": 0,
    "floor": 0, "ceil": 0, "round": 0, "sign": 0, "fma": 0,
    "div": 1, "hardswish": 1, "hardsigmoid": 1, "reciprocal": 1, "sqrt": 1, "rsqrt": 1, "mod": 1,
    "sigmoid": 2, "silu": 2, "exp": 2, "log": 2, "tanh": 2, "elu": 2, "selu": 2, "softplus": 2, "pow": 2,
    "gelu": 3, "erf": 3, "mish": 3, "sin": 3, "cos": 3,
}  # fmt: skip
MOVEMENT_OPS = ("concat", "stack", "pad", "gather", "scatter", "copy", "tile", "flip", "embedding", "resize",
                "constant")  # fmt: skip
N_FEATURES = 13
# Nominal rates of the target's denominator: fixed numbers, not this machine's (the trees learn the ratio).
NOMINAL_MACS_PER_S = 2e10
NOMINAL_BYTES_PER_S = 1e10
NOMINAL_CALL_S = 2e-6


@dataclass(frozen=True)
class OpShape:
    """One op as the kernel model sees it: activation inputs, parameters, outputs, attributes."""

    op: str
    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]
    params: tuple[tuple[int, ...], ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    itemsize: int = 4

    def key(self) -> tuple[Any, ...]:
        """The op and its exact shapes (activations, parameters, outputs): two ops with the same
        key are the same layer for the held-out check (attributes are left out on purpose: a
        coarser key flags more, never fewer, coincidences)."""
        return (self.op, self.inputs, self.params, self.outputs)


def from_node(graph: Any, node: Any) -> OpShape:
    ins, params = [], []
    for name in node.inputs:
        spec = graph.spec(name)
        (params if graph.is_param(name) else ins).append(tuple(int(d) for d in spec.shape))
    outs = tuple(tuple(int(d) for d in graph.spec(o).shape) for o in node.outputs)
    itemsize = (
        2
        if str(graph.spec(node.outputs[0]).dtype) in ("float16", "bfloat16")
        else 4
        if node.outputs
        else 4
    )
    return OpShape(node.op, tuple(ins), outs, tuple(params), dict(node.attrs), itemsize)


def kernel_class(s: OpShape) -> str:
    """The predictor an op goes to: one of CLASSES, or ``view`` (one dispatch, no work)."""
    if s.op in VIEW_OPS:
        return "view"
    if s.op == "conv":
        return "conv"
    if s.op in GEMM_OPS:
        return "gemm"
    if s.op in ("attention", "rnn"):
        return "attention"
    if s.op in NORM_OPS:
        return "normalization"
    if s.op in POOL_OPS:
        return "pooling"
    if s.op in REDUCE_OPS:
        return "reduction"
    if s.op in ELEMENTWISE_COST:
        return "elementwise"
    return "movement"


def _lg(x: float) -> float:
    return math.log2(max(float(x), 1.0))


def _elems(shapes: tuple[tuple[int, ...], ...]) -> int:
    return sum(numel(s) for s in shapes)


def macs(s: OpShape) -> float:
    """Multiply-accumulates of a contraction (0 for other ops): the analyzer's formulas, simplified."""
    out = numel(s.outputs[0]) if s.outputs else 0
    if s.op == "conv" and s.params:
        w = s.params[0]
        return float(out * numel(w[1:]))  # c_out x (c_in/g x k x k) per output position / c_out
    if s.op == "linear" and s.inputs and s.inputs[0]:
        return float(out * s.inputs[0][-1])  # the weight's layout is free: (out, in) or (in, out)
    if s.op in GEMM_OPS and len(s.inputs) + len(s.params) >= 2:
        a = (s.inputs + s.params)[0]
        return float(out * (a[-1] if a else 1))
    if s.op == "attention" and len(s.inputs) >= 3:
        q, k, v = s.inputs[:3]
        return float(numel(q[:-1]) * k[-2] * (q[-1] + v[-1]))
    return 0.0


def weight_elems(s: OpShape) -> int:
    """Parameter elements the op reads: a lookup (embedding) reads only the rows it gathers."""
    if s.op in ("embedding", "gather") and s.outputs:
        return min(_elems(s.params), numel(s.outputs[0]))
    return _elems(s.params)


def nominal_s(s: OpShape) -> float:
    """A fixed-rate roofline of the op: the denominator of the predicted ratio."""
    nbytes = (_elems(s.inputs) + _elems(s.outputs) + weight_elems(s)) * s.itemsize
    return NOMINAL_CALL_S + max(macs(s) / NOMINAL_MACS_PER_S, nbytes / NOMINAL_BYTES_PER_S)


def _pair(v: Any, default: int = 1) -> tuple[int, int]:
    if v is None:
        return default, default
    if isinstance(v, int | float):
        return int(v), int(v)
    flat = [int(x[0]) if isinstance(x, tuple | list) else int(x) for x in v]
    return (flat[0], flat[-1]) if flat else (default, default)


def features(s: OpShape) -> list[float]:
    """The feature vector of ``s`` for its class's predictor (N_FEATURES numbers)."""
    klass = kernel_class(s)
    x = s.inputs[0] if s.inputs else ()
    y = s.outputs[0] if s.outputs else ()
    common = [_lg(macs(s)), _lg(_elems(s.inputs)), _lg(_elems(s.outputs)), _lg(_elems(s.params))]
    if klass == "conv":
        w = s.params[0] if s.params else (1, 1, 1, 1)
        groups = int(s.attrs.get("groups", 1))
        cin = int(s.attrs.get("in_channels", w[1] * groups if len(w) > 1 else 1))
        kh, kw = _pair(s.attrs.get("kernel_size", w[2:4] if len(w) >= 4 else 1))
        sh, _ = _pair(s.attrs.get("stride", 1))
        hw = numel(y[2:]) if len(y) > 2 else 1
        extra = [_lg(cin / groups), _lg(w[0] / groups if w else 1), kh * kw, sh, _lg(groups), _lg(hw),
                 float(groups > 1 and groups == cin), float(len(s.params) > 1)]  # fmt: skip
    elif klass == "gemm":
        a = (s.inputs + s.params)[0] if s.inputs or s.params else (1,)
        k = a[-1] if a else 1
        n = y[-1] if y else 1
        m = numel(y) / max(n, 1)
        weight = float(s.op == "linear")
        batch = numel(y[:-2]) if len(y) > 2 and not weight else 1
        extra = [_lg(m), _lg(n), _lg(k), _lg(batch), weight, float(len(s.params) > 1), 0.0, 0.0]
    elif klass == "attention":
        q = x or (1, 1, 1)
        kv = s.inputs[1] if len(s.inputs) > 1 else q
        extra = [_lg(numel(q[:-2])), _lg(q[-2]), _lg(kv[-2]), _lg(q[-1]), float(bool(s.attrs.get("is_causal"))),
                 float(len(s.inputs) > 3), 0.0, 0.0]  # fmt: skip
    elif klass == "elementwise":
        ins = [numel(i) for i in s.inputs]
        broadcast = float(any(n < numel(y) for n in ins))
        extra = [float(ELEMENTWISE_COST.get(s.op, 1)), float(len(s.inputs)), broadcast, _lg(y[-1] if y else 1),
                 float(_contiguous_last(s)), 0.0, 0.0, 0.0]  # fmt: skip
    elif klass == "normalization":
        axes = s.attrs.get("axes") or (s.attrs.get("axis", -1),)
        inner = (
            numel(tuple(x[a] for a in axes))
            if x and all(-len(x) <= a < len(x) for a in axes)
            else 1
        )
        if s.op in ("batch_norm", "group_norm", "instance_norm"):
            inner = numel(x[2:]) if len(x) > 2 else 1
        channels = x[1] if len(x) > 1 else 1
        extra = [float(NORM_OPS.index(s.op)), _lg(inner), _lg(channels), float(len(s.params) > 0),
                 float(len(x)), 0.0, 0.0, 0.0]  # fmt: skip
    elif klass == "pooling":
        kh, kw = _pair(s.attrs.get("kernel_size", 1))
        sh, _ = _pair(s.attrs.get("stride", kh))
        channels = x[1] if len(x) > 1 else 1
        ph, _ = _pair(s.attrs.get("padding", 0), 0)
        extra = [float(POOL_OPS.index(s.op)), kh * kw, sh, _lg(channels), _lg(numel(y[2:]) if len(y) > 2 else 1),
                 float(ph), _lg(numel(x[2:]) if len(x) > 2 else 1), 0.0]  # fmt: skip
    elif klass == "reduction":
        extra = [
            float(REDUCE_OPS.index(s.op)),
            _lg(x[-1] if x else 1),
            float(len(x)),
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
        ]
    else:  # movement and ops the vocabulary has no kernel class for
        code = MOVEMENT_OPS.index(s.op) if s.op in MOVEMENT_OPS else len(MOVEMENT_OPS)
        extra = [
            float(code),
            float(len(s.inputs)),
            _lg(y[-1] if y else 1),
            float(len(y)),
            0.0,
            0.0,
            0.0,
            0.0,
        ]
    return common + extra + [_alignment(s, klass)]


def _pow2(n: float) -> float:
    """log2 of the largest power of two dividing ``n`` (up to 64): SIMD blocking likes 8, 16, 64."""
    n = int(n)
    k = 0
    while n > 0 and n % 2 == 0 and k < 6:
        n //= 2
        k += 1
    return float(k)


def _alignment(s: OpShape, klass: str) -> float:
    """How well the contraction's channel counts divide into vector blocks (0 for other classes)."""
    if klass == "conv" and s.params:
        w = s.params[0]
        groups = int(s.attrs.get("groups", 1))
        return min(_pow2(w[0] / groups if groups > 1 else w[0]), _pow2(w[1]) if len(w) > 1 else 0.0)
    if klass == "gemm" and s.outputs and s.outputs[0]:
        k = (s.inputs + s.params)[0][-1] if s.inputs or s.params else 1
        return min(_pow2(k), _pow2(s.outputs[0][-1]))
    return 0.0


def _contiguous_last(s: OpShape) -> bool:
    return (
        all(i[-1:] == s.outputs[0][-1:] for i in s.inputs) if s.outputs and s.outputs[0] else True
    )
