"""Keras frontend: graphs and counts of small models checked against hand-computed values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from keras import layers, ops  # noqa: E402

from analyzer import analyze, to_graph  # noqa: E402
from analyzer.core.errors import AnalysisError, UsageError  # noqa: E402
from analyzer.plugins.frontends.keras import KerasFrontend  # noqa: E402

from .keras_models import Subclassed, cnn, multi_io, sequence_model, shared_dense  # noqa: E402

pytestmark = pytest.mark.keras


def ops_of(graph) -> list[str]:
    return [n.op for n in graph.nodes()]


# --- shared layers and subclassed models: counts by hand ---------------------------------
def test_shared_layer_counts_its_weights_once_and_its_calls_twice():
    r = analyze(shared_dense(), (3, 16))
    assert r.model["capture"] == "keras.functional"
    assert r.totals["params"] == 16 * 16 + 16  # one kernel + bias, used twice
    assert r.totals["macs"] == 2 * 3 * 16 * 16  # two calls on a batch of 3
    assert r.totals["total_activations"] == 3 * 16 * 3  # input, dense, dense@1
    first, second = r.layer("dense"), r.layer("dense@1")
    assert (first.params, first.shared_params) == (272, 0)
    assert (second.params, second.shared_params) == (0, 272)
    assert second.macs == 3 * 256


def test_subclassed_model_by_hand():
    model = Subclassed()
    r = analyze(model, (2, 5, 16))
    assert r.model["capture"] == "keras.subclassed"
    # b1, b2: Dense 16x16 + 16, BatchNorm gamma/beta 16+16 (+ 32 moving statistics); head 16x3 + 3
    assert r.totals["params"] == 2 * (272 + 32) + 51
    assert r.totals["non_trainable_params"] == 2 * 32
    # three block calls (b1 twice) of 2*5 rows through 16x16, then the head on 2 rows
    assert r.totals["macs"] == 3 * 2 * 5 * 16 * 16 + 2 * 16 * 3
    # per-layer attribution: the reused block is its own layer, sharing b1's weights
    assert r.layer("b1@1.dense").shared_params == 272
    assert r.layer("b1@1.dense").macs == 2 * 5 * 256
    assert r.layer("b1.bn").non_trainable_params == 32
    # raw ops between layers: the custom block's relu + residual add, the model's mean
    g = r.graph
    assert [n.op for n in g.nodes() if n.scope == "b2"] == ["relu", "add"]
    assert g.node("reduce_mean").scope == ""
    assert not r.unsupported


def test_unbuilt_sequential_takes_the_given_input_shape():
    model = keras.Sequential(
        [layers.Dense(10, activation="gelu"), layers.Dropout(0.1), layers.Dense(2)]
    )
    r = analyze(model, (4, 20))
    assert r.model["capture"] == "keras.sequential"
    assert r.model["inputs"][0]["shape"] == [4, 20]
    assert r.totals["params"] == 20 * 10 + 10 + 10 * 2 + 2
    assert r.totals["macs"] == 4 * (20 * 10 + 10 * 2)
    assert ops_of(r.graph) == ["linear", "gelu", "identity", "linear"]


def test_batch_dimension_defaults_to_one_and_follows_the_inputs():
    model = cnn()
    one, four = analyze(model), analyze(model, (4, 32, 32, 3))
    assert one.model["inputs"][0]["shape"] == [1, 32, 32, 3]
    assert four.totals["macs"] == 4 * one.totals["macs"]
    assert four.totals["params"] == one.totals["params"]


# --- functional graphs: layers, raw ops, multiple inputs and outputs -------------------------
def test_cnn_maps_every_layer_and_raw_op():
    model = cnn()
    r = analyze(model)
    assert not r.unsupported
    # the frontend's graph, before canonical passes (the pad below is folded in r)
    g = to_graph(model)
    assert r.model["passes"] == ["fold_pad_into_conv: 1 pad(s) folded"]
    assert r.totals["params"] == sum(v.numpy().size for v in model.trainable_weights)
    assert r.totals["non_trainable_params"] == 32  # stem_bn moving mean and variance
    conv = {n.id: n for n in g.nodes() if n.op == "conv"}
    assert conv["stem"].attrs["padding"] == (
        (0, 1),
        (0, 1),
    )  # "same", stride 2: TF puts the odd pixel last
    assert conv["stem"].attrs["channel_axis"] == 3
    assert conv["dw"].attrs["groups"] == 16
    assert conv["sep"].attrs["groups"] == 16 and conv["sep/conv"].attrs["kernel_size"] == (1, 1)
    assert conv["up"].attrs["transposed"]
    assert g.node("stem_relu").op == "relu6"
    assert g.node("proj/hardswish").op == "hardswish"
    assert g.node("pad").attrs["pads"] == ((0, 0), (0, 1), (0, 1), (0, 0))
    # x = ops.relu(x) * 2.0 in the functional graph: raw ops, each its own layer named like Keras names it
    raw = [n for n in g.nodes() if n.source_op.startswith("ops.")]
    assert [(n.op, n.source_op) for n in raw] == [("relu", "ops.Relu"), ("mul", "ops.Multiply")]
    assert all(n.scope == n.id and n.scope.startswith(("relu", "multiply")) for n in raw)
    # MACs by hand (batch 1)
    stem = 16 * 16 * 16 * 3 * 9
    dw = 16 * 16 * 16 * 9
    sep = 16 * 16 * 16 * 9 + 16 * 16 * 16 * 16
    down = 8 * 8 * 8 * 16 * 9
    proj = 8 * 8 * 8 * 16
    up = 4 * 4 * 16 * 8 * 9  # transposed: every input element scatters through the kernel
    head = 8 * 10
    assert r.totals["macs"] == stem + dw + sep + down + proj + up + head


def test_sequence_layers():
    r = analyze(sequence_model())
    assert not r.unsupported
    g = r.graph
    lstm, gru, birnn = g.node("lstm"), g.node("gru"), g.node("birnn")
    assert (lstm.attrs["cell"], lstm.attrs["n_biases"], lstm.attrs["steps"]) == ("lstm", 1, 12)
    assert (gru.attrs["cell"], gru.attrs["n_biases"]) == ("gru", 2)  # reset_after=True
    assert birnn.attrs["bidirectional"] and birnn.attrs["cell"] == "rnn"
    assert g.node("conv").attrs["padding"] == ((2, 0),)  # causal
    assert g.node("mha/attention").op == "attention"
    macs = r.totals["macs"]
    conv = 12 * 16 * 16 * 3
    mha = 3 * 12 * 16 * 16 + 2 * 12 * 12 * (8 + 8) + 12 * 16 * 16  # q, k, v; QK^T and AV; output
    lstm_m = 4 * 12 * (16 + 12) * 12
    gru_m = 3 * 10 * (12 + 10) * 12
    rnn_m = 2 * 6 * (10 + 6) * 12
    out = 12 * 3
    assert macs == conv + mha + lstm_m + gru_m + rnn_m + out


@pytest.mark.parametrize("dropout", [0.0, 0.1])  # 0.1: Keras computes the attention op by op
def test_multi_head_attention_is_one_layer(dropout):
    # docs/ir.md: an attention layer is one layer (as PyTorch's MultiheadAttention), so
    # q/k/v are fused inside it; its projections are linear layers with their biases
    t, d, heads = 6, 16, 2
    x = inp = keras.Input((t, d), name="x")
    x = layers.MultiHeadAttention(heads, d // heads, dropout=dropout, name="mha")(x, x)
    r = analyze(keras.Model(inp, layers.Dense(4, name="head")(x)))
    assert [row.name for row in r.layers] == ["mha", "head"]
    g = r.graph
    assert [n.op for n in g.nodes() if n.op == "linear" and n.scope == "mha"] == ["linear"] * 4
    macs = 4 * t * d * d + heads * t * t * (d // heads) * 2
    assert r.totals["macs"] == macs + t * d * 4
    assert r.totals["mac_flops"] == 2 * r.totals["macs"] + 4 * t * d + t * 4  # bias adds
    assert r.totals["total_activations"] == 2 * t * d + t * 4  # input, mha, head


def test_multi_input_multi_output_and_nested_model():
    model = multi_io()
    g = to_graph(model, {"b": (3, 8), "a": (3, 8)})  # by input name, any order
    assert g.inputs == ["a", "b"] and [g.shape(t) for t in g.inputs] == [(3, 8), (3, 8)]
    assert len(g.outputs) == 2 and [g.shape(t) for t in g.outputs] == [(3, 4), (3, 1)]
    scopes = {n.scope for n in g.nodes()}
    assert {"block.d1", "block.d2", "block@1.d1", "block@1.d2", "shared", "shared@1"} <= scopes
    r = analyze(g)
    assert r.totals["params"] == 2 * (8 * 8 + 8) + 8 * 4 + 4
    assert r.totals["macs"] == 3 * (2 * 2 * 64 + 2 * 32)


def test_unmapped_keras_op_is_reported_not_dropped():
    inp = keras.Input((6,), name="x")
    y = layers.Dense(4, name="d")(inp)
    y = ops.cumprod(y, axis=-1)
    r = analyze(keras.Model(inp, y))
    assert r.unsupported == [{"op": "unknown", "source_op": "ops.Cumprod", "count": 1}]
    node = next(n for n in r.graph.nodes() if n.op == "unknown")
    assert r.graph.shape(node.outputs[0]) == (1, 4)


class NumpyLayer(layers.Layer):
    """Runs NumPy on its input: cannot be traced symbolically."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 3), name="w")

    def call(self, x):
        import numpy as np

        return ops.matmul(ops.convert_to_tensor(np.asarray(x)), self.w)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


