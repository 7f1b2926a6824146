"""FLOPs of elementwise arithmetic and activation functions, per output element.

Costs are typed from the table in docs/metrics.md (not imported from the
formula module), times 30 output elements (shape (2,3,5)).
"""

from __future__ import annotations

import pytest

from ._cases import Case, check, one_op

SHAPE = (2, 3, 5)  # 30 elements

# op -> FLOPs per output element, from docs/metrics.md
UNARY = {
    "neg": 1, "abs": 1, "exp": 1, "log": 1, "sqrt": 1, "rsqrt": 1, "reciprocal": 1, "square": 1,
    "sin": 1, "cos": 1, "erf": 1, "sign": 1, "floor": 1, "ceil": 1, "round": 1, "clamp": 1,
    "cast": 0,  # a conversion, not arithmetic
    "relu": 1, "relu6": 1, "hardtanh": 1,  # one max / one clamp
    "leaky_relu": 2,  # mul, max
    "sigmoid": 4,  # neg, exp, add, div
    "tanh": 5,  # mul, exp, sub, add, div
    "silu": 5,  # sigmoid 4 + mul
    "hardsigmoid": 3,  # add, clamp, div
    "hardswish": 4,  # hardsigmoid 3 + mul
    "elu": 4,  # exp, sub, mul, select
    "selu": 5,  # elu 4 + scale
    "softplus": 3,  # exp, add, log
    "mish": 9,  # softplus 3 + tanh 5 + mul
    "gelu": 5,  # x/sqrt2, erf, +1, *x, *0.5
}  # fmt: skip
BINARY = {
    "add": 1, "sub": 1, "mul": 1, "div": 1, "pow": 1, "maximum": 1, "minimum": 1, "mod": 1,
    "compare": 1, "logical": 1,
}  # fmt: skip

CASES = [
    # unary: cost * 30 elements
    *(Case(op, op, one_op(op, [SHAPE], SHAPE), {"macs": 0, "mac_flops": 0, "other_flops": cost * 30})
      for op, cost in UNARY.items()),
    # binary with broadcasting: (2,3,5) op (3,5) -> 30 outputs, one op each
    *(Case(op, op, one_op(op, [SHAPE, (3, 5)], SHAPE), {"other_flops": cost * 30})
      for op, cost in BINARY.items()),
    # the output counts, not the inputs: (2,1,5) + (3,1) -> (2,3,5) = 30
    Case("add_broadcast_both", "add", one_op("add", [(2, 1, 5), (3, 1)], SHAPE), {"other_flops": 30}),
    # where(cond, a, b): one select per output element = 30
    Case("where", "where", one_op("where", [SHAPE, SHAPE, (5,)], SHAPE), {"other_flops": 30}),
    # fma a*b+c: 2 per element = 60
    Case("fma", "fma", one_op("fma", [SHAPE, SHAPE, SHAPE], SHAPE), {"other_flops": 60}),
    # gelu tanh approximation: 13 per element
    # (x^3 2, *c 1, +x 1, *sqrt(2/pi) 1, tanh 5, +1 1, *x 1, *0.5 1) * 30 = 390
    Case("gelu_tanh", "gelu", one_op("gelu", [SHAPE], SHAPE, {"approximate": "tanh"}), {"other_flops": 390}),
    # explicit approximate="none" is the erf form: 5 * 30 = 150
    Case("gelu_none", "gelu", one_op("gelu", [SHAPE], SHAPE, {"approximate": "none"}), {"other_flops": 150}),
    # a loop body: relu repeated 4 times = 4 * 30 = 120
    Case("relu_repeat", "relu", one_op("relu", [SHAPE], SHAPE, {"repeat": 4}), {"other_flops": 120}),
    # integer tensors: the same count as int ops: add of int8 (2,3,5) = 30 OPs, 0 FLOPs
    Case("add_int8", "add", one_op("add", [SHAPE, SHAPE], SHAPE, dtype="int8"),
         {"flops": 0, "other_flops": 0, "int_ops": 30, "ops": 30}),
    # cast float32 -> int8: no arithmetic either way
    Case("cast_to_int8", "cast", one_op("cast", [SHAPE], SHAPE, out_dtype="int8"), {"ops": 0}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_elementwise(case: Case) -> None:
    check(case)


def test_every_elementwise_and_activation_op_has_a_case() -> None:
    """Every built-in op of those categories is priced here (a plugin's extra ops are its own to test)."""
    from analyzer.core.ops import Category
    from analyzer.core.plugins import load_plugins

    builtins = load_plugins(entry_points=False)  # whatever is installed or allowed: built-ins only
    ops = {
        d.name
        for d in builtins.vocabulary
        if d.category in (Category.ELEMENTWISE, Category.ACTIVATION)
    }
    tested = {c.op for c in CASES}
    assert ops - tested == set()
