"""Parameter counts equal the sizes of the parameter pytree's leaves, for every model kind."""

from __future__ import annotations

import math

import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")
pytest.importorskip("equinox")

import equinox as eqx  # noqa: E402
from flax import nnx  # noqa: E402
from jaxfe_models import F32, FlaxCNN, S, eqx_model, mlp, mlp_params, nnx_model  # noqa: E402

from analyzer import analyze  # noqa: E402


def leaf_size(tree) -> int:
    return sum(math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(tree))


def test_plain_mlp_params_are_the_pytree_leaves():
    params = mlp_params()
    report = analyze(mlp, S((2, 8), F32), params=params, framework="jax")
    assert report.totals["params"] == leaf_size(params) == 8 * 16 + 16 + 16 * 4 + 4
    assert report.totals["non_trainable_params"] == 0
    graph = report.graph
    assert {p.name: p.role for p in graph.params.values()} == {
        "w1": "weight",
        "b1": "bias",
        "w2": "weight",
        "b2": "bias",
    }


def test_flax_cnn_batch_stats_are_non_trainable():
    model = FlaxCNN()
    x = S((1, 16, 16, 3), F32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)
    report = analyze(model, x)
    assert report.totals["params"] == leaf_size(variables["params"])
    assert report.totals["non_trainable_params"] == leaf_size(variables["batch_stats"]) == 16
    roles = {p.name: (p.role, p.trainable) for p in report.graph.params.values()}
    assert roles["BatchNorm_0.scale"] == ("scale", True)
    assert roles["BatchNorm_0.bias"] == ("shift", True)
    assert roles["batch_stats.BatchNorm_0.mean"] == ("mean", False)
    assert roles["batch_stats.BatchNorm_0.var"] == ("var", False)
    assert roles["Conv_0.bias"] == ("bias", True) and roles["Dense_1.kernel"] == ("weight", True)
    # bias=False drops contraction biases only, not the norm's shift
    no_bias = analyze(model, x, bias=False)
    biases = sum(
        math.prod(v.shape)
        for k, v in variables["params"].items()
        if k != "BatchNorm_0"
        for n, v in v.items()
        if n == "bias"
    )
    assert no_bias.totals["params"] == report.totals["params"] - biases


def test_given_variables_are_used_as_they_are():
    model = FlaxCNN(norm=False)
    x = np.zeros((1, 16, 16, 3), np.float32)
    shapes = jax.eval_shape(model.init, jax.random.key(0), x)
    variables = jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes)  # real arrays
    report = analyze(model, x, params=variables)
    assert report.totals["params"] == leaf_size(variables)
    assert "eval_shape" not in report.model["capture"]


def test_nnx_params_and_batch_stats():
    model = nnx_model()
    report = analyze(model, S((2, 8, 8, 3), F32))
    assert report.totals["params"] == leaf_size(nnx.state(model, nnx.Param))
    assert report.totals["non_trainable_params"] == leaf_size(nnx.state(model, nnx.BatchStat)) == 16
    assert report.model["capture"].startswith("flax.nnx")


class DropoutNet(nnx.Module):
    """RNG state in two places: Dropout's own stream and an ``nnx.Rngs`` kept as an attribute."""

    def __init__(self, rngs: nnx.Rngs):
        self.fc = nnx.Linear(4, 4, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)
        self.rngs = rngs

    def __call__(self, x):
        return self.drop(self.fc(x)) + jax.random.normal(self.rngs.noise(), x.shape)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_nnx_rng_state_is_not_a_parameter(mode):
    model = DropoutNet(nnx.Rngs(0, noise=1))
    getattr(model, mode)()
    assert leaf_size(nnx.state(model, nnx.RngState)) > 0  # keys and counters the model holds
    weights = leaf_size(nnx.state(model, nnx.Param))
    report = analyze(model, (1, 4))
    assert report.totals["params"] == weights == 4 * 4 + 4
    assert report.totals["non_trainable_params"] == 0
    assert report.totals["model_size_bytes"] == 4 * weights
    assert report.totals["macs"] == 4 * 4
    assert not any("rngs" in p for p in report.graph.params)


