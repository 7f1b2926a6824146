"""Saved Keras files: .keras archives (safe mode) and legacy .h5 files."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from keras import layers  # noqa: E402

from analyzer import analyze, load_graph, save_graph, to_graph  # noqa: E402
from analyzer.core.errors import AnalysisError  # noqa: E402

from .keras_models import cnn  # noqa: E402

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def model():
    return cnn()


def layers_only() -> keras.Model:
    """Legacy .h5 files store layer configs only: no raw keras.ops in the graph."""
    x = inp = keras.Input((16, 16, 3), name="x")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(x)
    x = layers.BatchNormalization(name="bn")(x)
    y = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = layers.Add(name="add")([x, y])
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inp, layers.Dense(4, name="fc")(x), name="small")


@pytest.fixture(scope="module")
def expected(model):
    return analyze(model).totals


@pytest.mark.parametrize(("build", "suffix"), [(cnn, ".keras"), (layers_only, ".h5")])
def test_saved_model_gives_the_same_numbers(tmp_path, build, suffix):
    model = build()
    expected = analyze(model).totals
    path = tmp_path / f"model{suffix}"
    model.save(path)
    r = analyze(path)
    assert r.model["framework"] == "keras"
    for key in ("params", "non_trainable_params", "macs", "flops", "total_activations"):
        assert r.totals[key] == expected[key], key
    assert not r.unsupported


def test_keras_file_with_a_lambda_is_refused_in_safe_mode(tmp_path):
    inp = keras.Input((4,), name="x")
    model = keras.Model(inp, layers.Lambda(lambda t: t * 2.0, name="double")(inp))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(AnalysisError, match="'double' is a Lambda layer") as e:
        analyze(path)
    assert "\n" not in str(e.value)


def test_bad_files_are_one_line_errors(tmp_path, model):
    weights = tmp_path / "cnn.weights.h5"
    model.save_weights(weights)
    with pytest.raises(AnalysisError, match="weights-only"):
        analyze(weights)
    junk = tmp_path / "junk.keras"
    junk.write_text("not a zip")
    with pytest.raises(AnalysisError, match="junk.keras"):
        analyze(junk)


def test_keras_graph_round_trips_through_json(tmp_path, model, expected):
    path = tmp_path / "cnn.json"
    save_graph(to_graph(model), path)
    r = analyze(load_graph(path))
    assert r.model["capture"] == "keras.functional"
    assert (r.totals["params"], r.totals["macs"]) == (expected["params"], expected["macs"])
