"""The one table mapping JAX primitives onto canonical ops.

Each entry is a canonical op name or a rule ``rule(eqn) -> (op, attrs)``
reading the primitive's params and operand shapes. Primitives missing from
the table become ``unknown`` with ``source_op`` set (reported as
unsupported). Call-like primitives (jit, custom_jvp/vjp, remat) and control
flow (scan, cond, while) are not here: the walker inlines them.

Plugins add entries with the ``analyzer_register_op_mappings`` hook
(framework ``"jax"``, a primitive name, to a canonical op or a rule);
``lookup`` consults them first, for the conversion in progress
(``PLUGIN_RULES``, set by ``JaxFrontend``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analyzer.core.ir import Shape
from analyzer.core.op_mappings import ActiveMappings
from analyzer.core.ops import Category, builtin_vocabulary


@dataclass(frozen=True, slots=True)
class EqnView:
    """What a rule sees of one equation."""

    primitive: str
    params: dict[str, Any]
    in_shapes: tuple[Shape, ...]
    in_dtypes: tuple[str, ...]
    out_shapes: tuple[Shape, ...]
    out_dtypes: tuple[str, ...]
    literals: tuple[Any, ...]  # the value of each scalar literal operand, else None


Mapped = tuple[str, dict[str, Any]]
Rule = Callable[[EqnView], Mapped]

# Canonical ops of one operand. A primitive with more operands mapped onto one
# of them (``max(0., x)`` -> ``relu``) keeps only its activation operand,
# whichever position the literals held: the op's input is that activation.
UNARY_OPS = builtin_vocabulary().names(Category.ACTIVATION) | frozenset(
    {"neg", "abs", "exp", "log", "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos", "erf",
     "sign", "floor", "ceil", "round", "cast", "identity", "copy"}
)  # fmt: skip

# Canonical operand order for primitives whose order differs: lax.clamp(lo, x, hi)
# is the IR's clamp(x, lo, hi).
OPERAND_ORDER: dict[str, tuple[int, ...]] = {"clamp": (1, 0, 2)}


def conv_rule(e: EqnView) -> Mapped:
    """conv_general_dilated -> conv; ``lhs_dilation`` > 1 is a transposed convolution."""
    p = e.params
    if p.get("batch_group_count", 1) != 1:
        return "unknown", {"reason": "batch_group_count > 1 (a convolution gradient)"}
    dn = p["dimension_numbers"]
    lhs, rhs = e.in_shapes[0], e.in_shapes[1]
    kernel = tuple(rhs[d] for d in dn.rhs_spec[2:])
    dilation = tuple(int(d) for d in p["rhs_dilation"])
    lhs_dilation = tuple(int(d) for d in p["lhs_dilation"])
    padding = tuple((int(lo), int(hi)) for lo, hi in p["padding"])
    transposed = any(d != 1 for d in lhs_dilation)
    if transposed:
        # jax.lax.conv_transpose: a convolution over the input dilated by the
        # stride; report the stride and padding of the equivalent transposed conv
        stride = lhs_dilation
        padding = tuple(
            (d * (k - 1) - lo, d * (k - 1) - hi)
            for (lo, hi), k, d in zip(padding, kernel, dilation, strict=True)
        )
    else:
        stride = tuple(int(s) for s in p["window_strides"])
    return "conv", {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": int(p["feature_group_count"]),
        "in_channels": lhs[dn.lhs_spec[1]],
        "out_channels": rhs[dn.rhs_spec[0]],
        "channel_axis": int(dn.lhs_spec[1]),
        "transposed": transposed,
    }


def dot_rule(e: EqnView) -> Mapped:
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    return "dot_general", {
        "lhs_contracting": tuple(int(d) for d in lc),
        "rhs_contracting": tuple(int(d) for d in rc),
        "lhs_batch": tuple(int(d) for d in lb),
        "rhs_batch": tuple(int(d) for d in rb),
    }


def ragged_dot_rule(e: EqnView) -> Mapped:
    """``lax.ragged_dot`` (mixture of experts): rows of ``lhs (m, k)`` in groups, each times its
    ``rhs[g]`` of ``(groups, k, n)`` -> ``grouped_matmul`` (MACs ``m k n``, whatever the routing).
    Other layouts (ragged contraction or batch dims) are left unknown."""
    dn = e.params["ragged_dot_dimension_numbers"]
    (lc, rc), (lb, rb) = dn.dot_dimension_numbers
    lhs, rhs = e.in_shapes[0], e.in_shapes[1]
    standard = (
        len(lhs) == 2 and len(rhs) == 3 and tuple(lc) == (1,) and not lb and not rb
        and tuple(dn.lhs_ragged_dimensions) == (0,) and tuple(dn.rhs_group_dimensions) == (0,)
        and tuple(rc) in ((1,), (2,))
    )  # fmt: skip
    if not standard:
        return "unknown", {"reason": "ragged_dot layout other than (m, k) x (groups, k, n)"}
    return "grouped_matmul", {"groups": int(rhs[0])}


def window_rule(op: str) -> Rule:
    """reduce_window_{max,min,sum} -> pooling over the dims whose window is not trivial.

    The channel axis is the last dim (Flax's NHWC) or dim 1 when that one
    has a trivial window; the batch dim 0 is never pooled in practice.
    ``reduce_window_sum`` becomes ``avg_pool``; the frontend fuses the
    division by the window size that follows it.
    """

    def rule(e: EqnView) -> Mapped:
        p = e.params
        if any(d != 1 for d in p["base_dilation"]):
            return "unknown", {"reason": "base dilation"}
        dims, strides = tuple(p["window_dimensions"]), tuple(p["window_strides"])
        pads = tuple((int(lo), int(hi)) for lo, hi in p["padding"])
        rank = len(dims)

        def trivial(i: int) -> bool:
            return dims[i] == 1 and strides[i] == 1 and pads[i] == (0, 0)

        channel = (
            rank - 1 if rank > 2 and trivial(rank - 1) else (1 if rank > 2 and trivial(1) else None)
        )
        pooled = [i for i in range(rank) if i != channel and not (i == 0 and trivial(0))]
        attrs: dict[str, Any] = {
            "kernel_size": tuple(dims[i] for i in pooled),
            "stride": tuple(strides[i] for i in pooled),
            "padding": tuple(pads[i] for i in pooled),
            "dilation": tuple(int(p["window_dilation"][i]) for i in pooled),
            "channel_axis": channel if channel is not None else 0,
        }
        if op == "min":
            attrs["kind"] = "min"  # same comparison count as max pooling
        return ("avg_pool" if op == "sum" else "max_pool"), attrs

    return rule


def reduce_rule(op: str) -> Rule:
    def rule(e: EqnView) -> Mapped:
        return op, {"axes": tuple(int(a) for a in e.params["axes"]), "keepdims": False}

    return rule


def cumulative_rule(e: EqnView) -> Mapped:
    return "cumsum", {
        "axis": int(e.params["axis"]),
        "reverse": bool(e.params.get("reverse", False)),
    }


def kind_rule(op: str, kind: str) -> Rule:
    return lambda e: (op, {"kind": kind})


def max_rule(e: EqnView) -> Mapped:
    """``max(x, 0)`` is a ReLU (what jax.nn.relu lowers to): an in-place activation."""
    zero = [v is not None and float(v) == 0.0 for v in e.literals]
    if len(zero) == 2 and any(zero) and any(v is None for v in e.literals):
        return "relu", {}
    return "maximum", {}


def integer_pow_rule(e: EqnView) -> Mapped:
    y = int(e.params["y"])
    return {2: "square", -1: "reciprocal", 1: "identity"}.get(y, "pow"), {"exponent": y}


def convert_rule(e: EqnView) -> Mapped:
    # a weak-type change only is no conversion at all
    return ("identity" if e.in_dtypes[0] == e.out_dtypes[0] else "cast"), {}


def bitcast_rule(e: EqnView) -> Mapped:
    return ("cast" if e.in_shapes[0] == e.out_shapes[0] else "copy"), {}


def broadcast_rule(e: EqnView) -> Mapped:
    """broadcast_in_dim adding only unit dims is a reshape; otherwise a broadcast view."""
    same = math.prod(e.in_shapes[0]) == math.prod(e.out_shapes[0])
    return ("reshape" if same else "expand"), {}


def pad_rule(e: EqnView) -> Mapped:
    """lax.pad: (lo, hi, interior) per dim; the padding value is the second operand."""
    config = e.params["padding_config"]
    attrs: dict[str, Any] = {
        "pads": tuple((int(lo), int(hi)) for lo, hi, _ in config),
        "mode": "constant",
    }
    if any(interior for *_, interior in config):
        attrs["interior"] = tuple(int(interior) for *_, interior in config)
    value = e.literals[1] if len(e.literals) > 1 else None
    attrs["value"] = value if value is not None else "operand"  # a non-literal value: not folded
    return "pad", attrs


def div_rule(e: EqnView) -> Mapped:
    """A division by a scalar literal records it (``jnp.mean`` divides a sum by the count)."""
    d = e.literals[1] if len(e.literals) > 1 else None
    return "div", ({"divisor": d} if d is not None and e.literals[0] is None else {})


def axis_rule(op: str, param: str) -> Rule:
    return lambda e: (op, {"axis": int(e.params[param])})


PRIMITIVE_OPS: dict[str, str | Rule] = {
    # contractions
    "conv_general_dilated": conv_rule,
    "dot_general": dot_rule,
    "ragged_dot_general": ragged_dot_rule,
    # binary arithmetic
    "add": "add", "add_any": "add", "sub": "sub", "mul": "mul", "div": div_rule, "rem": "mod",
    "pow": "pow", "max": max_rule, "min": "minimum", "select_n": "where", "clamp": "clamp",
    # unary arithmetic
    "neg": "neg", "abs": "abs", "sign": "sign", "floor": "floor", "ceil": "ceil", "round": "round",
    "exp": "exp", "exp2": "exp", "expm1": "exp", "log": "log", "log1p": "log",
    "sqrt": "sqrt", "rsqrt": "rsqrt", "cbrt": "pow", "square": "square", "integer_pow": integer_pow_rule,
    "sin": "sin", "cos": "cos", "erf": "erf", "erfc": "erf",
    "logistic": "sigmoid", "tanh": "tanh",
    "convert_element_type": convert_rule, "reduce_precision": "cast", "bitcast_convert_type": bitcast_rule,
    # comparisons and logic
    "eq": kind_rule("compare", "eq"), "ne": kind_rule("compare", "ne"), "lt": kind_rule("compare", "lt"),
    "le": kind_rule("compare", "le"), "gt": kind_rule("compare", "gt"), "ge": kind_rule("compare", "ge"),
    "is_finite": kind_rule("compare", "isfinite"),
    "and": kind_rule("logical", "and"), "or": kind_rule("logical", "or"),
    "not": kind_rule("logical", "not"), "xor": kind_rule("logical", "xor"),
    # bit manipulation (random bits -> floats in dropout): one integer op per element
    "shift_left": kind_rule("logical", "shl"), "shift_right_logical": kind_rule("logical", "shr"),
    "shift_right_arithmetic": kind_rule("logical", "sar"),
    "population_count": kind_rule("logical", "popcnt"), "clz": kind_rule("logical", "clz"),
    # reductions and scans
    "reduce_sum": reduce_rule("reduce_sum"), "reduce_max": reduce_rule("reduce_max"),
    "reduce_min": reduce_rule("reduce_min"), "reduce_prod": reduce_rule("reduce_prod"),
    "reduce_and": reduce_rule("reduce_min"), "reduce_or": reduce_rule("reduce_max"),
    "argmax": reduce_rule("argmax"), "argmin": reduce_rule("argmin"),
    "cumsum": cumulative_rule, "cumprod": cumulative_rule, "cummax": cumulative_rule, "cummin": cumulative_rule,
    # pooling
    "reduce_window_max": window_rule("max"), "reduce_window_min": window_rule("min"),
    "reduce_window_sum": window_rule("sum"),
    # views
    "reshape": "reshape", "squeeze": "reshape", "expand_dims": "reshape", "broadcast_in_dim": broadcast_rule,
    "transpose": lambda e: ("permute", {"perm": tuple(int(d) for d in e.params["permutation"])}),
    "slice": "slice", "dynamic_slice": "slice", "split": axis_rule("split", "axis"),
    # data movement
    "concatenate": axis_rule("concat", "dimension"), "pad": pad_rule, "gather": "gather",
    "scatter": "scatter", "scatter-add": "scatter", "scatter_add": "scatter", "scatter_mul": "scatter",
    "scatter_min": "scatter", "scatter_max": "scatter", "dynamic_update_slice": "scatter",
    "rev": lambda e: ("flip", {"axes": tuple(int(d) for d in e.params["dimensions"])}),
    "copy": "copy", "copy_p": "copy", "sort": "sort", "top_k": "sort",
    # tensor creation (random bits: no FLOPs counted)
    "iota": "constant", "full": "constant", "random_bits": "constant", "random_seed": "constant",
    "random_split": "constant", "random_fold_in": "constant", "threefry2x32": "constant",
    "rng_bit_generator": "constant", "rng_uniform": "constant",
    "random_wrap": "copy", "random_unwrap": "copy",
}  # fmt: skip

PLUGIN_RULES: ActiveMappings[str | Rule] = ActiveMappings("jax_plugin_rules")


def lookup(primitive: str) -> str | Rule | None:
    """The canonical op or rule of ``primitive``: a plugin's mapping first, then ``PRIMITIVE_OPS``."""
    plugin = PLUGIN_RULES.get()
    return (plugin.get(primitive) if plugin else None) or PRIMITIVE_OPS.get(primitive)


# Side effects without a result (jax.debug.print, callbacks): no node.
EFFECTS_ONLY = frozenset({"debug_callback", "debug_print"})

# Primitives that do nothing to their operands: outputs alias inputs, no node.
ALIASES = frozenset(
    {
        "device_put",
        "optimization_barrier",
        "stop_gradient",
        "sharding_constraint",
        "pvary",
        "mesh_cast",
        "reshard",
    }
)
