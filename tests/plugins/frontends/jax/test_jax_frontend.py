"""The frontend's contract: detection without importing jax, inputs, options, one-line errors, CLI."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import textwrap
import types

import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")
pytest.importorskip("equinox")

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jaxfe_models import F32, FlaxCNN, S, eqx_model, mlp, mlp_params, nnx_model  # noqa: E402

from analyzer import Tensor, analyze, to_graph  # noqa: E402
from analyzer.cli import main  # noqa: E402
from analyzer.core.errors import AnalysisError, UsageError  # noqa: E402
from analyzer.plugins.frontends.jax import JaxFrontend  # noqa: E402

FE = JaxFrontend()


def test_accepts_jax_models_only():
    assert FE.accepts(FlaxCNN()) and FE.accepts(nnx_model()) and FE.accepts(eqx_model())
    assert FE.accepts(jax.jit(mlp)) and FE.accepts(mlp)  # mlp's code refers to jax
    assert FE.accepts(FlaxCNN().apply)
    assert not FE.accepts(lambda: jnp.zeros(3))  # a zero-argument SPEC factory, not a model
    assert not FE.accepts(lambda x: x) and not FE.accepts(object()) and not FE.accepts(np.zeros(3))
    torch_code = compile("lambda x: torch.relu(x)", "<model>", "eval")
    torch_like = eval(torch_code, {"torch": types.ModuleType("torch")})  # a function using torch
    assert not FE.accepts(torch_like)


def test_a_users_function_calling_a_users_linen_module_is_a_jax_model():
    """HF-Flax style: ``apply_fn`` refers only to ``cnn``, whose class the user defined."""

    class UserCNN(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool = False):
            x = nn.BatchNorm(use_running_average=not train)(nn.Conv(4, (3, 3))(x))
            return nn.Dense(2)(x.reshape((x.shape[0], -1)))

    UserCNN.__module__ = "__main__"  # as in the user's script
    cnn = UserCNN()
    variables = cnn.init(jax.random.key(0), jnp.ones((1, 6, 6, 1)))
    namespace = {"cnn": cnn}
    exec("def apply_fn(variables, x):\n    return cnn.apply(variables, x, train=False)", namespace)
    apply_fn = namespace["apply_fn"]
    assert FE.accepts(apply_fn)
    r = analyze(apply_fn, (1, 6, 6, 1), params=variables)
    stats = variables["batch_stats"]["BatchNorm_0"]
    assert r.totals["non_trainable_params"] == stats["mean"].size + stats["var"].size
    assert r.totals["params"] == sum(x.size for x in jax.tree_util.tree_leaves(variables["params"]))


def test_a_function_called_with_jax_arrays_is_a_jax_model():
    """Its code refers to nothing from JAX (a helper does): the parameters decide."""
    namespace = {"helper": lambda p, x: jnp.tanh(x @ p["w"])}
    exec("def apply_fn(p, x):\n    return helper(p, x)", namespace)
    apply_fn = namespace["apply_fn"]
    assert not FE.accepts(apply_fn)
    for params in ({"w": jnp.ones((3, 5))}, {"w": S((3, 5), F32)}):
        assert analyze(apply_fn, (2, 3), params=params).totals["macs"] == 2 * 3 * 5
    with pytest.raises(AnalysisError) as e:  # NumPy parameters say nothing about the framework
        analyze(apply_fn, (2, 3), params={"w": np.ones((3, 5))})
    assert (
        "needs framework=" in str(e.value) and '"jax"' in str(e.value) and '"torch"' in str(e.value)
    )
    assert analyze(apply_fn, (2, 3), params={"w": np.ones((3, 5))}, framework="jax").totals["macs"]


def test_detection_does_not_import_jax():
    code = textwrap.dedent(
        """
        import sys
        from analyzer.core.plugins import load_plugins
        fe = load_plugins().frontends["jax"]
        class FakeLinen: pass
        FakeLinen.__module__ = "mymodels"
        assert not fe.accepts(FakeLinen()) and not fe.accepts(lambda x: x + 1)
        leaked = [m for m in sys.modules if m.split(".")[0] in ("jax", "jaxlib", "flax", "equinox")]
        assert not leaked, leaked
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "inputs",
    [
        (2, 8),
        Tensor("input", (2, 8)),
        jnp.zeros((2, 8)),
        np.zeros((2, 8), np.float32),
        S((2, 8), F32),
        [(2, 8)],
    ],
    ids=[
        "shape",
        "tensor-spec",
        "jax-array",
        "numpy-array",
        "shape-dtype-struct",
        "list-of-one-shape",
    ],
)
def test_input_forms(inputs):
    g = to_graph(mlp, inputs, params=mlp_params(), framework="jax")
    assert (
        g.inputs == ["input"]
        and g.shape("input") == (2, 8)
        and g.tensors["input"].dtype == "float32"
    )


