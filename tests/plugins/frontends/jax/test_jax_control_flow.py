"""Nested jaxprs: calls are inlined, scans repeat their body, cond and while are flagged."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

from analyzer import analyze, to_graph  # noqa: E402

S = jax.ShapeDtypeStruct
F32 = jnp.float32
W = S((16, 16), F32)


def body(w, h):
    return jnp.tanh(h @ w + 1.0)


def totals(fn, x, params=W):
    return analyze(fn, x, params=params, framework="jax")


def test_scan_over_ten_steps_counts_ten_bodies():
    def scanned(w, xs):
        return lax.scan(lambda h, x: (body(w, h + x), None), jnp.zeros((4, 16)), xs)[0]

    def once(w, xs):
        return body(w, jnp.ones((4, 16)) + xs[0])

    xs = S((10, 4, 16), F32)
    one, ten = totals(once, xs), totals(scanned, xs)
    assert ten.totals["macs"] == 10 * one.totals["macs"] == 10 * 4 * 16 * 16
    assert ten.totals["flops"] == 10 * one.totals["flops"]
    repeats = {n.op: n.repeat for n in ten.graph.nodes()}
    assert repeats["linear"] == repeats["tanh"] == 10
    assert not ten.warnings


def test_nested_scans_multiply_and_outputs_stack():
    def inner(w, h):
        return lax.scan(lambda c, _: (body(w, c), c), h, None, length=3)

    def outer(w, x):
        return lax.scan(lambda c, _: inner(w, c), x, None, length=2)

    report = totals(outer, S((4, 16), F32))
    assert report.totals["macs"] == 6 * 4 * 16 * 16
    stacks = [n for n in report.graph.nodes() if n.op == "stack"]
    assert [report.graph.shape(n.outputs[0]) for n in stacks] == [(3, 4, 16), (2, 3, 4, 16)]


def test_static_fori_loop_is_a_scan():
    report = totals(lambda w, h: lax.fori_loop(0, 5, lambda i, c: body(w, c), h), S((4, 16), F32))
    assert report.totals["macs"] == 5 * 4 * 16 * 16
    assert not report.warnings


def test_cond_counts_the_most_expensive_branch_and_says_so():
    def switch(w, x):
        return lax.switch(0, [lambda a: a * 2.0, lambda a: body(w, a), lambda a: a + 1.0], x)

    report = totals(switch, S((4, 16), F32))
    assert report.totals["macs"] == 4 * 16 * 16
    (warning,) = [w for w in report.warnings if w.startswith("cond")]
    assert "branch 1 of 3" in warning and "most expensive" in warning


def test_while_loop_counts_its_body_once_and_is_flagged():
    def loop(w, x):
        return lax.while_loop(lambda c: c.sum() < 10.0, lambda c: body(w, c), x)

    report = totals(loop, S((4, 16), F32))
    assert report.totals["macs"] == 4 * 16 * 16
    assert any("while loop" in w and "trip count unknown" in w for w in report.warnings)
    assert report.graph.meta["warnings"][0] in report.warnings
    # the other iterations' work is missing: a lower bound, never shown as the answer
    quantities = report.to_dict()["completeness"]["quantities"]
    assert not report.complete and quantities["macs"] == {"complete": False, "bound": "lower"}
    assert "total_activations" not in quantities  # the body's tensors are all there


def test_calls_are_inlined():
    @jax.custom_vjp
    def f(x):
        return jnp.sin(x)

    f.defvjp(lambda x: (f(x), x), lambda r, g: (g * jnp.cos(r),))

    def wrapped(w, x):
        x = jax.jit(lambda a: body(w, a))(x)
        x = jax.checkpoint(lambda a: body(w, a))(x)
        return f(x)

    def plain(w, x):
        return jnp.sin(body(w, body(w, x)))

    x = S((4, 16), F32)
    a, b = totals(wrapped, x), totals(plain, x)
    assert (a.totals["macs"], a.totals["flops"]) == (b.totals["macs"], b.totals["flops"])
    assert [n.op for n in a.graph.nodes()] == [n.op for n in b.graph.nodes()]


def test_constants_fold_and_loop_carries_get_a_buffer():
    def fn(x):
        ones = jnp.ones((4, 16)) * 2.0  # folded: a constant, not work
        return lax.scan(lambda c, _: (c + x, None), jnp.zeros((4, 16)), None, length=3)[0] + ones

    graph = to_graph(fn, S((4, 16), F32), framework="jax")
    constant = [n for n in graph.nodes() if n.op == "constant"]
    assert constant and all(graph.tensors[t].constant for n in constant for t in n.outputs)
    (carry,) = [n for n in graph.nodes() if n.op == "copy"]  # the zeros the loop carries
    assert not graph.tensors[carry.outputs[0]].constant
    report = analyze(graph)
    assert report.totals["flops"] == 3 * 64 + 64
