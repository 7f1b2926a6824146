"""Plugin op mappings in the JAX frontend (framework "jax"): a custom primitive mapped to a plugin's
canonical op, by name or by a rule deriving attributes, gets that op's formula."""

from __future__ import annotations

import types

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax.core import ShapedArray  # noqa: E402
from jax.extend.core import Primitive  # noqa: E402

import analyzer  # noqa: E402
from analyzer.core.hookspecs import hookimpl  # noqa: E402
from analyzer.core.ops import Category, OpDef  # noqa: E402

scaled_gemm_p = Primitive("analyzer_test_scaled_gemm")
scaled_gemm_p.def_abstract_eval(
    lambda x, w, *, scale: ShapedArray((x.shape[0], w.shape[1]), x.dtype)
)


def apply(params, x):
    return jnp.tanh(scaled_gemm_p.bind(x, params["w"], scale=0.5))


PARAMS = {"w": jnp.ones((4, 8))}
X = jax.ShapeDtypeStruct((3, 4), jnp.float32)


def _macs(v) -> int:
    (m, k), (_, n) = v.in_shape(0), v.in_shape(1)
    return m * k * n


def plugin(target):
    return types.SimpleNamespace(
        __name__="my_jax_plugin",
        analyzer_register_ops=hookimpl(
            lambda register: register(OpDef("my_gemm", Category.CONTRACTION, "scale x @ w"))
        ),
        analyzer_register_formulas=hookimpl(lambda register: register("macs", "my_gemm", _macs)),
        analyzer_register_op_mappings=hookimpl(
            lambda register: register("jax", "analyzer_test_scaled_gemm", target)
        ),
    )


def test_a_mapped_primitive_gets_its_macs() -> None:
    ps = analyzer.load_plugins(extra=[plugin("my_gemm")], entry_points=False)
    r = analyzer.analyze(apply, X, params=PARAMS, plugins=ps)
    node = next(n for n in r.graph.nodes() if n.op == "my_gemm")
    assert node.source_op == "analyzer_test_scaled_gemm"
    assert r.totals["macs"] == 3 * 4 * 8 and r.unsupported == []


def test_a_rule_sets_attributes() -> None:
    rule = lambda e: ("my_gemm", {"scale": e.params["scale"]})  # noqa: E731
    r = analyzer.analyze(
        apply,
        X,
        params=PARAMS,
        plugins=analyzer.load_plugins(extra=[plugin(rule)], entry_points=False),
    )
    assert next(n for n in r.graph.nodes() if n.op == "my_gemm").attrs["scale"] == 0.5


def test_unmapped_the_primitive_is_unsupported() -> None:
    r = analyzer.analyze(apply, X, params=PARAMS, plugins=analyzer.load_plugins(entry_points=False))
    assert [u["op"] for u in r.unsupported] == ["unknown"] and r.totals["macs"] == 0