def test_untraceable_layer_is_one_unknown_node_with_its_weights():
    inp = keras.Input((5,), name="x")
    y = NumpyLayer(name="np_layer")(layers.Dense(5, name="d")(inp))
    r = analyze(keras.Model(inp, y))
    assert r.unsupported == [{"op": "unknown", "source_op": "NumpyLayer", "count": 1}]
    assert r.totals["params"] == 5 * 5 + 5 + 5 * 3  # its weight still counts
    assert any("np_layer" in w and "could not be traced" in w for w in r.warnings)


class Refusing(layers.Layer):
    """Fails on symbolic tensors with a long, multi-line message, as framework errors do."""

    def call(self, x):
        raise TypeError(
            "This layer cannot run on symbolic tensors, because it converts its input to a "
            "NumPy array and calls a function outside the framework. Call it on concrete "
            "values instead:\n\n  layer(np.ones((1, 5)))\n\nFull config: " + "{'a': 1} " * 40
        )

    def compute_output_shape(self, input_shape):
        return input_shape


def test_an_opaque_layers_reason_is_whole_sentences_on_one_line():
    inp = keras.Input((5,), name="x")
    r = analyze(keras.Model(inp, Refusing(name="refusing")(inp)))
    warning = next(w for w in r.warnings if "could not be traced" in w)
    assert "\n" not in warning
    reason = warning.split("(TypeError: ", 1)[1].rsplit("); it is one unsupported op", 1)[0]
    assert reason == (
        "This layer cannot run on symbolic tensors, because it converts its input to a "
        "NumPy array and calls a function outside the framework."
    )


