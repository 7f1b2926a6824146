"""Traces are reused for the same model, shapes and options, as jax.jit reuses its own."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")

import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402
from jaxfe_models import F32, FlaxCNN, S, mlp_params  # noqa: E402

from analyzer import analyze, to_graph  # noqa: E402


def counting_mlp():
    calls = []

    def fn(params, x):
        calls.append(x.shape)
        return jax.nn.relu(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]

    return fn, calls


def test_same_model_and_shapes_trace_once():
    fn, calls = counting_mlp()
    first = to_graph(fn, S((2, 8), F32), params=mlp_params(), framework="jax")
    again = to_graph(fn, S((2, 8), F32), params=mlp_params(), framework="jax")
    assert len(calls) == 1
    assert again is not first and again.nodes() is not first.nodes()
    assert [n.op for n in again.nodes()] == [n.op for n in first.nodes()]
    assert [n is m for n, m in zip(again.nodes(), first.nodes(), strict=True)] == [False] * len(
        first
    )


def test_other_shapes_dtypes_or_options_trace_again():
    fn, calls = counting_mlp()
    to_graph(fn, S((2, 8), F32), params=mlp_params(), framework="jax")
    to_graph(fn, S((4, 8), F32), params=mlp_params(), framework="jax")  # batch
    to_graph(fn, S((4, 8), jnp.bfloat16), params=mlp_params(), framework="jax")  # dtype
    to_graph(fn, S((4, 8), F32), params=mlp_params(hidden=32), framework="jax")  # params
    to_graph(fn, S((4, 8), F32), params=mlp_params(hidden=32), framework="jax", cache=False)
    assert len(calls) == 5


def test_counts_from_a_reused_trace_are_the_same():
    model, x = FlaxCNN(), S((2, 16, 16, 3), F32)
    first, again = analyze(model, x), analyze(model, x)
    a, b = first.to_dict(), again.to_dict()
    assert a["totals"] == b["totals"] and a["layers"] == b["layers"]


def test_a_mutated_nnx_module_is_traced_again():
    class Net(nnx.Module):
        def __init__(self, rngs):
            self.fc = nnx.Linear(4, 4, rngs=rngs)
            self.drop = nnx.Dropout(0.5, rngs=rngs)

        def __call__(self, x):
            return self.drop(self.fc(x))

    model = Net(nnx.Rngs(0))
    x = S((2, 4), F32)
    training = to_graph(model, x)
    model.eval()  # changes the module's static state: a different computation
    inference = to_graph(model, x)
    assert len(inference) < len(training)  # no dropout mask any more


def test_given_variables_keep_flax_shape_check():
    """Flax's per-parameter re-check is skipped for variables of the right shape only;
    a mismatch still raises Flax's error."""
    from flax.core.scope import Scope

    original = Scope.param
    model, x = FlaxCNN(norm=False), S((1, 16, 16, 3), F32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)
    wrong = jax.tree_util.tree_map(lambda v: v, variables)
    wrong["params"]["Dense_1"]["kernel"] = S((32, 11), F32)  # the module has 10 classes
    assert (
        analyze(model, x).totals["params"] == analyze(model, x, params=variables).totals["params"]
    )
    with pytest.raises(Exception, match="Dense_1"):
        to_graph(model, x, params=wrong)
    with pytest.raises(Exception, match="Dense_1"):  # a linen module applied inside a function
        to_graph(lambda v, x: model.apply(v, x), x, params=wrong, framework="jax")
    assert Scope.param is original  # restored after every trace


def test_entries_go_with_their_model():
    import gc

    from analyzer.plugins.frontends.jax import cache

    cache.clear()
    fn, _ = counting_mlp()
    to_graph(fn, S((2, 8), F32), params=mlp_params(), framework="jax")
    assert len(cache._entries) == 1
    del fn
    gc.collect()
    assert not cache._entries


@pytest.mark.parametrize("case", ["linen_scan", "linen_remat_scan", "hf_resnet_bound_apply"])
def test_quick_init_makes_the_variables_flax_makes(case):
    """Initializers of jax.nn.initializers are replaced by zeros of their shape and dtype
    while the frontend makes variables abstractly: the same tree, shapes and dtypes."""
    import real_models as rm

    from analyzer.plugins.frontends.jax import adapters

    c = rm.CASES[case]()
    module = getattr(c.model, "__self__", c.model)
    kwargs = c.frontend_options.get("call_kwargs", {})
    args = (c.inputs,)
    flax_made = jax.eval_shape(
        lambda *a: module.init(jax.random.key(0), *a, **kwargs), *args
    )  # fmt: skip
    ours = adapters.linen(module, args, None, kwargs).params
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(flax_made)
    specs = [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(ours)]
    assert specs == [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(flax_made)]
