"""Layer scopes: Flax module paths, Equinox/NNX tree paths, @k for repeated calls,
and one layer per Dense so JAX agrees with the PyTorch/Keras conventions."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")
pytest.importorskip("equinox")

import equinox as eqx  # noqa: E402
import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

from analyzer import GraphBuilder, analyze, to_graph  # noqa: E402
from analyzer.plugins.frontends.jax.scopes import MARKER, scope_of  # noqa: E402

S = jax.ShapeDtypeStruct
F32 = jnp.float32
KEYS = ("params", "macs", "flops", "total_activations", "peak_activations", "peak_live_activations")


class Block(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.relu(nn.Dense(16)(x))  # the relu belongs to the block's own scope


class FlaxMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        block = Block(name="block")
        x = block(block(nn.Dense(16, name="inp")(x)))  # one module called twice
        return nn.Dense(4, name="out")(nn.relu(x))


def reference_mlp(batch: int = 2):
    """The same network built with the framework-free builder (PyTorch naming).

    The builder cannot share a module between two calls, so its second block
    call has parameters of its own.
    """
    b = GraphBuilder("ref")
    x = b.input("x", (batch, 8))
    x = b.linear(x, 16, name="inp")
    x = b.relu(b.linear(x, 16, name="block.Dense_0"), name="block")
    x = b.relu(b.linear(x, 16, name="block.Dense_0@1"), name="block@1")
    x = b.relu(x, name="relu")
    return b.build(b.linear(x, 4, name="out"))


def test_flax_scopes_and_repeated_calls():
    graph = to_graph(FlaxMLP(), S((2, 8), F32))
    assert [(n.scope, n.op) for n in graph.nodes()] == [
        ("inp", "linear"), ("block.Dense_0", "linear"), ("block", "relu"),
        ("block.Dense_0@1", "linear"), ("block@1", "relu"), ("", "relu"), ("out", "linear"),
    ]  # fmt: skip
    assert graph.meta["modules"]["block.Dense_0@1"] == "Dense"
    # each Dense (dot_general + bias add) is one linear node with its bias operand
    assert all(len(n.inputs) == 3 for n in graph.nodes() if n.op == "linear")


def test_flax_agrees_with_the_builder_reference():
    ref = analyze(reference_mlp())
    mine = analyze(FlaxMLP(), S((2, 8), F32))
    for key in KEYS:
        assert mine.totals[key] == ref.totals[key] - (16 * 16 + 16 if key == "params" else 0), key
    assert [r.name for r in mine.layers] == [
        "inp",
        "block.Dense_0",
        "block",
        "block.Dense_0@1",
        "block@1",
        "relu",
        "out",
    ]


def test_equinox_paths_and_agreement():
    key = jax.random.key(0)
    model = eqx.filter_eval_shape(eqx.nn.MLP, 8, 4, 16, 2, key=key)
    graph = to_graph(model, S((8,), F32))
    assert [(n.scope, n.op) for n in graph.nodes()] == [
        ("layers.0", "linear"), ("", "relu"), ("layers.1", "linear"), ("", "relu"), ("layers.2", "linear"),
    ]  # fmt: skip
    b = GraphBuilder("ref")
    x = b.input("x", (8,))
    for i, n in enumerate((16, 16, 4)):
        x = b.linear(x, n, name=f"layers.{i}")
        if i < 2:
            x = b.relu(x, name=f"relu{i}")
    ref, mine = analyze(b.build(x)), analyze(graph)
    for k in KEYS:
        assert mine.totals[k] == ref.totals[k], k


def test_nnx_paths_and_repeated_calls():
    class Net(nnx.Module):
        def __init__(self, rngs):
            self.layers = nnx.List([nnx.Linear(4, 4, rngs=rngs) for _ in range(2)])

        def __call__(self, x):
            for layer in (*self.layers, self.layers[0]):
                x = layer(x)
            return x

    graph = to_graph(nnx.eval_shape(lambda: Net(nnx.Rngs(0))), S((1, 4), F32))
    assert [n.scope for n in graph.nodes()] == ["layers.0", "layers.1", "layers.0@1"]


def test_plain_function_uses_its_named_scopes():
    def fn(p, x):
        with jax.named_scope("encoder/proj"):
            x = x @ p["w"] + p["b"]
        return jax.nn.relu(x)

    graph = to_graph(
        fn, S((2, 4), F32), params={"w": S((4, 4), F32), "b": S((4,), F32)}, framework="jax"
    )
    assert [(n.scope, n.op, n.inputs[1:]) for n in graph.nodes()] == [
        ("encoder.proj", "linear", ("w", "b")),
        ("", "relu", ()),
    ]


def test_scope_of_reads_markers_and_named_scopes():
    class Scope:
        def __init__(self, name):
            self.name = name

    class Transform(Scope):
        pass

    assert scope_of([Scope("a/b"), Transform("jit"), Scope("c")]) == "a.b.c"
    assert (
        scope_of(
            [
                Scope("Model"),
                Scope(MARKER),
                Scope("Block"),
                Scope(MARKER + "block@1"),
                Scope("inner"),
            ]
        )
        == "block@1"
    )
    assert scope_of([]) == ""


def test_attention_modules_are_one_layer():
    # docs/ir.md: an attention module is one layer in every framework, as PyTorch's
    # MultiheadAttention is, so q/k/v are not layer-boundary activations
    d, heads, t = 16, 2, 6

    class Linen(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.MultiHeadDotProductAttention(num_heads=heads, name="attn")(x)

    macs = 4 * t * d * d + heads * t * t * (d // heads) * 2  # projections; QK^T and AV
    linen = analyze(Linen(), S((1, t, d), F32))

    class Eqx(eqx.Module):
        attn: eqx.nn.MultiheadAttention

        def __call__(self, x):
            return self.attn(x, x, x)

    eqx_attn = eqx.nn.MultiheadAttention(heads, d, key=jax.random.key(0))
    equinox = analyze(Eqx(eqx_attn), S((t, d), F32))

    class Nnx(nnx.Module):
        def __init__(self):
            self.attn = nnx.MultiHeadAttention(heads, d, decode=False, rngs=nnx.Rngs(0))

        def __call__(self, x):
            return self.attn(x)

    flax_nnx = analyze(Nnx(), S((1, t, d), F32))
    for report in (linen, flax_nnx, equinox):
        assert [row.name for row in report.layers] == ["attn"]
        assert report.totals["macs"] == macs
        assert report.totals["total_activations"] == 2 * t * d  # input and output only
    # a projection's bias is a MAC-FLOP (bias add) as for PyTorch's in_proj/out_proj
    assert linen.totals["mac_flops"] == 2 * macs + 4 * t * d