def test_custom_layer_is_traced_op_by_op_with_its_weights():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 4), name="kernel")
            self.bias = self.add_weight(shape=(4,), name="bias")

        def call(self, x):
            return ops.sigmoid(ops.matmul(x, self.kernel) + self.bias)

    inp = keras.Input((6,), name="x")
    g = to_graph(keras.Model(inp, Scale(name="scale")(inp)))
    assert [(n.op, n.scope) for n in g.nodes()] == [
        ("matmul", "scale"),
        ("add", "scale"),
        ("sigmoid", "scale"),
    ]
    assert {p.role for p in g.params.values()} == {"weight", "bias"}
    assert analyze(g).totals["macs"] == 6 * 4


# --- dtypes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "compute"), [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")]
)
def test_mixed_precision_weights_at_variable_dtype_activations_at_compute_dtype(policy, compute):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        inp = keras.Input((8, 8, 3), name="x")
        x = layers.Conv2D(4, 3, name="conv")(inp)
        x = layers.BatchNormalization(name="bn")(x)
        x = layers.Dense(2, name="fc")(layers.Flatten(name="flat")(x))
        model = keras.Model(inp, x)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    g = to_graph(model)
    assert {p.dtype for p in g.params.values()} == {"float32"}
    assert g.spec("x").dtype == "float32"
    assert {g.spec(t).dtype for n in g.nodes() for t in n.outputs if n.op != "cast"} == {compute}
    assert g.meta["dtype_policy"] == policy
    r = analyze(g)
    assert r.totals["model_size_bytes"] == 4 * (
        r.totals["params"] + r.totals["non_trainable_params"]
    )
    # the input cast to the compute dtype happens inside the conv layer (not an activation)
    assert [(n.op, n.scope) for n in g.nodes()][:2] == [("cast", "conv"), ("conv", "conv")]
    conv_out = 6 * 6 * 4
    assert r.totals["total_activation_bytes"] == 8 * 8 * 3 * 4 + 2 * (
        2 * conv_out + 2
    )  # input fp32; conv, bn, fc 16-bit


