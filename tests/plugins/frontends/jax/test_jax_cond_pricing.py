"""A cond's branches are priced with the user's plugin set, never a global one (docs/plugins.md)."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import analyzer  # noqa: E402

S = jax.ShapeDtypeStruct


def heavy(a):  # 40 sines of 64 elements: elementwise FLOPs only
    for _ in range(40):
        a = jnp.sin(a)
    return a


def switch(w, x):
    return lax.switch(0, [heavy, lambda a: a @ w], x)  # branch 1: 4 x 16 x 16 = 1,024 MACs


def counted_branch(ps: analyzer.PluginSet) -> tuple[int, str]:
    r = analyzer.analyze(switch, S((4, 16), jnp.float32), params=S((16, 16), jnp.float32),
                         framework="jax", plugins=ps)  # fmt: skip
    (warning,) = [w for w in r.warnings if w.startswith("cond")]
    return r.totals["macs"], warning


def test_the_users_formula_tables_choose_the_branch():
    sin_flops = analyzer.analyze(heavy, S((4, 16), jnp.float32), framework="jax",
                                 plugins=analyzer.load_plugins(entry_points=False)).totals["flops"]  # fmt: skip
    assert sin_flops > 2 * 4 * 16 * 16  # with the built-ins, the sines cost more than the matmul
    macs, warning = counted_branch(analyzer.load_plugins(entry_points=False))
    assert macs == 0 and "counted branch 0 of 2" in warning
    # a set without elementwise formulas prices the sines at 0: the matmul branch is the costliest
    macs, warning = counted_branch(analyzer.load_plugins(block=["formulas.elementwise"], entry_points=False))
    assert macs == 4 * 16 * 16 and "counted branch 1 of 2" in warning


def test_each_plugin_set_binds_its_own_frontend():
    a, b = analyzer.load_plugins(entry_points=False), analyzer.load_plugins(entry_points=False)
    assert a.frontends["jax"]._pricing.formulas is a.formulas
    assert b.frontends["jax"]._pricing.formulas is b.formulas is not a.formulas
