"""ResNet-50 v1.5 (224x224) as torchvision defines it, in PyTorch, Keras 3 and Flax linen.

v1.5: the stride of a stage's first bottleneck is on its 3x3 convolution
(v1, Keras's ``keras.applications.ResNet50``, puts it on the first 1x1).
Layers carry torchvision's module paths (``layer1.0.conv1``) in all three
frameworks, as in ``analyzer.zoo.resnet50``: 25,557,032 params,
4,089,184,256 MACs.

    python -m analyzer compare examples/resnet50.py:torch_model \
        examples/resnet50.py:keras_model examples/resnet50.py:flax_model

Each SPEC imports only its own framework, when called.
"""

from __future__ import annotations

from typing import Any

NAME = "resnet50"
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # width, blocks, first stride
EXPANSION, CLASSES, EPS = 4, 1000, 1e-5


def blocks() -> list[tuple[str, int, int, int]]:
    """(module path, input channels, width, stride) of every bottleneck."""
    out, c_in = [], 64
    for i, (width, n, stride) in enumerate(STAGES, start=1):
        for j in range(n):
            out.append((f"layer{i}.{j}", c_in, width, stride if j == 0 else 1))
            c_in = width * EXPANSION
    return out


def torch_model() -> dict[str, Any]:
    """PyTorch, NCHW, on the meta device; the module tree is torchvision's."""
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, c_in: int, width: int, stride: int) -> None:
            super().__init__()
            c_out = width * EXPANSION
            self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or c_in != c_out:
                self.downsample = nn.Sequential(
                    nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            identity = x if self.downsample is None else self.downsample(x)
            out += identity
            return self.relu(out)

    class ResNet50(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            for i in range(1, len(STAGES) + 1):
                stage = [
                    Bottleneck(c_in, w, s)
                    for path, c_in, w, s in blocks()
                    if path.startswith(f"layer{i}.")
                ]
                setattr(self, f"layer{i}", nn.Sequential(*stage))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512 * EXPANSION, CLASSES)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    with torch.device("meta"):
        model = ResNet50().eval()
    return {"model": model, "inputs": (1, 3, 224, 224), "name": NAME}


def keras_model() -> dict[str, Any]:
    """Keras 3 functional, NHWC. Strided convolutions get torchvision's symmetric
    padding from a ZeroPadding2D (folded into the convolution by the analyzer);
    the max-pool pads "same", which gives torchvision's output size here."""
    import keras
    from keras import layers

    def conv(x: Any, c: int, k: int, stride: int, name: str) -> Any:
        if k > 1 and stride > 1:
            x = layers.ZeroPadding2D((k - 1) // 2, name=f"{name}.pad")(x)
        pad = "valid" if stride > 1 else "same"
        return layers.Conv2D(c, k, stride, pad, use_bias=False, name=name)(x)

    def bn(x: Any, name: str) -> Any:
        return layers.BatchNormalization(epsilon=EPS, momentum=0.9, name=name)(x)

    with keras.StatelessScope(initialize_variables=False):  # shapes only: no weight initialisation
        x = inp = keras.Input((224, 224, 3), name="input")
        x = layers.ReLU(name="relu")(bn(conv(x, 64, 7, 2, "conv1"), "bn1"))
        x = layers.MaxPooling2D(3, 2, padding="same", name="maxpool")(x)
        for path, c_in, width, stride in blocks():
            relu = layers.ReLU(
                name=f"{path}.relu"
            )  # one layer called three times, as in torchvision
            y = relu(bn(conv(x, width, 1, 1, f"{path}.conv1"), f"{path}.bn1"))
            y = relu(bn(conv(y, width, 3, stride, f"{path}.conv2"), f"{path}.bn2"))
            y = bn(conv(y, width * EXPANSION, 1, 1, f"{path}.conv3"), f"{path}.bn3")
            if stride != 1 or c_in != width * EXPANSION:
                x = bn(
                    conv(x, width * EXPANSION, 1, stride, f"{path}.downsample.0"),
                    f"{path}.downsample.1",
                )
            x = relu(layers.Add(name=path)([y, x]))
        x = layers.GlobalAveragePooling2D(name="avgpool")(x)
        x = layers.Dense(CLASSES, name="fc")(x)
        model = keras.Model(inp, x, name=NAME)
    return {"model": model, "inputs": (1, 224, 224, 3), "name": NAME}


def flax_model() -> dict[str, Any]:
    """Flax linen, NHWC; module names are torchvision's paths."""
    import flax.linen as nn
    import jax.numpy as jnp

    def bn(name: str) -> nn.BatchNorm:
        return nn.BatchNorm(use_running_average=True, momentum=0.9, epsilon=EPS, name=name)

    class Bottleneck(nn.Module):
        c_in: int
        width: int
        stride: int

        @nn.compact
        def __call__(self, x):
            c_out = self.width * EXPANSION
            y = nn.relu(bn("bn1")(nn.Conv(self.width, (1, 1), use_bias=False, name="conv1")(x)))
            y = nn.Conv(self.width, (3, 3), self.stride, padding=1, use_bias=False, name="conv2")(y)
            y = nn.relu(bn("bn2")(y))
            y = bn("bn3")(nn.Conv(c_out, (1, 1), use_bias=False, name="conv3")(y))
            if self.stride != 1 or self.c_in != c_out:
                x = nn.Conv(c_out, (1, 1), self.stride, use_bias=False, name="downsample.0")(x)
                x = bn("downsample.1")(x)
            return nn.relu(y + x)

    class ResNet50(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.relu(
                bn("bn1")(nn.Conv(64, (7, 7), 2, padding=3, use_bias=False, name="conv1")(x))
            )
            x = nn.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))
            for path, c_in, width, stride in blocks():
                x = Bottleneck(c_in, width, stride, name=path)(x)
            x = jnp.mean(x, axis=(1, 2))  # global average pool
            return nn.Dense(CLASSES, name="fc")(x)

    return {"model": ResNet50(), "inputs": (1, 224, 224, 3), "name": NAME}