# --- errors ------------------------------------------------------------------------------------------
def test_input_errors_are_one_line():
    with pytest.raises(UsageError, match="declares no input shape"):
        to_graph(Subclassed())
    with pytest.raises(UsageError, match="rank"):
        to_graph(cnn(), (1, 32, 32))
    with pytest.raises(UsageError, match="differs at dim 1"):
        to_graph(cnn(), (1, 64, 64, 3))
    inp = keras.Input((None, 4), name="seq")
    with pytest.raises(AnalysisError, match="unknown dimensions"):
        to_graph(keras.Model(inp, layers.Dense(2)(inp)))
    assert to_graph(keras.Model(inp, layers.Dense(2)(inp)), (2, 7, 4)).shape("seq") == (2, 7, 4)
    with pytest.raises(UsageError, match="takes no params"):
        to_graph(cnn(), params={"w": 1}, framework="keras")


def test_capture_leaves_the_model_as_it_was():
    model = shared_dense()
    dense = model.get_layer("dense")
    before = (len(dense._inbound_nodes), len(dense._outbound_nodes))
    to_graph(model)
    to_graph(model, (5, 16))
    assert (len(dense._inbound_nodes), len(dense._outbound_nodes)) == before
    assert model.output.shape == (None, 16)  # still a well-formed functional model
    assert keras.Model(model.input, model.output).count_params() == 272


def test_accepts_keras_objects_only():
    fe = KerasFrontend()
    assert fe.accepts(cnn()) and fe.accepts(layers.Dense(3))
    assert not fe.accepts(object()) and not fe.accepts(lambda x: x)


def test_bare_layer_with_an_input_shape():
    g = to_graph(layers.Conv2D(4, 3, name="c"), (1, 10, 10, 2))
    assert g.meta["capture"] == "keras.layer"
    assert [(n.op, n.scope) for n in g.nodes()] == [("conv", "c")]


# --- breadth: layers outside the applications map without unsupported ops ---------------------
def _two_inputs(layer, q=(4, 8), v=(6, 8)):
    a, b = keras.Input(q, name="q"), keras.Input(v, name="v")
    return keras.Model([a, b], layer([a, b]))


