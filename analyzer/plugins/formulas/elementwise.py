"""FLOP formulas of elementwise arithmetic and activation functions.

Costs are per output element and count each primitive operation once
(docs/metrics.md has the table with its derivations):

- arithmetic, comparisons, selects, clamps, single transcendental ops: 1
- fma 2; cast 0 (a conversion, not arithmetic)
- relu 1, relu6 1 (one clamp), hardtanh 1, leaky_relu 2 (mul, max)
- sigmoid 4 (neg, exp, add, div); tanh 5 ((e^2x - 1)/(e^2x + 1): mul, exp, sub, add, div)
- silu 5 (sigmoid, mul); hardsigmoid 3 (add, clamp, div); hardswish 4 (hardsigmoid's 3, mul)
- gelu 5 (x/sqrt2, erf, +1, *x, *0.5); with approximate="tanh" 13
  (x^3: 2, *c: 1, +x: 1, *sqrt(2/pi): 1, tanh: 5, +1: 1, *x: 1, *0.5: 1)
- elu 4 (exp, sub, mul, select); selu 5 (elu, scale); softplus 3 (exp, add, log);
  mish 9 (softplus, tanh, mul)
"""

from __future__ import annotations

from analyzer.core.formulas import Formula, OpView, signature_formula
from analyzer.core.hookspecs import hookimpl


def per_output_element(cost: int) -> Formula:
    """Factory: ``cost`` FLOPs per element of the first output."""

    def formula(v: OpView) -> int:
        return cost * v.out_numel(0)

    formula.__doc__ = f"{cost} per output element"
    return signature_formula(formula)


ELEMENTWISE_COSTS: dict[str, int] = {
    **dict.fromkeys(
        ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "neg", "abs", "exp", "log",
         "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos", "erf", "sign", "floor", "ceil",
         "round", "mod", "compare", "logical", "where", "clamp"),
        1,
    ),  # fmt: skip
    "fma": 2,
    "cast": 0,
}

ACTIVATION_COSTS: dict[str, int] = {
    "relu": 1,
    "relu6": 1,
    "hardtanh": 1,
    "leaky_relu": 2,
    "sigmoid": 4,
    "tanh": 5,
    "silu": 5,
    "hardsigmoid": 3,
    "hardswish": 4,
    "elu": 4,
    "selu": 5,
    "softplus": 3,
    "mish": 9,
}


@signature_formula
def gelu_flops(v: OpView) -> int:
    return (13 if v.attrs.get("approximate") == "tanh" else 5) * v.out_numel(0)


@hookimpl
def analyzer_register_formulas(register):
    for op, cost in {**ELEMENTWISE_COSTS, **ACTIVATION_COSTS}.items():
        register("flops", op, per_output_element(cost))
    register("flops", "gelu", gelu_flops)
