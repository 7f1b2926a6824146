"""One ``Arch`` description built in PyTorch (NCHW), Keras 3 and Flax linen (NHWC).

Every block is a module / layer of its own in each framework (activations and
pools too), so layer boundaries, and with them the activation counts, are the
same everywhere. Each builder returns the model, its input shape and the
framework's own parameter counts ``(trainable, non_trainable)``; PyTorch's
``num_batches_tracked`` step counters are left out (docs/metrics.md).
Padding is symmetric in all three: Keras gets a ``ZeroPadding2D`` before a
``valid`` convolution, which the analyzer folds into the convolution. Keras
models are functional, or ``Sequential`` when the architecture has no
residual and an even batch (the other Keras capture path).
Each builder imports its framework when called.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from tests.properties.strategies import (
    Activation,
    Arch,
    BatchNorm,
    Conv,
    Depthwise,
    Dropout,
    GroupNorm,
    LayerNorm,
    Linear,
    Pool,
    Residual,
    feature_shape,
    same_pads,
)

EPS = 1e-5
LEAKY_SLOPE = 0.1


def torch_model(arch: Arch) -> tuple[Any, tuple[int, ...], tuple[int, int]]:
    import torch
    from torch import nn

    activations = {
        "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
        "silu": nn.SiLU, "gelu": nn.GELU, "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
        "hardswish": nn.Hardswish, "hardsigmoid": nn.Hardsigmoid, "hardtanh": nn.Hardtanh,
        "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE), "elu": nn.ELU, "selu": nn.SELU,
        "softplus": nn.Softplus, "mish": nn.Mish, "softmax": lambda: nn.Softmax(dim=1),
    }  # fmt: skip

    class Residual_(nn.Module):
        def __init__(self, body: nn.Module) -> None:
            super().__init__()
            self.body = body

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)

    def make(block: Any, c: int, hw: tuple[int, int], f: int) -> nn.Module:
        if isinstance(block, Conv):
            conv = nn.Conv2d(c, block.out_channels, block.kernel, block.stride, block.padding,
                             block.dilation, block.groups, block.bias)  # fmt: skip
            if not block.tf_same:
                return conv
            (top, bottom), (left, right) = same_pads(hw, block)
            return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)
        if isinstance(block, Depthwise):
            return nn.Conv2d(
                c, c, block.kernel, block.stride, block.padding, groups=c, bias=block.bias
            )
        if isinstance(block, BatchNorm):
            return nn.BatchNorm2d(c, eps=EPS) if f == 0 else nn.BatchNorm1d(f, eps=EPS)
        if isinstance(block, GroupNorm):
            return nn.GroupNorm(block.groups, c, eps=EPS)
        if isinstance(block, Dropout):
            return nn.Dropout(0.1)
        if isinstance(block, Activation):
            return activations[block.kind]()
        if isinstance(block, Pool):
            pool = nn.MaxPool2d if block.kind == "max" else nn.AvgPool2d
            return pool(block.kernel, block.stride)
        if isinstance(block, Linear):
            return nn.Linear(f, block.out_features, bias=block.bias)
        if isinstance(block, LayerNorm):
            return nn.LayerNorm(f, eps=EPS)
        assert isinstance(block, Residual)
        body = [(f"l{j}", make(b, c, hw, f)) for j, b in enumerate(block.body)]
        return Residual_(nn.Sequential(OrderedDict(body)))

    modules, c, f = [], arch.channels, 0
    hw = arch.size
    for i, block in enumerate(arch.features):
        modules.append((f"b{i}", make(block, c, hw, f)))
        c, hw = feature_shape(block, c, hw)
    if arch.head in ("gap", "gmp"):
        pool = nn.AdaptiveAvgPool2d(1) if arch.head == "gap" else nn.AdaptiveMaxPool2d(1)
        modules.append((arch.head, pool))
        hw = (1, 1)
    modules.append(("flatten", nn.Flatten()))
    f = c * hw[0] * hw[1]
    for i, block in enumerate(arch.classifier):
        modules.append((f"fc{i}", make(block, c, hw, f)))
        f = block.out_features if isinstance(block, Linear) else f
    with torch.device("meta"):
        model = nn.Sequential(OrderedDict(modules)).eval()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(
        b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")
    )
    return model, (arch.batch, arch.channels, *arch.size), (trainable, frozen)


def keras_model(arch: Arch) -> tuple[Any, tuple[int, ...], tuple[int, int]]:
    import keras
    from keras import layers

    activations = {
        "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "silu": "silu",
        "gelu": "gelu", "gelu_tanh": lambda x: keras.activations.gelu(x, approximate=True),
        "hardswish": "hard_swish", "hardsigmoid": "hard_sigmoid", "hardtanh": "hard_tanh",
        "elu": "elu", "selu": "selu", "softplus": "softplus", "mish": "mish",
    }  # fmt: skip

    def apply(block: Any, x: Any, name: str) -> Any:
        if isinstance(block, Conv | Depthwise):
            if block.padding not in (0, (0, 0)):
                x = layers.ZeroPadding2D(block.padding, name=f"{name}.pad")(x)
            if isinstance(block, Depthwise):
                return layers.DepthwiseConv2D(block.kernel, block.stride, "valid", use_bias=block.bias,
                                              name=name)(x)  # fmt: skip
            padding = "same" if block.tf_same else "valid"
            return layers.Conv2D(block.out_channels, block.kernel, block.stride, padding,
                                 dilation_rate=block.dilation, groups=block.groups,
                                 use_bias=block.bias, name=name)(x)  # fmt: skip
        if isinstance(block, BatchNorm):
            return layers.BatchNormalization(epsilon=EPS, name=name)(x)
        if isinstance(block, GroupNorm):
            return layers.GroupNormalization(block.groups, epsilon=EPS, name=name)(x)
        if isinstance(block, Dropout):
            return layers.Dropout(0.1, name=name)(x)
        if isinstance(block, Activation):
            if block.kind == "leaky_relu":
                return layers.LeakyReLU(LEAKY_SLOPE, name=name)(x)
            if block.kind == "softmax":
                return layers.Softmax(name=name)(x)
            return layers.Activation(activations[block.kind], name=name)(x)
        if isinstance(block, Pool):
            pool = layers.MaxPooling2D if block.kind == "max" else layers.AveragePooling2D
            return pool(block.kernel, block.stride, "valid", name=name)(x)
        if isinstance(block, Linear):
            return layers.Dense(block.out_features, use_bias=block.bias, name=name)(x)
        if isinstance(block, LayerNorm):
            return layers.LayerNormalization(epsilon=EPS, name=name)(x)
        assert isinstance(block, Residual)
        y = x
        for j, b in enumerate(block.body):
            y = apply(b, y, f"{name}.body.{j}")
        return layers.Add(name=name)([x, y])

    with keras.StatelessScope(initialize_variables=False):  # shapes only
        x = inp = keras.Input((*arch.size, arch.channels), name="x")
        for i, block in enumerate(arch.features):
            x = apply(block, x, f"b{i}")
        heads = {"gap": layers.GlobalAveragePooling2D, "gmp": layers.GlobalMaxPooling2D}
        x = heads.get(arch.head, layers.Flatten)(name="head")(x)
        for i, block in enumerate(arch.classifier):
            x = apply(block, x, f"fc{i}")
        model = keras.Model(inp, x, name="arch")
        if arch.batch % 2 == 0 and not any(
            isinstance(b, Residual) for b in arch.features + arch.classifier
        ):
            # the other capture path: the same layers in a Sequential model (half the examples)
            model = keras.Sequential([keras.Input(inp.shape[1:]), *model.layers[1:]], name="arch")
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    frozen = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return model, (arch.batch, *arch.size, arch.channels), (trainable, frozen)


def flax_model(arch: Arch) -> tuple[Any, tuple[int, ...], tuple[int, int]]:
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    functions = {
        "relu": nn.relu, "relu6": nn.relu6, "sigmoid": nn.sigmoid, "tanh": nn.tanh,
        "silu": nn.silu, "gelu": lambda x: nn.gelu(x, approximate=False),
        "gelu_tanh": lambda x: nn.gelu(x, approximate=True), "hardswish": nn.hard_swish,
        "hardsigmoid": nn.hard_sigmoid, "hardtanh": jax.nn.hard_tanh,
        "leaky_relu": lambda x: nn.leaky_relu(x, LEAKY_SLOPE), "elu": nn.elu, "selu": nn.selu,
        "softplus": nn.softplus, "mish": jax.nn.mish, "softmax": nn.softmax,
    }  # fmt: skip

    class Act(nn.Module):
        kind: str

        def __call__(self, x):
            return functions[self.kind](x)

    class PoolModule(nn.Module):
        kind: str
        kernel: int
        stride: int

        def __call__(self, x):
            pool = nn.max_pool if self.kind == "max" else nn.avg_pool
            return pool(x, (self.kernel, self.kernel), (self.stride, self.stride))

    class ResidualModule(nn.Module):
        body: tuple

        @nn.compact
        def __call__(self, x):
            y = x
            for j, b in enumerate(self.body):
                y = make(b, y.shape[-1], f"l{j}")(y)
            return x + y

    def make(block: Any, c: int, name: str) -> nn.Module:
        if isinstance(block, Conv | Depthwise):
            if isinstance(block, Conv):
                out, groups, dilation, kernel = (
                    block.out_channels,
                    block.groups,
                    block.dilation,
                    block.kernel,
                )
                padding = "SAME" if block.tf_same else tuple((p, p) for p in block.padding)
            else:
                out, groups, dilation, kernel = c, c, 1, (block.kernel, block.kernel)
                padding = ((block.padding, block.padding),) * 2
            return nn.Conv(out, kernel, block.stride, padding=padding,
                           kernel_dilation=dilation, feature_group_count=groups,
                           use_bias=block.bias, name=name)  # fmt: skip
        if isinstance(block, BatchNorm):
            return nn.BatchNorm(use_running_average=True, epsilon=EPS, name=name)
        if isinstance(block, GroupNorm):
            return nn.GroupNorm(num_groups=block.groups, epsilon=EPS, name=name)
        if isinstance(block, Dropout):
            return nn.Dropout(0.1, deterministic=True, name=name)
        if isinstance(block, Activation):
            return Act(block.kind, name=name)
        if isinstance(block, Pool):
            return PoolModule(block.kind, block.kernel, block.stride, name=name)
        if isinstance(block, Linear):
            return nn.Dense(block.out_features, use_bias=block.bias, name=name)
        if isinstance(block, LayerNorm):
            return nn.LayerNorm(epsilon=EPS, name=name)
        assert isinstance(block, Residual)
        return ResidualModule(block.body, name=name)

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            for i, block in enumerate(arch.features):
                x = make(block, x.shape[-1], f"b{i}")(x)
            if arch.head == "gap":
                x = jnp.mean(x, axis=(1, 2))
            elif arch.head == "gmp":
                x = jnp.max(x, axis=(1, 2))
            else:
                x = x.reshape((x.shape[0], -1))
            for i, block in enumerate(arch.classifier):
                x = make(block, x.shape[-1], f"fc{i}")(x)
            return x

    model = Net()
    shape = (arch.batch, *arch.size, arch.channels)
    variables = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros(shape))

    def count(tree: Any) -> int:
        return sum(math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(tree))

    return (
        model,
        shape,
        (count(variables.get("params", {})), count(variables.get("batch_stats", {}))),
    )


BUILDERS = {"torch": torch_model, "keras": keras_model, "flax": flax_model}
# framework -> modules it needs
NEEDS = {"torch": ("torch",), "keras": ("keras", "tensorflow"), "flax": ("jax", "flax")}
