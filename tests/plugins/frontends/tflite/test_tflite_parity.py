"""Keras models converted to TFLite (float and full int8) give the Keras numbers (issue 18).

The converter runs in the test (models are tiny: conversion takes about a
second each); each conversion is cached for the session. Reference values
are the Keras frontend's analysis of the original model and hand counts
from the Keras weights: params, MACs, total and peak activations are equal;
an int8 file counts its arithmetic as integer OPs, as many as the float
model's FLOPs; its model size is its int8 weights plus int32 biases.
BatchNormalization is folded into the preceding convolution by the
converter: the file has a bias of C where Keras has 4C statistics, and no
BN output tensor.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

if importlib.util.find_spec("tflite") is None or importlib.util.find_spec("tensorflow") is None:
    pytest.skip("needs the tflite package and TensorFlow's converter", allow_module_level=True)

from analyzer import analyze  # noqa: E402
from tests.plugins.frontends.tflite import models  # noqa: E402

EQUAL = ("params", "macs", "total_activations", "peak_activations")


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(name, int8) -> (keras model, path of its .tflite), converted once per session."""
    root = tmp_path_factory.mktemp("tflite")
    cache: dict[tuple[str, bool], tuple[Any, Any]] = {}
    built: dict[str, Any] = {}

    def get(name: str, int8: bool) -> tuple[Any, Any]:
        if (name, int8) not in cache:
            if name not in built:
                if name.startswith("examples."):
                    built[name] = models.example(name.split(".", 1)[1])
                else:
                    table = {**models.PARITY_MODELS, **models.LAYER_MODELS}
                    built[name] = (table.get(name) or getattr(models, name))()
            path = root / f"{name}_{'int8' if int8 else 'f32'}.tflite"
            path.write_bytes(models.convert(built[name], int8))
            cache[name, int8] = (built[name], path)
        return cache[name, int8]

    return get


def _weights_by_kind(model: Any) -> tuple[int, int]:
    """(kernel elements, bias elements) of the model's conv and dense layers."""
    kernels = biases = 0
    for layer in model.layers:
        for w in layer.weights:
            n = 1
            for d in w.shape:
                n *= int(d)
            if w.name == "kernel":
                kernels += n
            elif w.name == "bias":
                biases += n
    return kernels, biases


@pytest.mark.parametrize("name", sorted(models.PARITY_MODELS))
@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_counts_equal_keras(converted: Any, name: str, int8: bool) -> None:
    model, path = converted(name, int8)
    ref = analyze(model).totals
    got = analyze(path).totals
    for q in EQUAL:
        assert got[q] == ref[q], q
    kernels, biases = _weights_by_kind(model)
    assert got["params"] == kernels + biases
    if int8:
        assert got["mac_flops"] == 0 and got["flops"] == 0
        assert got["mac_int_ops"] == ref["mac_flops"]  # 2 per MAC plus the bias additions
        assert got["int_ops"] == pytest.approx(ref["flops"], rel=0.05)
        assert got["model_size_bytes"] == kernels + 4 * biases  # int8 weights, int32 biases
    else:
        assert got["mac_flops"] == ref["mac_flops"]
        assert got["flops"] == pytest.approx(ref["flops"], rel=0.05)
        assert got["model_size_bytes"] == ref["model_size_bytes"] == 4 * (kernels + biases)


@pytest.mark.parametrize("name", sorted(models.LAYER_MODELS))
@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_layer_lowerings_keep_counts(converted: Any, name: str, int8: bool) -> None:
    """Conv1D (EXPAND_DIMS + CONV_2D), Conv2DTranspose, grouped Conv2D, UpSampling2D (TILE and
    RESHAPE), Resizing, GlobalMaxPooling (REDUCE_MAX), PReLU, hard swish, Dense on 3-d inputs."""
    model, path = converted(name, int8)
    ref = analyze(model).totals
    got = analyze(path).totals
    for q in EQUAL:
        assert got[q] == ref[q], q


def test_while_loop_weights_attached(tmp_path: Any) -> None:
    """A Keras LSTM converts to a WHILE loop: unsupported (MACs incomplete), its body's weights counted."""
    import keras

    x = inp = keras.Input((6, 5), batch_size=1)
    model = models.randomize(keras.Model(inp, keras.layers.Dense(4)(keras.layers.LSTM(8)(x))))
    path = tmp_path / "lstm.tflite"
    path.write_bytes(models.convert(model, int8=False))
    report = analyze(path).to_dict()
    assert report["totals"]["params"] == 4 * 8 * (5 + 8 + 1) + 8 * 4 + 4  # LSTM gates + dense
    assert [u["source_op"] for u in report["unsupported"]] == ["WHILE"]
    assert report["completeness"]["quantities"]["macs"]["complete"] is False
    assert "params" not in report["completeness"]["quantities"]


