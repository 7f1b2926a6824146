"""MAC and dot-product formulas of contraction ops.

Every contraction costs (output elements) x (contraction length) MACs and
forms one dot product per output element, padded taps included: the
convention of the lecture and of the peer tools (XLA skips padded taps;
docs/metrics.md shows the difference).
"""

from __future__ import annotations

import math

from analyzer.core.formulas import OpView, signature_formula
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import numel


@signature_formula
def conv_macs(v: OpView) -> int:
    a = v.attrs
    k = math.prod(a["kernel_size"])
    g = a.get("groups", 1)
    if a.get("transposed", False):
        # every input element scatters into out_channels/g channels through the kernel
        return v.in_numel(0) * (a["out_channels"] // g) * k
    return v.out_numel(0) * (a["in_channels"] // g) * k


@signature_formula
def conv_dots(v: OpView) -> int:
    """One dot product per output element a tap reaches.

    A transposed convolution whose stride exceeds its dilated kernel leaves
    output positions no input reaches (k=1, s=2: every other one); they hold
    no sum of products, so they cost no ``2n-1`` (counting them made exact
    FLOPs negative).
    """
    out = v.out_numel(0)
    a = v.attrs
    if not a.get("transposed", False):
        return out
    x, y = v.in_shape(0), v.out_shape(0)
    c_axis = a.get("channel_axis", 1) % len(x)
    spatial = [d for d in range(1, len(x)) if d != c_axis]  # dim 0 is the batch
    nd = len(spatial)
    kernel, stride = a["kernel_size"], a.get("stride", (1,) * nd)
    dilation, padding = a.get("dilation", (1,) * nd), a.get("padding", ((0, 0),) * nd)
    for dim, k, s, d, (lo, _) in zip(spatial, kernel, stride, dilation, padding, strict=True):
        taps = {i * s + j * d - lo for i in range(x[dim]) for j in range(k)}
        reached = len(taps & set(range(y[dim])))
        out = out // y[dim] * reached
    return out


@signature_formula
def linear_macs(v: OpView) -> int:
    return v.out_numel(0) * v.in_shape(0)[-1]


@signature_formula
def matmul_macs(v: OpView) -> int:
    return v.out_numel(0) * v.in_shape(0)[-1]


@signature_formula
def grouped_matmul_macs(v: OpView) -> int:
    """Sum over groups of m_g * k * n (torch._grouped_mm).

    2-d x 3-d (mixture of experts: a's rows sorted by expert, one weight per
    expert): the groups partition a's rows, so the sum is rows x k x n,
    whatever the routing; 3-d x 2-d and 3-d x 3-d likewise come to output
    elements x k. 2-d x 2-d splits the contraction instead: the output
    (groups, m, n) holds one m x n block per group, and the groups' k add
    up to a's k, so the sum is m * n * k.
    """
    a, b, out = v.in_shape(0), v.in_shape(1), v.out_shape(0)
    if len(a) == 2 and len(b) == 2:
        return numel(out[1:]) * a[-1]
    return v.out_numel(0) * a[-1]


@signature_formula
def dot_general_macs(v: OpView) -> int:
    lhs = v.in_shape(0)
    return v.out_numel(0) * math.prod(lhs[d] for d in v.attrs["lhs_contracting"])


def einsum_costs(v: OpView) -> tuple[int, int]:
    """(MACs, dot products) of an einsum evaluated pairwise, left to right.

    Each pairwise step costs the product of the sizes of every index of the
    two operands (the nested-loop count); indices still needed by later
    operands or the output are kept, the others are summed away.
    """
    lhs, out = v.attrs["equation"].replace(" ", "").split("->")
    terms = lhs.split(",")
    sizes: dict[str, int] = {}
    for i, term in enumerate(terms):
        for letter, dim in zip(term, v.in_shape(i), strict=True):
            sizes[letter] = max(sizes.get(letter, 1), dim)
    if len(terms) < 2:
        return 0, 0
    macs = dots = 0
    current = set(terms[0])
    for i, term in enumerate(terms[1:], start=1):
        union = current | set(term)
        needed = set(out).union(*terms[i + 1 :])
        keep = union & needed
        macs += math.prod(sizes[c] for c in union)
        dots += math.prod(sizes[c] for c in keep)
        current = keep
    return macs, dots


def attention_shapes(v: OpView) -> tuple[int, int, int, int, int]:
    """(batch*heads, Lq, Lk, E, Ev) of a fused attention op (q's batch dims, so GQA works)."""
    q, k, val = v.in_shape(0), v.in_shape(1), v.in_shape(2)
    return numel(q[:-2]), q[-2], k[-2], q[-1], val[-1]


@signature_formula
def attention_macs(v: OpView) -> int:
    bh, lq, lk, e, ev = attention_shapes(v)
    return bh * lq * lk * (e + ev)  # Q K^T, then A V


@signature_formula
def attention_dots(v: OpView) -> int:
    bh, lq, lk, _, ev = attention_shapes(v)
    return bh * lq * (lk + ev)


RNN_GATES = {"lstm": 4, "gru": 3, "rnn": 1}


@signature_formula
def rnn_macs(v: OpView) -> int:
    """Per step, layer and direction: gates * hidden * (layer input + hidden) MACs."""
    a = v.attrs
    gates = RNN_GATES[a["cell"]]
    h, dirs = a["hidden_size"], 2 if a.get("bidirectional") else 1
    total = 0
    for layer in range(a.get("num_layers", 1)):
        layer_in = a["input_size"] if layer == 0 else h * dirs
        total += dirs * gates * h * (layer_in + h)
    return total * a["steps"] * a["batch"]


def rnn_units(v: OpView) -> int:
    """hidden units x directions x layers x steps x batch: the per-unit multiplier."""
    a = v.attrs
    dirs = 2 if a.get("bidirectional") else 1
    return a["hidden_size"] * dirs * a.get("num_layers", 1) * a["steps"] * a["batch"]


@signature_formula
def rnn_dots(v: OpView) -> int:
    """One dot product of length input+hidden per gate unit per step ([x, h] . [W_ih; W_hh]).

    GRU's candidate gate multiplies the hidden part by the reset gate first,
    so it is two dot products.
    """
    gates = RNN_GATES[v.attrs["cell"]]
    return (gates + (1 if v.attrs["cell"] == "gru" else 0)) * rnn_units(v)


@signature_formula
def rnn_bias(v: OpView) -> int:
    """``n_biases`` bias vectors (PyTorch 2, Keras 1) added to every gate pre-activation."""
    if not v.options.bias:
        return 0
    return v.attrs.get("n_biases", 0) * RNN_GATES[v.attrs["cell"]] * rnn_units(v)


@signature_formula
def linear_bias(v: OpView) -> int:
    return v.out_numel(0) if v.has_bias else 0


@hookimpl
def analyzer_register_formulas(register):
    register("macs", "conv", conv_macs)
    register("macs", "linear", linear_macs)
    register("macs", "matmul", matmul_macs)
    register("macs", "dot_general", dot_general_macs)
    register("macs", "grouped_matmul", grouped_matmul_macs)
    register("macs", "einsum", signature_formula(lambda v: einsum_costs(v)[0]))
    register("macs", "attention", attention_macs)
    register("macs", "rnn", rnn_macs)
    # one dot product per output element for the plain contractions
    plain = ("linear", "matmul", "dot_general", "grouped_matmul")
    register("dots", plain, signature_formula(lambda v: v.out_numel(0)))
    register("dots", "conv", conv_dots)
    register("dots", "einsum", signature_formula(lambda v: einsum_costs(v)[1]))
    register("dots", "attention", attention_dots)
    register("dots", "rnn", rnn_dots)
    register("bias", ("conv", "linear"), linear_bias)
    register("bias", "rnn", rnn_bias)
