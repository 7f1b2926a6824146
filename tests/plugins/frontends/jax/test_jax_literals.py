"""Literal operands in any position of any primitive (issue 14: ``jnp.maximum(0., x)``)."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

from analyzer import analyze, to_graph  # noqa: E402

S = jax.ShapeDtypeStruct
X = S((2, 3, 4), jnp.float32)
I = S((2, 3, 4), jnp.int32)  # noqa: E741

# (name, function of x with a literal somewhere): every multi-operand primitive of the table
# with the literal in each position it can take
CASES = [
    ("max 0 first", lambda x: jnp.maximum(0.0, x)),
    ("max 0 last", lambda x: jnp.maximum(x, 0.0)),
    ("max 1 first", lambda x: jnp.maximum(1.0, x)),
    ("min first", lambda x: jnp.minimum(6.0, x)),
    ("add first", lambda x: 1.0 + x),
    ("sub first", lambda x: 1.0 - x),
    ("mul first", lambda x: 2.0 * x),
    ("div first", lambda x: 1.0 / x),
    ("div last", lambda x: x / 4.0),
    ("pow base", lambda x: 2.0**x),
    ("pow exponent", lambda x: lax.pow(x, 2.5)),
    ("rem first", lambda x: lax.rem(5.0, x)),
    ("compare first", lambda x: lax.lt(0.0, x).astype(jnp.float32) * x),
    ("clamp", lambda x: lax.clamp(0.0, x, 6.0)),
    ("clip", lambda x: jnp.clip(x, 0.0, 6.0)),
    ("where literal true", lambda x: jnp.where(x > 0, 0.0, x)),
    ("where literal false", lambda x: jnp.where(x > 0, x, 0.0)),
    ("select_n", lambda x: lax.select_n(x > 0, x, jnp.zeros_like(x))),
    ("pad value", lambda x: lax.pad(x, 0.0, [(1, 1, 0), (0, 0, 0), (0, 0, 1)])),
    ("atan2 first (unknown)", lambda x: jnp.arctan2(1.0, x)),
]
INT_CASES = [
    ("and first", lambda i: lax.bitwise_and(3, i)),
    ("or first", lambda i: lax.bitwise_or(3, i)),
    ("shift first (unknown)", lambda i: lax.shift_left(1, i)),
]


@pytest.mark.parametrize("fn", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_float_literal_in_any_position(fn):
    report = analyze(fn, X, framework="jax")  # validates the graph: shapes consistent
    assert report.totals["total_activations"] >= X.size


@pytest.mark.parametrize("fn", [c[1] for c in INT_CASES], ids=[c[0] for c in INT_CASES])
def test_integer_literal_in_any_position(fn):
    analyze(fn, I, framework="jax")


@pytest.mark.parametrize("fn", [lambda x: jnp.maximum(0.0, x), lambda x: jnp.maximum(x, 0.0)])
def test_relu_reads_its_activation_whichever_side_the_zero_is(fn):
    graph = to_graph(fn, X, framework="jax")
    (relu,) = [n for n in graph.nodes() if n.op == "relu"]
    assert relu.inputs == ("input",)
    report = analyze(fn, X, framework="jax")
    assert report.totals["flops"] == X.size  # one comparison per element, nothing for the literal


def test_clamp_operands_in_canonical_order():
    graph = to_graph(lambda x: lax.clamp(0.0, x, 6.0), X, framework="jax")
    (clamp,) = [n for n in graph.nodes() if n.op == "clamp"]
    assert clamp.inputs[0] == "input"  # the IR's clamp(x, lo, hi); lax has clamp(lo, x, hi)


def test_literal_first_and_last_give_the_same_counts():
    for first, last in (
        (lambda x: jnp.maximum(0.0, x), lambda x: jnp.maximum(x, 0.0)),
        (lambda x: 2.0 * x, lambda x: x * 2.0),
        (lambda x: 1.0 + x, lambda x: x + 1.0),
    ):
        a, b = analyze(first, X, framework="jax"), analyze(last, X, framework="jax")
        for key in ("flops", "total_activations", "peak_activations", "memory_bytes"):
            assert a.totals[key] == b.totals[key], key


def test_an_unmapped_primitive_leaves_only_compute_incomplete():
    report = analyze(lambda x: jnp.arctan2(x, x + 1.0), X, framework="jax")
    (part,) = report.to_dict()["completeness"]["uncounted"]
    assert (part["source_op"], part["hides"], part["bound"]) == ("atan2", ["compute"], "lower")
    quantities = report.to_dict()["completeness"]["quantities"]
    assert "flops" in quantities and "total_activations" not in quantities