def test_tf_ops_lowered(tmp_path: Any) -> None:
    """Builtins from TF functions: CUMSUM, REVERSE_V2, SELECT, TOPK_V2 map onto canonical ops."""
    import tensorflow as tf

    spec = [tf.TensorSpec((1, 8, 16), tf.float32)]

    @tf.function(input_signature=spec)
    def f(x: Any) -> Any:
        y = tf.math.cumsum(tf.reverse(x, axis=[1]), axis=2)
        return tf.math.top_k(tf.where(y > 0, y, -y), k=3).values

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    path = tmp_path / "ops.tflite"
    path.write_bytes(conv.convert())
    report = analyze(path)
    ops = {n.source_op: n for n in report.graph.nodes()}
    assert report.unsupported == []
    assert ops["REVERSE_V2"].op == "flip" and ops["REVERSE_V2"].attrs == {"axes": (1,)}
    assert ops["CUMSUM"].op == "cumsum" and ops["CUMSUM"].attrs == {"axis": 2}
    assert ops["SELECT"].op == "where" and ops["TOPK_V2"].op == "sort"
    assert report.graph.shape(report.graph.outputs[0]) == (1, 8, 3)


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_examples_transformer(converted: Any, int8: bool) -> None:
    """examples/transformer.py: MultiHeadAttention (BATCH_MATMUL, FULLY_CONNECTED on 3-d inputs) and
    LayerNormalization (decomposed into MEAN, SQUARED_DIFFERENCE, RSQRT...) keep the Keras numbers."""
    model, path = converted("examples.transformer", int8)
    ref = analyze(model).totals
    got = analyze(path).totals
    for q in EQUAL:
        assert got[q] == ref[q], q
    assert got["mac_int_ops" if int8 else "mac_flops"] == ref["mac_flops"]
    if not int8:
        assert got["model_size_bytes"] == ref["model_size_bytes"]


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_batch_norm_folded(converted: Any, int8: bool) -> None:
    model, path = converted("mobilenet_v2_block", int8)
    ref = analyze(model)
    got = analyze(path).totals
    bn = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    channels = sum(int(layer.gamma.shape[0]) for layer in bn)
    bn_outputs = 0
    for layer in bn:
        n = 1
        for d in layer.output.shape:
            n *= int(d)
        bn_outputs += n
    assert got["macs"] == ref.totals["macs"]
    assert got["params"] == ref.totals["params"] - channels  # gamma, beta (2C) -> conv bias (C)
    assert got["non_trainable_params"] == 0
    assert got["total_activations"] == ref.totals["total_activations"] - bn_outputs


def test_int16_activations(tmp_path: Any) -> None:
    """The 16x8 scheme: int16 activations, int8 weights, int64 biases; the same counts."""
    model = models.tiny_cnn()
    path = tmp_path / "i16.tflite"
    path.write_bytes(models.convert(model, int8=False, int16=True))
    ref = analyze(model).totals
    got = analyze(path).totals
    for q in EQUAL:
        assert got[q] == ref[q], q
    kernels, biases = _weights_by_kind(model)
    assert got["model_size_bytes"] == kernels + 8 * biases
    assert got["total_activation_bytes"] == 2 * got["total_activations"]
    assert got["mac_int_ops"] == ref["mac_flops"]


def test_quantization_recorded(converted: Any) -> None:
    from analyzer.core.engine import to_graph

    _, path = converted("tiny_cnn", True)
    g = to_graph(path)
    stem = next(n for n in g.nodes() if n.op == "conv")
    weight, bias = (g.params[p] for p in stem.inputs[1:])
    assert (weight.dtype, bias.dtype) == ("int8", "int32")
    q = g.meta["quantization"]
    assert q[weight.name]["scheme"] == "per-channel" and q[weight.name]["channels"] == 16
    assert q[g.inputs[0]]["scheme"] == "per-tensor"
    assert g.tensors[g.inputs[0]].dtype == "int8"
    assert stem.scope == "stem" and stem.meta["fused_activation"] == "RELU"
    assert [n.op for n in g.nodes() if n.scope == "stem"] == ["conv", "relu"]
