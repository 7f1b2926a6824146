"""The primitive -> canonical op table and the rewrites that restore layer ops."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

from analyzer import GraphBuilder, analyze, to_graph  # noqa: E402
from analyzer.core.errors import UnsupportedOpsError  # noqa: E402
from analyzer.core.ops import BUILTIN_OPS  # noqa: E402
from analyzer.plugins.frontends.jax.primitives import PRIMITIVE_OPS  # noqa: E402

S = jax.ShapeDtypeStruct
F32 = jnp.float32


def graph_of(fn, *inputs, params=None):
    return to_graph(fn, inputs if len(inputs) > 1 else inputs[0], params=params, framework="jax")


def ops(graph):
    return [n.op for n in graph.nodes()]


def test_table_maps_onto_the_vocabulary():
    names = {d.name for d in BUILTIN_OPS}
    assert {v for v in PRIMITIVE_OPS.values() if isinstance(v, str)} <= names


def test_conv_attributes_nchw_grouped_strided_dilated():
    def conv(w, x):
        return lax.conv_general_dilated(x, w, (2, 1), ((1, 2), (0, 0)), rhs_dilation=(1, 2),
                                        dimension_numbers=("NCHW", "OIHW", "NCHW"), feature_group_count=2)  # fmt: skip

    g = graph_of(conv, S((1, 4, 9, 9), F32), params=S((6, 2, 3, 3), F32))
    (node,) = g.nodes()
    assert node.op == "conv"
    assert node.attrs == {
        "kernel_size": (3, 3), "stride": (2, 1), "padding": ((1, 2), (0, 0)), "dilation": (1, 2), "groups": 2,
        "in_channels": 4, "out_channels": 6, "channel_axis": 1, "transposed": False,
    }  # fmt: skip
    b = GraphBuilder()
    x = b.input("x", (1, 4, 9, 9))
    ref = b.build(b.conv(x, 6, 3, (2, 1), ((1, 2), (0, 0)), (1, 2), groups=2, bias=False))
    assert analyze(g).totals["macs"] == analyze(ref).totals["macs"]


def test_transposed_and_depthwise_convs():
    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(8, (3, 3), feature_group_count=8, use_bias=False)(x)  # depthwise
            return nn.ConvTranspose(4, (2, 2), strides=(2, 2), use_bias=False)(x)

    g = to_graph(Net(), S((1, 6, 6, 8), F32))
    dw, tr = g.nodes()
    assert (dw.attrs["groups"], dw.attrs["channel_axis"]) == (8, 3)
    assert tr.attrs["transposed"] and tr.attrs["stride"] == (2, 2)
    assert g.shape(tr.outputs[0]) == (1, 12, 12, 4)
    macs = analyze(g).totals["macs"]
    assert (
        macs == 6 * 6 * 8 * 9 + 6 * 6 * 8 * 4 * 4
    )  # depthwise + (input elements x out/g x kernel)


def test_pooling_and_fused_average():
    def pools(x):
        x = nn.max_pool(x, (3, 3), (2, 2), padding="SAME")
        x = nn.avg_pool(x, (2, 2), (2, 2))
        return nn.avg_pool(x, (3, 3), padding="SAME", count_include_pad=False)

    g = graph_of(pools, S((1, 8, 8, 4), F32))
    # the divisions are fused; count_include_pad=False divides by a window count folded to constants
    assert [op for op in ops(g) if op != "constant"] == ["max_pool", "avg_pool", "avg_pool"]
    mp = next(g.nodes())
    assert (
        mp.attrs["kernel_size"] == (3, 3)
        and mp.attrs["stride"] == (2, 2)
        and mp.attrs["channel_axis"] == 3
    )
    assert mp.attrs["padding"] == ((0, 1), (0, 1))
    assert analyze(g).totals["flops"] == 4 * 4 * 4 * 8 + 2 * 2 * 4 * 4 + 2 * 2 * 4 * 9


def test_unknown_primitives_are_reported_not_dropped():
    g = graph_of(lambda x: jnp.tan(x) + 1.0, S((2, 3), F32))
    unknown = [n for n in g.nodes() if n.op == "unknown"]
    assert [n.source_op for n in unknown] == ["tan"] and g.shape(unknown[0].outputs[0]) == (2, 3)
    report = analyze(g)
    assert report.unsupported == [{"op": "unknown", "source_op": "tan", "count": 1}]
    with pytest.raises(UnsupportedOpsError):
        analyze(g, strict=True)


def test_literals_and_closed_over_arrays_are_constants_not_params():
    table = np.ones((3, 5), np.float32)

    def fn(x):
        return x @ table + 2.0 + jnp.arange(5.0)

    g = graph_of(fn, S((2, 3), F32))
    assert not g.params
    (dot,) = [n for n in g.nodes() if n.op == "dot_general"]
    assert g.tensors[dot.inputs[1]].constant
    assert any(n.op == "constant" and n.source_op == "iota" for n in g.nodes())
    report = analyze(g)
    assert report.totals["params"] == 0
    assert (
        report.totals["total_activations"] == 2 * 3 + 2 * 5 + 2 * 5 + 2 * 5
    )  # input, dot, +2, +arange


def test_activations_map_to_their_ops():
    def acts(x):
        a = jax.nn.relu(x) + jnp.maximum(x, 0.0) + jnp.maximum(x, 1.0)
        b = jax.nn.gelu(x) + jax.nn.gelu(x, approximate=False) + jax.nn.silu(x) + jax.nn.sigmoid(x)
        return jax.nn.softmax(a + b, axis=0), jax.nn.log_softmax(x)

    g = graph_of(acts, S((2, 3), F32))
    got = [n.op for n in g.nodes() if n.op not in ("add",)]
    assert got == [
        "relu",
        "relu",
        "maximum",
        "gelu",
        "gelu",
        "silu",
        "sigmoid",
        "softmax",
        "log_softmax",
    ]
    gelus = [n.attrs["approximate"] for n in g.nodes() if n.op == "gelu"]
    assert gelus == ["tanh", "none"]
    softmax = [n for n in g.nodes() if n.op == "softmax"][0]
    assert softmax.attrs["axis"] == 0


def test_user_function_named_like_an_activation_is_not_taken_for_one():
    def relu(x):  # a user function that happens to be called relu
        return x * 3.0

    g = graph_of(lambda x: jax.jit(relu)(x), S((2, 3), F32))
    assert ops(g) == ["mul"]


def test_embedding_and_integer_inputs():
    class Embed(nn.Module):
        @nn.compact
        def __call__(self, ids):
            return nn.Dense(8)(nn.Embed(100, 16)(ids))

    g = to_graph(Embed(), S((2, 5), jnp.int32))
    assert g.tensors["input"].dtype == "int32"
    emb = next(n for n in g.nodes() if n.op == "embedding")
    assert (
        emb.inputs[1] == "Embed_0.embedding" and g.params["Embed_0.embedding"].role == "embedding"
    )
    assert analyze(g).totals["macs"] == 2 * 5 * 16 * 8


def test_reduced_precision_dtypes():
    class Half(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(4, dtype=jnp.bfloat16, param_dtype=jnp.bfloat16)(x)

    g = to_graph(Half(), S((2, 8), jnp.bfloat16))
    assert {p.dtype for p in g.params.values()} == {"bfloat16"}
    report = analyze(g)
    assert report.totals["model_size_bytes"] == (8 * 4 + 4) * 2
    assert ops(g) == ["linear"]


def test_mean_is_one_reduction():
    # jnp.mean lowers to reduce_sum + div by the count: one reduce_mean, as PyTorch's mean
    g = graph_of(lambda x: jnp.mean(x, axis=(1, 2)), S((1, 7, 7, 32), F32))
    assert ops(g) == ["reduce_mean"] and g.shape(g.outputs[0]) == (1, 32)
    r = analyze(g)
    assert r.totals["flops"] == 7 * 7 * 32  # 48 adds and a division per output
    assert r.totals["total_activations"] == 7 * 7 * 32 + 32
    # a sum divided by anything else stays a sum and a division
    g = graph_of(lambda x: jnp.sum(x, axis=1) / 3.0, S((2, 4), F32))
    assert ops(g) == ["reduce_sum", "div"]


def test_ragged_dot_is_a_grouped_matmul():
    """``lax.ragged_dot`` (mixture of experts): tokens in expert groups, MACs m k n."""

    def moe(p, x, sizes):
        return lax.ragged_dot(x, p["w"], sizes)

    inputs = (S((8, 4), F32), S((3,), jnp.int32))
    report = analyze(moe, inputs, params={"w": S((3, 4, 5), F32)}, framework="jax")
    (node,) = [n for n in report.graph.nodes() if n.op == "grouped_matmul"]
    assert node.attrs["groups"] == 3
    assert report.totals["macs"] == 8 * 4 * 5 and report.complete


def test_dropout_in_training_mode_is_counted():
    """Random bits become floats through shifts and bitcasts: integer ops, not unknowns
    (under nn.scan each step's key is split from a carried one, so they are not folded)."""

    class Drop(nn.Module):
        @nn.compact
        def __call__(self, x, _):
            return nn.Dropout(0.5, deterministic=False)(nn.Dense(8)(x)), None

    class Scanned(nn.Module):
        @nn.compact
        def __call__(self, x):
            split = {"params": True, "dropout": True}
            return nn.scan(Drop, variable_axes={"params": 0}, split_rngs=split, length=2)()(
                x, None
            )[0]

    report = analyze(Scanned(), S((2, 8), F32))
    assert report.complete and report.unsupported == []
    shifts = [n for n in report.graph.nodes() if n.source_op.startswith("shift")]
    assert shifts and all(n.op == "logical" for n in shifts)