LAYER_CASES = {
    "group_norm": (lambda: layers.GroupNormalization(2), (1, 8, 8, 4), ["group_norm"]),
    "unit_norm": (
        lambda: layers.UnitNormalization(),
        (1, 8),
        ["square", "reduce_sum", "rsqrt", "mul"],
    ),
    "conv3d": (lambda: layers.Conv3D(4, 3, padding="same"), (1, 8, 8, 8, 2), ["conv"]),
    "conv_channels_first": (
        lambda: layers.Conv2D(4, 3, data_format="channels_first"),
        (1, 2, 8, 8),
        ["conv"],
    ),
    "prelu": (lambda: layers.PReLU(), (1, 4), ["leaky_relu"]),
    "repeat_vector": (lambda: layers.RepeatVector(3), (1, 4), ["tile"]),
    "cropping": (lambda: layers.Cropping2D(1), (1, 6, 6, 2), ["slice"]),
    "resizing": (lambda: layers.Resizing(10, 10), (1, 6, 6, 3), ["resize"]),
    "einsum_dense": (  # a dense projection is a linear layer with its bias
        lambda: layers.EinsumDense("...b,bc->...c", output_shape=5, bias_axes="c"),
        (1, 3, 4),
        ["linear"],
    ),
    "einsum_dense_two_dims": (  # attention's output projection: (heads, dim) flattened by a view
        lambda: layers.EinsumDense("abcd,cde->abe", output_shape=(3, 5), bias_axes="e"),
        (1, 3, 2, 4),
        ["reshape", "linear"],
    ),
    "einsum_dense_other": (  # not a projection: einsum + bias add
        lambda: layers.EinsumDense("abc,bd->acd", output_shape=(4, 5), bias_axes="d"),
        (1, 3, 4),
        ["einsum", "add"],
    ),
    "masking_lstm": (lambda: keras.Sequential([layers.Masking(), layers.LSTM(4)]), (1, 5, 3), None),
    "attention": (lambda: _two_inputs(layers.Attention()), None, None),
    "additive_attention": (
        lambda: _two_inputs(layers.AdditiveAttention()),
        None,
        None,
    ),  # self.scale * x
    "dot": (lambda: _two_inputs(layers.Dot(axes=1), (4,), (4,)), None, None),
    "average": (lambda: _two_inputs(layers.Average(), (4,), (4,)), None, ["add", "div"]),
}


@pytest.mark.parametrize("case", LAYER_CASES)
def test_layer_maps_without_unsupported_ops(case):
    build, inputs, expected_ops = LAYER_CASES[case]
    model = build()
    r = analyze(model, inputs, framework="keras")
    assert r.unsupported == []
    assert r.totals["params"] == sum(v.numpy().size for v in model.trainable_weights)
    if expected_ops is not None:
        assert ops_of(r.graph) == expected_ops


def test_additive_attention_counts_by_hand():
    # scores: tanh(q + k) summed over dim, scaled: (4 x 6 x 8) adds; AV: 4 x 6 x 8 MACs
    r = analyze(_two_inputs(layers.AdditiveAttention()))
    assert r.totals["macs"] == 4 * 6 * 8


def test_detection_does_not_import_keras():
    code = (
        "import sys; from analyzer.plugins.frontends.keras import KerasFrontend; "
        "assert not KerasFrontend().accepts(object()); assert 'keras' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_frozen_layer_and_built_subclassed_model():
    inp = keras.Input((4,), name="x")
    frozen = layers.Dense(3, trainable=False, name="frozen")
    r = analyze(keras.Model(inp, layers.Dense(2, name="head")(frozen(inp))))
    assert (r.totals["params"], r.totals["non_trainable_params"]) == (3 * 2 + 2, 4 * 3 + 3)
    model = Subclassed()
    model.build((None, 5, 16))  # the build shape stands in for inputs
    assert to_graph(model).shape("input") == (1, 5, 16)
