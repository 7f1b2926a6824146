"""The int8 MCU models of the TFLM arena comparison (issue 18), built in Keras from code.

Sizes follow the TinyML reference workloads (random weights; only shapes matter):

- ``person_detection``: MobileNetV1, alpha 0.25, 96x96x1 grayscale, 2 classes
  (TFLM's person-detection example);
- ``kws_dscnn``: the keyword-spotting DS-CNN (MLPerf Tiny): 49x10x1 MFCCs, a
  10x4 stride-2 conv of 64 then four depthwise-separable blocks of 64, 12 classes;
- ``resnet8``: a small residual CNN (MLPerf Tiny image classification):
  32x32x3, three residual stacks of 16/32/64 filters, 10 classes;
- ``mobilenet_v2_035``: MobileNetV2, alpha 0.35, 96x96x3, 10 classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.plugins.frontends.tflite.models import randomize


def person_detection() -> Any:
    import keras

    m = keras.applications.MobileNet(input_shape=(96, 96, 1), alpha=0.25, weights=None, classes=2)
    return randomize(_batch1(m))


def mobilenet_v2_035() -> Any:
    import keras

    m = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10
    )
    return randomize(_batch1(m))


def _batch1(model: Any) -> Any:
    """The same model on a batch-1 input, as deployed."""
    import keras

    inp = keras.Input(model.inputs[0].shape[1:], batch_size=1, name="image")
    return keras.Model(inp, model(inp), name=model.name)


def kws_dscnn() -> Any:
    import keras
    from keras import layers

    x = inp = keras.Input((49, 10, 1), batch_size=1, name="mfcc")
    x = layers.Conv2D(64, (10, 4), strides=2, padding="same", use_bias=False, name="conv")(x)
    x = layers.ReLU(name="conv_relu")(layers.BatchNormalization(name="conv_bn")(x))
    for i in range(4):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"dw{i}")(x)
        x = layers.ReLU(name=f"dw{i}_relu")(layers.BatchNormalization(name=f"dw{i}_bn")(x))
        x = layers.Conv2D(64, 1, use_bias=False, name=f"pw{i}")(x)
        x = layers.ReLU(name=f"pw{i}_relu")(layers.BatchNormalization(name=f"pw{i}_bn")(x))
    x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]), name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(12, name="fc")(x)
    x = layers.Softmax(name="softmax")(x)
    return randomize(keras.Model(inp, x, name="kws_dscnn"))


def resnet8() -> Any:
    import keras
    from keras import layers

    def block(x: Any, c: int, stride: int, name: str) -> Any:
        y = layers.Conv2D(c, 3, stride, padding="same", name=f"{name}.conv1")(x)
        y = layers.ReLU(name=f"{name}.relu1")(layers.BatchNormalization(name=f"{name}.bn1")(y))
        y = layers.Conv2D(c, 3, padding="same", name=f"{name}.conv2")(y)
        y = layers.BatchNormalization(name=f"{name}.bn2")(y)
        if stride != 1 or x.shape[-1] != c:
            x = layers.Conv2D(c, 1, stride, name=f"{name}.shortcut")(x)
        return layers.ReLU(name=f"{name}.relu2")(layers.Add(name=f"{name}.add")([x, y]))

    x = inp = keras.Input((32, 32, 3), batch_size=1, name="image")
    x = layers.Conv2D(16, 3, padding="same", name="stem")(x)
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(name="stem_bn")(x))
    for i, (c, s) in enumerate(((16, 1), (32, 2), (64, 2))):
        x = block(x, c, s, f"stack{i}")
    x = layers.AveragePooling2D(pool_size=x.shape[1], name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, name="fc")(x)
    x = layers.Softmax(name="softmax")(x)
    return randomize(keras.Model(inp, x, name="resnet8"))


MCU_MODELS: dict[str, Callable[[], Any]] = {
    "person_detection": person_detection,
    "kws_dscnn": kws_dscnn,
    "resnet8": resnet8,
    "mobilenet_v2_035": mobilenet_v2_035,
}
