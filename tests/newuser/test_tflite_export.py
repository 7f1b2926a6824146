"""Keras models converted with tf.lite.TFLiteConverter as a user would (float16 and dynamic-range options)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

if importlib.util.find_spec("tflite") is None or importlib.util.find_spec("tensorflow") is None:
    pytest.skip("needs the tflite package and TensorFlow's converter", allow_module_level=True)

import analyzer  # noqa: E402


def convert(tmp_path: Path, kind: str) -> tuple[int, Path]:
    """Conv2D -> Flatten -> Dense, weights non-zero (zero biases would be dropped by the converter)."""
    import numpy as np
    import tensorflow as tf
    from tensorflow import keras

    inp = keras.Input((16, 16, 3))
    x = keras.layers.Flatten()(keras.layers.Conv2D(8, 3)(inp))
    model = keras.Model(inp, keras.layers.Dense(4)(x))
    for w in model.weights:
        w.assign(np.random.default_rng(0).random(tuple(w.shape), dtype=np.float32) + 0.5)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if kind == "float16":
        conv.target_spec.supported_types = [tf.float16]
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(conv.convert())
    return model.count_params(), path


@pytest.mark.parametrize("kind", ["float16", "dynamic_range"])
def test_flatten_shape_arithmetic_is_not_a_parameter(tmp_path: Path, kind: str) -> None:
    keras_params, path = convert(tmp_path, kind)
    report = analyzer.analyze(path)
    assert report.totals["macs"] == 14 * 14 * 8 * 27 + 14 * 14 * 8 * 4
    assert report.totals["params"] == keras_params


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_int8_file_on_an_mcu_shows_tflm_arena(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture
) -> None:
    from analyzer.cli import main
    from tests.plugins.frontends.tflite import models

    path = tmp_path / "int8.tflite"
    path.write_bytes(models.convert(models.randomize(models.tiny_cnn()), int8=True))
    capsys.readouterr()
    assert main(["analyze", str(path), "--device", "stm32f746", "-f", "json"]) == 0
    tflm = __import__("json").loads(capsys.readouterr().out)["hardware"][0]["details"]["memory"][
        "arena"
    ]["tflm"]
    assert tflm["arena_bytes"] > 0
    assert main(["analyze", str(path), "--device", "stm32f746", "-f", fmt]) == 0
    assert "TFLM" in capsys.readouterr().out


def test_suffixless_tflite_file_is_recognised_like_onnx(tmp_path: Path) -> None:
    _, path = convert(tmp_path, "float16")
    plain = tmp_path / "exported_model"
    plain.write_bytes(path.read_bytes())
    assert analyzer.analyze(plain).totals["params"] == analyzer.analyze(path).totals["params"]
