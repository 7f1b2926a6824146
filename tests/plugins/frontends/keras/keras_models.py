"""Keras models for the frontend tests, with explicit layer names so that graphs
compare across processes and backends. Importing this module imports keras:
set ``KERAS_BACKEND`` first (the test modules default it to tensorflow).
"""

from __future__ import annotations

import keras
from keras import layers, ops


def lecture_alexnet() -> keras.Model:
    """docs/metrics.md's two-group AlexNet, channels_last; conv1's padding 2 is a ZeroPadding2D
    (Keras convolutions take only "valid"/"same")."""
    x = inp = keras.Input((224, 224, 3), name="input")
    x = layers.ZeroPadding2D(2, name="pad1")(x)
    x = layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(3, 2, name="pool1")(x)
    x = layers.Conv2D(256, 5, padding="same", groups=2, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(3, 2, name="pool2")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(384, 3, padding="same", groups=2, activation="relu", name="conv4")(x)
    x = layers.Conv2D(256, 3, padding="same", groups=2, activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, 2, name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc6")(x)
    x = layers.Dense(4096, activation="relu", name="fc7")(x)
    x = layers.Dense(1000, name="fc8")(x)
    return keras.Model(inp, x, name="alexnet")


def cnn() -> keras.Model:
    """Convolutions of every kind, pooling, merges and raw keras.ops in one functional graph."""
    x = inp = keras.Input((32, 32, 3), name="image")
    x = layers.Rescaling(1 / 255.0, name="rescale")(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    y = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    y = layers.SeparableConv2D(16, 3, padding="same", activation="swish", name="sep")(y)
    x = layers.Add(name="res")([x, y])
    z = layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(x)
    z = layers.Conv2D(8, 3, strides=2, name="down")(z)
    w = layers.MaxPooling2D(2, name="maxpool")(x)
    w = layers.Conv2D(8, 1, activation="hard_silu", name="proj")(w)
    x = layers.Concatenate(name="cat")([z, w])
    x = layers.AveragePooling2D(2, padding="same", name="avgpool")(x)
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", name="up")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear", name="upsample")(x)
    x = ops.relu(x) * 2.0
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="drop")(x)
    x = layers.Dense(10, activation="softmax", name="head")(x)
    return keras.Model(inp, x, name="cnn")


def sequence_model() -> keras.Model:
    """Embedding, causal Conv1D, recurrent layers, attention, layer norm."""
    x = inp = keras.Input((12,), dtype="int32", name="tokens")
    x = layers.Embedding(50, 16, name="embed")(x)
    x = layers.Conv1D(16, 3, padding="causal", activation="relu", name="conv")(x)
    a = layers.MultiHeadAttention(num_heads=2, key_dim=8, name="mha")(x, x)
    x = layers.LayerNormalization(name="ln")(layers.Add(name="res")([x, a]))
    x = layers.LSTM(12, return_sequences=True, name="lstm")(x)
    x = layers.GRU(10, return_sequences=True, name="gru")(x)
    x = layers.Bidirectional(layers.SimpleRNN(6), name="birnn")(x)
    x = layers.Dense(3, name="out")(x)
    return keras.Model(inp, x, name="seq")


def multi_io() -> keras.Model:
    """Two inputs, two outputs, a nested Sequential called twice and a shared Dense."""
    a = keras.Input((8,), name="a")
    b = keras.Input((8,), name="b")
    block = keras.Sequential(
        [layers.Dense(8, activation="tanh", name="d1"), layers.Dense(8, name="d2")], name="block"
    )
    shared = layers.Dense(4, name="shared")
    ya, yb = block(a), block(b)
    out1 = shared(ya)
    out2 = ops.sum(shared(yb), axis=-1, keepdims=True)
    return keras.Model([a, b], [out1, out2], name="multi")


def shared_dense() -> keras.Model:
    """One Dense(16 -> 16) applied twice: 272 parameters, 2 x 256 MACs per example."""
    inp = keras.Input((16,), name="x")
    d = layers.Dense(16, name="dense")
    return keras.Model(inp, d(d(inp)), name="shared")


class Block(layers.Layer):
    """A custom layer: Dense + BatchNorm + ReLU with a residual connection."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(units, name="dense")
        self.bn = layers.BatchNormalization(name="bn")

    def call(self, x, training=False):
        return ops.relu(self.bn(self.dense(x), training=training)) + x


class Subclassed(keras.Model):
    """No static graph: blocks, a reused block and raw ops between layers."""

    def __init__(self, **kwargs):
        super().__init__(name="sub", **kwargs)
        self.b1 = Block(16, name="b1")
        self.b2 = Block(16, name="b2")
        self.head = layers.Dense(3, name="head")

    def call(self, x):
        x = self.b2(self.b1(x))
        x = self.b1(x)  # reused: shares b1's weights
        return self.head(ops.mean(x, axis=1))


# --- layers Keras runs but a plain symbolic call does not (issue 14) -----------------------------
class LearnedPositions(layers.Layer):
    """Its table cut to the input's length, as keras-hub's PositionEmbedding: built from a weight
    and the input's shape only, so on symbolic inputs the output is a concrete tensor."""

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, input_shape):
        self.table = self.add_weight(shape=(self.length, input_shape[-1]), name="table")

    def call(self, x):
        return ops.convert_to_tensor(self.table)[: ops.shape(x)[1]]


def positions() -> keras.Model:
    """Token embedding + learned positions (a concrete layer output), then a Dense head."""
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    x = layers.Embedding(50, 8, name="embed")(tokens)
    x = x + LearnedPositions(32, name="positions")(x)  # (1, 6, 8) + (6, 8)
    return keras.Model(tokens, layers.Dense(4, name="head")(x), name="positions")


class ProjectionWithExtras(layers.Layer):
    """Returns ``(output, None)`` as keras-hub's T5 attention returns ``(out, bias, None)``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.proj = layers.Dense(8, name="proj")

    def call(self, x):
        return self.proj(x), None


class UsesExtras(layers.Layer):
    """Also adds an offset computed eagerly from a weight, the concrete tensor on the left
    (``position_bias + mask`` in T5): under JAX that needs the KerasTensor's ``__radd__``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = ProjectionWithExtras(name="inner")

    def build(self, input_shape):
        self.offset = self.add_weight(shape=(8,), name="offset")

    def call(self, x):
        y, cache = self.inner(x)
        y = ops.convert_to_tensor(self.offset) * 2.0 + y
        return ops.relu(y) if cache is None else y


def tuple_with_none() -> keras.Model:
    x = inp = keras.Input((5, 8), name="x")
    x = UsesExtras(name="block")(x)
    return keras.Model(inp, layers.Dense(2, name="head")(x), name="tuple_none")


def masked_attention() -> keras.Model:
    """``ops.dot_product_attention`` (B, T, H, D) with a boolean mask, then with a bias and a mask."""
    x = keras.Input((6, 2, 4), name="x")
    mask = keras.Input((1, 6, 6), dtype="bool", name="mask")
    bias = keras.Input((2, 6, 6), name="bias")
    y = ops.dot_product_attention(x, x, x, mask=mask)
    y = ops.dot_product_attention(y, x, x, bias=bias, mask=mask)
    return keras.Model([x, mask, bias], y, name="masked_attention")


MODELS = {  # compared across backends
    "cnn": cnn, "sequence": sequence_model, "multi_io": multi_io,
    "shared": shared_dense, "subclassed": Subclassed, "positions": positions,
    "tuple_none": tuple_with_none, "masked_attention": masked_attention,
}  # fmt: skip
INPUTS = {"subclassed": (2, 5, 16)}