def test_several_and_pytree_inputs():
    def fn(p, a, b):
        return a["x"] @ p + b

    g = to_graph(
        fn, ({"x": S((2, 4), F32)}, S((2, 3), F32)), params=S((4, 3), F32), framework="jax"
    )
    assert g.inputs == ["input0.x", "input1"]
    g = to_graph(lambda a, b: a * b, [(2, 3), (2, 3)], framework="jax")
    assert g.inputs == ["input0", "input1"]


def test_call_kwargs_and_bound_apply():
    class Flagged(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool = True):
            x = nn.Dense(4)(x)
            return nn.Dropout(0.5, deterministic=not train)(x)

    model = Flagged()
    x = S((2, 3), F32)
    eval_graph = analyze(model, x, frontend_options={"call_kwargs": {"train": False}}).graph
    assert [n.op for n in eval_graph.nodes()] == ["linear"]
    variables = jax.eval_shape(functools.partial(model.init, train=False), jax.random.key(0), x)
    bound = JaxFrontend().to_graph(model.apply, x, params=variables, call_kwargs={"train": False})
    assert [n.op for n in bound.nodes()] == ["linear"] and bound.name == "Flagged"
    train = analyze(model, x)  # dropout active: gets a dropout rng, its mask is counted
    assert train.totals["macs"] == 2 * 3 * 4 and "where" in [n.op for n in train.graph.nodes()]


def test_errors_are_one_line():
    with pytest.raises(UsageError, match="needs the model's inputs"):
        analyze(mlp, params=mlp_params(), framework="jax")
    with pytest.raises(UsageError, match="unknown jax frontend option"):
        analyze(mlp, (2, 8), params=mlp_params(), framework="jax", frontend_options={"colour": 1})
    with pytest.raises(UsageError, match="holds its own parameters"):
        analyze(nnx_model(), (1, 8, 8, 3), params={})
    with pytest.raises(UsageError, match="needs its variables"):
        analyze(FlaxCNN().apply, (1, 16, 16, 3), framework="jax")
    with pytest.raises(AnalysisError) as e:
        analyze(mlp, (2, 5), params=mlp_params(), framework="jax")  # wrong input width
    assert "\n" not in str(e.value) and str(e.value).startswith(
        "jax frontend could not convert the model"
    )


def test_cli_spec_mapping(tmp_path, capsys):
    spec = tmp_path / "model.py"
    spec.write_text(
        textwrap.dedent(
            """
            import jax, jax.numpy as jnp

            def apply(params, x):
                return jax.nn.relu(x @ params["w"] + params["b"])

            def spec():
                p = {"w": jax.ShapeDtypeStruct((8, 4), jnp.float32), "b": jax.ShapeDtypeStruct((4,), jnp.float32)}
                return {"model": apply, "params": p, "inputs": (2, 8)}
            """
        )
    )
    assert main(["analyze", f"{spec}:spec", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"]["framework"] == "jax"
    assert doc["totals"]["params"] == 36 and doc["totals"]["macs"] == 2 * 8 * 4
    assert main(["analyze", f"{spec}:spec", "--input-shape", "3,8", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["macs"] == 3 * 8 * 4