def test_equinox_params():
    model = eqx_model()
    report = analyze(model, S((3, 8, 8), F32))
    arrays = eqx.filter(model, lambda x: isinstance(x, jax.ShapeDtypeStruct))
    assert report.totals["params"] == leaf_size(arrays)
    assert report.model["capture"].startswith("equinox")
    roles = {p.name: p.role for p in report.graph.params.values()}
    assert roles["norm.weight"] == "scale" and roles["norm.bias"] == "shift"
    assert roles["conv.bias"] == "bias" and roles["mlp.layers.0.weight"] == "weight"


def test_shared_leaves_count_once():
    w = np.zeros((8, 8), np.float32)

    def tied(p, x):
        return (x @ p["enc"]) @ p["dec"].T

    report = analyze(tied, S((2, 8), F32), params={"enc": w, "dec": w}, framework="jax")
    assert report.totals["params"] == 64
    assert list(report.graph.params) == ["dec"]  # both leaves are one parameter


def test_shared_module_called_twice_counts_once():
    class Twice(nnx.Module):
        def __init__(self, rngs):
            self.fc = nnx.Linear(4, 4, rngs=rngs)

        def __call__(self, x):
            return self.fc(self.fc(x))

    model = nnx.eval_shape(lambda: Twice(nnx.Rngs(0)))
    report = analyze(model, S((1, 4), F32))
    assert report.totals["params"] == 20
    assert [row.name for row in report.layers] == ["fc", "fc@1"]
    assert report.layers[1].values["shared_params"] == 20


def test_unused_params_still_count():
    report = analyze(
        lambda p, x: x @ p["w"],
        S((1, 4), F32),
        params={"w": S((4, 4), F32), "spare": S((3,), F32)},
        framework="jax",
    )
    assert report.totals["params"] == 19 and report.totals["unused_params"] == 3


def test_non_array_leaves_are_static():
    linear = eqx.filter_eval_shape(eqx.nn.Linear, 4, 8, key=jax.random.key(0))
    model = eqx.nn.Sequential([linear, eqx.nn.Lambda(jax.nn.relu)])
    report = analyze(lambda m, x: jax.vmap(m)(x), S((5, 4), F32), params=model, framework="jax")
    assert report.totals["params"] == 4 * 8 + 8
    assert report.totals["macs"] == 5 * 4 * 8


def test_function_given_a_flax_variables_dict_splits_collections():
    """HF Flax style: ``apply_fn(variables, x)`` with ``{'params', 'batch_stats'}``."""
    model = FlaxCNN()
    x = S((1, 16, 16, 3), F32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)

    def apply_fn(variables, x):
        return model.apply(variables, x)

    report = analyze(apply_fn, x, params=variables, framework="jax")
    module = analyze(model, x)
    assert report.totals["params"] == leaf_size(variables["params"])
    assert report.totals["non_trainable_params"] == leaf_size(variables["batch_stats"]) == 16
    assert "Flax variables dict" in report.model["capture"]
    # the same parameter names, roles and counts as the module path
    assert {n: (p.role, p.trainable) for n, p in report.graph.params.items()} == {
        n: (p.role, p.trainable) for n, p in module.graph.params.items()
    }
    (bn,) = [n for n in report.graph.nodes() if n.op == "batch_norm"]
    assert bn.attrs["training"] is False  # reads running statistics: inference mode
    assert report.totals["flops"] == module.totals["flops"]


def test_a_params_key_beside_arrays_is_no_variables_dict():
    """Only a mapping of collections is a variables dict; here every leaf is trainable."""
    params = {"params": {"w": S((4, 4), F32)}, "extra": S((4,), F32)}
    report = analyze(
        lambda p, x: x @ p["params"]["w"] + p["extra"], S((1, 4), F32), params=params,
        framework="jax",
    )  # fmt: skip
    assert report.totals["params"] == 20 and report.totals["non_trainable_params"] == 0
