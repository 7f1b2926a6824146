"""Test models of the JAX frontend: plain JAX, Flax linen, Flax NNX, Equinox.

Imported by the test modules beside it (which skip when jax is missing).
"""

from __future__ import annotations

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import nnx

S = jax.ShapeDtypeStruct
F32 = jnp.float32


class LectureAlexNet(nn.Module):
    """The lecture's two-group AlexNet (docs/metrics.md), NHWC as Flax has it."""

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(96, (11, 11), strides=4, padding=2, name="conv1")(x))
        x = nn.max_pool(x, (3, 3), (2, 2))
        x = nn.relu(nn.Conv(256, (5, 5), padding=2, feature_group_count=2, name="conv2")(x))
        x = nn.max_pool(x, (3, 3), (2, 2))
        x = nn.relu(nn.Conv(384, (3, 3), padding=1, name="conv3")(x))
        x = nn.relu(nn.Conv(384, (3, 3), padding=1, feature_group_count=2, name="conv4")(x))
        x = nn.relu(nn.Conv(256, (3, 3), padding=1, feature_group_count=2, name="conv5")(x))
        x = nn.max_pool(x, (3, 3), (2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(4096, name="fc6")(x))
        x = nn.relu(nn.Dense(4096, name="fc7")(x))
        return nn.Dense(1000, name="fc8")(x)


class FlaxCNN(nn.Module):
    """Conv + BatchNorm (running statistics in ``batch_stats``) + pooling + Dense."""

    padding: str = "VALID"
    norm: bool = True

    @nn.compact
    def __call__(self, x):
        x = nn.Conv(8, (3, 3), padding=self.padding)(x)
        if self.norm:
            x = nn.BatchNorm(use_running_average=True)(x)
        x = nn.max_pool(nn.relu(x), (2, 2), (2, 2))
        x = nn.relu(nn.Conv(16, (3, 3), padding=self.padding, feature_group_count=2)(x))
        x = nn.avg_pool(x, (2, 2), (2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(32)(x))
        return nn.Dense(10)(x)


def mlp(params, x):
    """A plain JAX MLP: ``apply_fn(params, x)``."""
    h = jax.nn.relu(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def mlp_params(d_in: int = 8, hidden: int = 16, d_out: int = 4) -> dict:
    return {
        "w1": S((d_in, hidden), F32),
        "b1": S((hidden,), F32),
        "w2": S((hidden, d_out), F32),
        "b2": S((d_out,), F32),
    }


class NNXModel(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.conv = nnx.Conv(3, 8, (3, 3), padding="VALID", rngs=rngs)
        self.bn = nnx.BatchNorm(8, use_running_average=True, rngs=rngs)
        self.fc = nnx.Linear(8 * 6 * 6, 10, rngs=rngs)

    def __call__(self, x):
        x = nnx.relu(self.bn(self.conv(x)))
        return self.fc(x.reshape((x.shape[0], -1)))


def nnx_model() -> NNXModel:
    return nnx.eval_shape(lambda: NNXModel(nnx.Rngs(0)))


class EqxModel(eqx.Module):
    """One example at a time (Equinox convention): CHW in, logits out."""

    conv: eqx.nn.Conv2d
    norm: eqx.nn.LayerNorm
    mlp: eqx.nn.MLP

    def __init__(self, key):
        k1, k2 = jax.random.split(key)
        self.conv = eqx.nn.Conv2d(3, 8, 3, key=k1)
        self.norm = eqx.nn.LayerNorm((8, 6, 6))
        self.mlp = eqx.nn.MLP(8 * 6 * 6, 10, 32, depth=2, key=k2)

    def __call__(self, x):
        x = jax.nn.relu(self.norm(self.conv(x)))
        return self.mlp(x.reshape(-1))


def eqx_model() -> EqxModel:
    return eqx.filter_eval_shape(EqxModel, jax.random.key(0))
