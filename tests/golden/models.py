"""Tiny models whose IR is kept as golden JSON snapshots (tests/golden/*.json).

One function per snapshot, named ``<frontend>_<model>``; each returns the
Graph its frontend produces. Models are small and fully named (Keras layer
names, Flax module names) so the IR does not depend on global counters or
on which tests ran before. Framework imports are lazy: a missing framework
skips only its snapshots.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from analyzer.core.builder import GraphBuilder
from analyzer.core.graph import Graph
from analyzer.core.plugins import PluginSet


def builder_residual(ps: PluginSet) -> Graph:
    b = GraphBuilder("residual")
    x = b.input("x", (1, 3, 16, 16))
    x = b.conv(x, 8, 3, padding=1, bias=False, name="stem")
    x = b.batch_norm(x, name="stem_bn")
    x = b.relu(x, name="stem_relu")
    with b.scope("block"):
        y = b.conv(x, 8, 3, padding=1, groups=8, name="dw")
        y = b.conv(y, 8, 1, name="pw")
        x = b.add(x, y, name="add")
    x = b.max_pool(x, 2, name="pool")
    x = b.global_avg_pool(x, name="gap")
    x = b.flatten(x)
    return b.build(b.linear(x, 4, name="fc"))


def builder_attention(ps: PluginSet) -> Graph:
    b = GraphBuilder("attention")
    x = b.input("x", (2, 6, 8))
    h = b.layer_norm(x, name="ln")
    q, k, v = (b.linear(h, 8, name=n) for n in ("q", "k", "v"))
    a = b.attention(q, k, v, name="attn")
    x = b.add(x, b.linear(a, 8, name="proj"), name="res")
    return b.build(b.softmax(x, name="softmax"))


def _torch():
    torch = pytest.importorskip("torch")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return torch, torch.nn


def torch_cnn(ps: PluginSet) -> Graph:
    torch, nn = _torch()

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(8)
            self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            x = torch.relu(self.bn(self.conv(x)))
            x = x + torch.sigmoid(self.dw(x))
            return self.fc(torch.flatten(self.pool(x), 1))

    torch.manual_seed(0)
    return _convert(Net().eval(), (1, 3, 8, 8), ps)


def torch_mlp_attention(ps: PluginSet) -> Graph:
    torch, nn = _torch()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(8)
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))

        def forward(self, x):
            h = self.norm(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(x)

    torch.manual_seed(0)
    return _convert(Block().eval(), (2, 5, 8), ps)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # as the other Keras tests
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("keras")


def keras_cnn(ps: PluginSet) -> Graph:
    keras = _keras()
    layers = keras.layers
    x = inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    y = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = layers.Add(name="add")([x, y])
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(4, activation="softmax", name="fc")(x)
    return _convert(keras.Model(inp, x, name="keras_cnn"), None, ps)


def keras_sequential(ps: PluginSet) -> Graph:
    keras = _keras()
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((6, 8), name="tokens"),
            layers.LayerNormalization(name="ln"),
            layers.Dense(16, activation="gelu", name="up"),
            layers.Dense(8, name="down"),
            layers.Flatten(name="flatten"),
            layers.Dense(3, name="head"),
        ],
        name="keras_sequential",
    )
    return _convert(model, None, ps)


def _jax():
    return pytest.importorskip("jax"), pytest.importorskip("jax.numpy")


def jax_mlp(ps: PluginSet) -> Graph:
    jax, jnp = _jax()

    def mlp(params, x):
        h = jax.nn.relu(x @ params["w1"] + params["b1"])
        return jax.nn.softmax(h @ params["w2"] + params["b2"])

    f32 = jnp.float32
    params = {
        "w1": jax.ShapeDtypeStruct((8, 16), f32),
        "b1": jax.ShapeDtypeStruct((16,), f32),
        "w2": jax.ShapeDtypeStruct((16, 4), f32),
        "b2": jax.ShapeDtypeStruct((4,), f32),
    }
    return _convert(mlp, jax.ShapeDtypeStruct((2, 8), f32), ps, params=params, framework="jax")


def flax_cnn(ps: PluginSet) -> Graph:
    jax, jnp = _jax()
    nn = pytest.importorskip("flax.linen")

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(8, (3, 3), padding="SAME", name="conv")(x)
            x = nn.BatchNorm(use_running_average=True, name="bn")(x)
            x = nn.avg_pool(nn.relu(x), (2, 2), (2, 2))
            x = x.reshape((x.shape[0], -1))
            return nn.Dense(4, name="fc")(x)

    x = jax.ShapeDtypeStruct((1, 8, 8, 3), jnp.float32)
    net = Net()
    variables = jax.eval_shape(lambda: net.init(jax.random.key(0), jnp.zeros(x.shape)))
    return _convert(net.apply, x, ps, params=variables, framework="jax")


def _convert(model, inputs, ps: PluginSet, **kw) -> Graph:
    from analyzer.core.engine import to_graph

    return to_graph(model, inputs, plugins=ps, **kw)


MODELS: dict[str, Callable[[PluginSet], Graph]] = {
    f.__name__: f
    for f in (
        builder_residual, builder_attention, torch_cnn, torch_mlp_attention,
        keras_cnn, keras_sequential, jax_mlp, flax_cnn,
    )
}  # fmt: skip
