"""Our FLOPs against XLA's own count, ``jax.jit(f).lower(...).cost_analysis()["flops"]``.

They agree where the conventions agree (contractions, bias adds, ReLU,
pooling, means). Where they differ, each test shows the difference
docs/frontends/jax.md explains: XLA skips padded taps, counts a loop body
once, leaves transcendental functions out of "flops", and counts the
comparisons and integer arithmetic we count as integer ops. For ``cond``
both take the most expensive branch.
"""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402
from jaxfe_models import F32, FlaxCNN, S, mlp, mlp_params  # noqa: E402

from analyzer import analyze  # noqa: E402


def xla_costs(fn, *args) -> dict:
    costs = jax.jit(fn).lower(*args).cost_analysis()
    return costs[0] if isinstance(costs, list) else costs  # a list in older jax


def xla_flops(fn, *args) -> float:
    return xla_costs(fn, *args).get("flops", 0.0)


def ours(fn, *args, **kw) -> dict:
    *params, x = args
    return analyze(fn, x, params=params[0] if params else None, framework="jax", **kw).totals


def test_mlp_agrees():
    p, x = mlp_params(), S((3, 8), F32)
    assert (
        ours(mlp, p, x)["flops"]
        == xla_flops(mlp, p, x)
        == 2 * 3 * (8 * 16 + 16 * 4) + 3 * (16 + 16 + 4)
    )


def test_valid_cnn_agrees():
    model, x = FlaxCNN(padding="VALID", norm=False), S((2, 16, 16, 3), F32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)
    assert analyze(model, x).totals["flops"] == xla_flops(model.apply, variables, x)


def test_same_padding_xla_skips_padded_taps():
    w = S((3, 3, 3, 4), F32)  # HWIO

    def conv(w, x):
        return lax.conv_general_dilated(
            x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    x = S((1, 8, 8, 3), F32)
    mine, xla = ours(conv, w, x)["flops"], xla_flops(conv, w, x)
    assert mine == 2 * 8 * 8 * 4 * 27  # every tap, as the lecture and PyTorch count
    # (output position, tap) pairs inside the 8-wide input along one dim, padding 1 each side
    inside_1d = sum(1 for o in range(8) for t in range(3) if 0 <= o - 1 + t < 8)
    skipped = 8 * 8 * 9 - inside_1d**2  # the 2-D window is separable
    assert (inside_1d, skipped) == (22, 92)
    assert xla == mine - 2 * skipped * 3 * 4  # XLA leaves out the taps on padding


def test_scan_counts_its_body_times_its_length_xla_once():
    p = {"wx": S((8, 16), F32), "wh": S((16, 16), F32)}

    def step(p, h, x):
        return jax.nn.relu(x @ p["wx"] + h @ p["wh"])

    def rnn(p, xs):
        return lax.scan(lambda h, x: (step(p, h, x), None), jnp.zeros((2, 16)), xs)[0]

    def one_step(p, x):
        return step(p, jnp.ones((2, 16)), x[0])

    xs = S((10, 2, 8), F32)
    body = ours(one_step, p, xs)["flops"]
    assert body == xla_flops(one_step, p, xs) == 2 * 2 * 16 * (8 + 16) + 2 * 2 * 16
    assert ours(rnn, p, xs)["flops"] == 10 * body
    assert ours(rnn, p, xs)["macs"] == 10 * 2 * 16 * (8 + 16)
    assert body <= xla_flops(rnn, p, xs) <= body + 4  # + the loop counter's add and compare


def test_cond_both_take_the_most_expensive_branch():
    def branch_a(x):
        return x * 2.0

    def branch_b(x):
        return x @ jnp.ones((4, 4))

    def predicate(x):
        return (x.sum() > 0).astype(jnp.int32)

    def cond(x):
        return lax.cond(x.sum() > 0, branch_a, branch_b, x)

    x = S((2, 4), F32)
    xla = xla_flops(cond, x)
    assert xla == xla_flops(predicate, x) + max(xla_flops(branch_a, x), xla_flops(branch_b, x))
    report = analyze(cond, x, framework="jax")
    assert report.totals["flops"] == ours(predicate, x)["flops"] + ours(branch_b, x)["flops"]
    assert any("cond" in w and "most expensive" in w for w in report.warnings)


def test_transcendentals_are_not_xla_flops():
    w, x = S((8, 16), F32), S((4, 8), F32)

    def layer(w, x):
        return jnp.tanh(x @ w)

    costs, mine = xla_costs(layer, w, x), ours(layer, w, x)
    n = 4 * 16
    assert costs["transcendentals"] == n
    assert mine["flops"] == costs["flops"] + 5 * n  # tanh is 5 FLOPs in our table, 0 in XLA's


def test_integer_and_boolean_ops_are_ops_not_flops():
    def count(x):
        return (x > 0).sum()

    x = S((4, 8), F32)
    mine = ours(count, x)
    assert mine["flops"] == 0
    assert mine["int_ops"] == 32 + 31  # compare, then the integer sum
    assert xla_flops(count, x) == mine["int_ops"] + 32  # XLA also counts the bool -> int32 convert
