"""Realistic Flax models: a small transformer LM and an LSTM (a lifted scan)."""

from __future__ import annotations

import math

import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from analyzer import analyze  # noqa: E402

S = jax.ShapeDtypeStruct
B, T, D, V, HEADS = 2, 16, 32, 1000, 4


class Block(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = nn.LayerNorm()(x)
        x = x + nn.MultiHeadDotProductAttention(num_heads=HEADS, deterministic=True)(h, h)
        h = nn.Dense(4 * D)(nn.LayerNorm()(x))
        return x + nn.Dense(D)(nn.gelu(h))


class TinyLM(nn.Module):
    @nn.compact
    def __call__(self, ids):
        x = nn.Embed(V, D)(ids)
        x = Block()(Block()(x))
        return nn.Dense(V)(nn.LayerNorm()(x))


def test_transformer_maps_onto_layer_ops():
    model, ids = TinyLM(), S((B, T), jnp.int32)
    report = analyze(model, ids)
    variables = jax.eval_shape(model.init, jax.random.key(0), ids)
    assert report.totals["params"] == sum(
        math.prod(x.shape) for x in jax.tree_util.tree_leaves(variables)
    )
    ops = {row.name: row.op for row in report.layers}
    assert ops["Embed_0"] == "embedding"  # jnp.take's index wrap-around is part of the lookup
    attn = "Block_0.MultiHeadDotProductAttention_0"
    # attention is one layer (docs/ir.md): its query/key/value/out projections are part of it
    assert ops[attn] == "linear" and not [name for name in ops if name.startswith(f"{attn}.")]
    assert ops["Block_0.LayerNorm_0"] == "layer_norm"
    assert [r.op for r in report.layers if r.scope == "Block_0"].count("gelu") == 1
    per_block = 4 * B * T * D * D + 2 * B * HEADS * T * T * (D // HEADS) + 2 * B * T * D * 4 * D
    assert report.totals["macs"] == 2 * per_block + B * T * D * V
    assert not report.unsupported and not report.warnings
    graph = report.graph
    query, key, value, out = (n for n in graph.nodes() if n.scope == attn and n.op == "linear")
    for proj in (query, key, value, out):
        assert [graph.params[p].role for p in proj.inputs[1:]] == ["weight", "bias"]
    assert graph.shape(query.outputs[0]) == (B, T, HEADS, D // HEADS)
    # the output projection contracts (heads, dim): a linear on a flattened view, as in PyTorch
    assert graph.shape(out.inputs[0]) == (B, T, D)
    assert graph.params[out.inputs[1]].shape == (HEADS, D // HEADS, D)
    assert graph.producer(out.inputs[0]).op == "reshape"


class LSTM(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.RNN(nn.LSTMCell(16))(x)


def test_flax_lstm_is_a_scan_over_time():
    report = analyze(LSTM(), S((2, 10, 8), jnp.float32))
    gates = 4 * (8 * 16 + 16 * 16)
    assert report.totals["macs"] == 10 * 2 * gates
    assert (
        report.totals["params"] == gates + 4 * 16
    )  # kernels + one bias per gate (Flax: on the h side)
    linears = [n for n in report.graph.nodes() if n.op == "linear"]
    assert len(linears) == 8 and {n.repeat for n in linears} == {10}
    assert not [r.name for r in report.layers if "@" in r.name]  # one call of each gate per step
