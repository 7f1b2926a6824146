"""Small Keras models built from code with random weights, and their TFLite conversions.

Shared by the TFLite parity tests and the TFLM arena tests. Weights are
random and biases non-zero: the converter drops all-zero biases and
deduplicates identical buffers, which would make the file's parameters
differ from the Keras model's for a reason that has nothing to do with the
frontend. Conversion runs in the test (``tf.lite.TFLiteConverter``): float,
or full int8 with a representative dataset of random inputs and int8
inputs/outputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def randomize(model: Any, seed: int = 0) -> Any:
    """Random weights everywhere (BN statistics positive), so no bias is all zero."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        name = w.path if hasattr(w, "path") else w.name
        if "variance" in name:
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            w.assign(rng.normal(0, 0.1, shape).astype("float32"))
    return model


def convert(
    model: Any, int8: bool, samples: int = 3, float16: bool = False, int16: bool = False
) -> bytes:
    """TFLite bytes of ``model``: float32, float16 weights, full int8 (int8 inputs and outputs),
    or ``int16`` activations with int8 weights (the 16x8 scheme, int16 inputs and outputs)."""
    import numpy as np
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if float16:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    if int8 or int16:
        shape = tuple(model.inputs[0].shape)
        rng = np.random.default_rng(1)

        def representative() -> Any:
            for _ in range(samples):
                yield [rng.uniform(-1, 1, shape).astype("float32")]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        if int16:
            ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            conv.target_spec.supported_ops = [ops]
            conv.inference_input_type = conv.inference_output_type = tf.int16
        else:
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


# --- parity models: every layer survives conversion one to one --------------------------
def tiny_cnn() -> Any:
    """Conv (fused ReLU), depthwise (ReLU6), 1x1 conv, residual add, pools, dense, softmax."""
    import keras
    from keras import layers

    x = inp = keras.Input((32, 32, 3), batch_size=1, name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="stem")(x)
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="dw")(x)
    y = layers.Conv2D(16, 1, name="pw")(y)
    x = layers.Add(name="add")([x, y])
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2D(24, 3, padding="valid", activation="relu", name="conv2")(x)
    x = layers.AveragePooling2D(2, padding="same", name="avg")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(32, activation="relu", name="fc1")(x)
    x = layers.Dense(10, name="fc2")(x)
    x = layers.Softmax(name="softmax")(x)
    return randomize(keras.Model(inp, x, name="tiny_cnn"))


def branchy() -> Any:
    """Concatenated branches, a strided depthwise, padding, global pooling and a sigmoid head."""
    import keras
    from keras import layers

    x = inp = keras.Input((24, 24, 4), batch_size=1, name="image")
    a = layers.Conv2D(8, 1, activation="relu", name="a")(x)
    b = layers.Conv2D(8, 3, padding="same", activation="relu6", name="b")(x)
    x = layers.Concatenate(name="cat")([a, b])
    x = layers.ZeroPadding2D(1, name="pad")(x)
    x = layers.DepthwiseConv2D(3, strides=2, name="dw")(x)
    x = layers.Multiply(name="gate")([x, x])
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(4, activation="sigmoid", name="head")(x)
    return randomize(keras.Model(inp, x, name="branchy"))


def mobilenet_v2_block() -> Any:
    """Inverted residual blocks with BatchNormalization (folded into the convolutions by the converter)."""
    import keras
    from keras import layers

    def cbr(x: Any, c: int, k: int, s: int, name: str, dw: bool = False, act: bool = True) -> Any:
        conv = layers.DepthwiseConv2D if dw else layers.Conv2D
        args = (k, s) if dw else (c, k, s)
        x = conv(*args, padding="same", use_bias=False, name=f"{name}.conv")(x)
        x = layers.BatchNormalization(name=f"{name}.bn")(x)
        return layers.ReLU(6.0, name=f"{name}.relu")(x) if act else x

    x = inp = keras.Input((32, 32, 3), batch_size=1, name="image")
    x = cbr(x, 16, 3, 2, "stem")
    for i, (c, s) in enumerate(((16, 1), (24, 2))):
        y = cbr(x, x.shape[-1] * 4, 1, 1, f"b{i}.expand")
        y = cbr(y, 0, 3, s, f"b{i}.dw", dw=True)
        y = cbr(y, c, 1, 1, f"b{i}.project", act=False)
        x = layers.Add(name=f"b{i}.add")([x, y]) if s == 1 and c == x.shape[-1] else y
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(10, name="fc")(x)
    return randomize(keras.Model(inp, x, name="mbv2_blocks"))


PARITY_MODELS: dict[str, Callable[[], Any]] = {"tiny_cnn": tiny_cnn, "branchy": branchy}


def example(name: str) -> Any:
    """The Keras version of ``examples/<name>.py`` (the cross-framework zoo), with random weights.

    The example builds its model without weights (a stateless scope: shapes
    only); a clone outside that scope creates them, so the converter can run.
    """
    import importlib.util
    from pathlib import Path

    import keras

    path = Path(__file__).resolve().parents[4] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_tflite_example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shapeless = module.keras_model()["model"]
    clone = keras.models.clone_model(shapeless)
    inp = keras.Input(clone.inputs[0].shape[1:], batch_size=1, name="input")
    return randomize(keras.Model(inp, clone(inp), name=name))


def _small(name: str, build: Callable[[Any], Any], shape: tuple[int, ...]) -> Callable[[], Any]:
    def make() -> Any:
        import keras

        x = inp = keras.Input(shape, batch_size=1, name="x")
        return randomize(keras.Model(inp, build(x), name=name))

    return make


def _layers() -> Any:
    from keras import layers

    return layers


# One Keras layer kind each, lowered by the converter to other builtins: the counts survive.
LAYER_MODELS: dict[str, Callable[[], Any]] = {
    "conv1d": _small("conv1d", lambda x: _layers().Conv1D(8, 3, padding="same", activation="relu")(x), (32, 4)),
    "conv2d_transpose": _small("conv2d_transpose", lambda x: _layers().Conv2DTranspose(4, 3, strides=2, padding="same")(x), (8, 8, 6)),
    "global_max_pool": _small("global_max_pool", lambda x: _layers().Dense(3)(_layers().GlobalMaxPooling2D()(_layers().Conv2D(4, 3)(x))), (12, 12, 3)),
    "upsampling": _small("upsampling", lambda x: _layers().UpSampling2D(2)(_layers().Conv2D(4, 1)(x)), (8, 8, 3)),
    "resizing": _small("resizing", lambda x: _layers().Resizing(16, 16)(_layers().Conv2D(4, 1)(x)), (8, 8, 3)),
    "grouped_conv": _small("grouped_conv", lambda x: _layers().Conv2D(8, 3, groups=2)(x), (10, 10, 4)),
    "prelu_hard_swish": _small("prelu_hard_swish", lambda x: _layers().Activation("hard_swish")(_layers().PReLU()(_layers().Conv2D(4, 3)(x))), (10, 10, 3)),
    "dense_3d": _small("dense_3d", lambda x: _layers().Dense(7)(x), (4, 5)),
}  # fmt: skip
