"""MobileNetV2 (width 1.0, 224x224) as torchvision defines it, in PyTorch, Keras 3 and Flax linen.

Layers carry torchvision's module paths (``features.1.conv.0.0``) in all
three frameworks, as in ``analyzer.zoo.mobilenet_v2``: 3,504,872 params,
300,774,272 MACs.

    python -m analyzer compare examples/mobilenet_v2.py:torch_model \
        examples/mobilenet_v2.py:keras_model examples/mobilenet_v2.py:flax_model

Each SPEC imports only its own framework, when called.
"""

from __future__ import annotations

from typing import Any

NAME = "mobilenet_v2"
# torchvision's inverted_residual_setting: expansion t, channels c, repeats n, first stride s
SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM, LAST, CLASSES, EPS = 32, 1280, 1000, 1e-5


def blocks() -> list[tuple[int, int, int, int]]:
    """(input channels, output channels, stride, expansion) of features.1 ... features.17."""
    out, c_in = [], STEM
    for t, c, n, s in SETTING:
        for i in range(n):
            out.append((c_in, c, s if i == 0 else 1, t))
            c_in = c
    return out


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's rounding of channel counts to multiples of 8 (never below 90% of ``v``)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def torch_module(width: float = 1.0, num_classes: int = CLASSES) -> Any:
    """torchvision's MobileNetV2 at a width multiplier, on the meta device (no weights allocated)."""
    import torch
    from torch import nn

    def conv_bn_act(
        c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1
    ) -> nn.Sequential:
        # torchvision's Conv2dNormActivation: conv (no bias), BatchNorm, ReLU6
        conv = nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False)
        return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.ReLU6())

    class InvertedResidual(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int, t: int) -> None:
            super().__init__()
            hidden = c_in * t
            layers = [conv_bn_act(c_in, hidden, 1)] if t != 1 else []
            layers += [
                conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
                nn.Conv2d(hidden, c_out, 1, bias=False),
                nn.BatchNorm2d(c_out),
            ]
            self.conv = nn.Sequential(*layers)
            self.use_res_connect = stride == 1 and c_in == c_out

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c_in = make_divisible(STEM * width)
            features: list[nn.Module] = [conv_bn_act(3, c_in, 3, 2)]
            for t, c, n, s in SETTING:
                c_out = make_divisible(c * width)
                for i in range(n):
                    features.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, t))
                    c_in = c_out
            last = make_divisible(LAST * max(1.0, width))
            features.append(conv_bn_act(c_in, last, 1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
            return self.classifier(torch.flatten(x, 1))

    with torch.device("meta"):
        return MobileNetV2().eval()


def torch_model() -> dict[str, Any]:
    """PyTorch, NCHW, on the meta device; the module tree is torchvision's."""
    return {"model": torch_module(), "inputs": (1, 3, 224, 224), "name": NAME}


def keras_model() -> dict[str, Any]:
    """Keras 3 functional, NHWC. Stride-2 convolutions get torchvision's symmetric
    padding from a ZeroPadding2D (folded into the convolution by the analyzer);
    "same" would pad them (0, 1)."""
    import keras
    from keras import layers

    def conv_bn_act(
        x: Any, c_out: int, k: int, name: str, stride: int = 1, depthwise: bool = False
    ) -> Any:
        if stride > 1:
            x = layers.ZeroPadding2D((k - 1) // 2, name=f"{name}.pad")(x)
        pad = "valid" if stride > 1 else "same"
        if depthwise:
            x = layers.DepthwiseConv2D(k, stride, pad, use_bias=False, name=f"{name}.0")(x)
        else:
            x = layers.Conv2D(c_out, k, stride, pad, use_bias=False, name=f"{name}.0")(x)
        x = layers.BatchNormalization(epsilon=EPS, momentum=0.9, name=f"{name}.1")(x)
        return layers.ReLU(6.0, name=f"{name}.2")(x)

    with keras.StatelessScope(initialize_variables=False):  # shapes only: no weight initialisation
        x = inp = keras.Input((224, 224, 3), name="input")
        x = conv_bn_act(x, STEM, 3, "features.0", 2)
        for idx, (c_in, c_out, stride, t) in enumerate(blocks(), start=1):
            scope, j, y = f"features.{idx}.conv", 0, x
            if t != 1:
                y = conv_bn_act(y, c_in * t, 1, f"{scope}.0")
                j = 1
            y = conv_bn_act(y, c_in * t, 3, f"{scope}.{j}", stride, depthwise=True)
            y = layers.Conv2D(c_out, 1, use_bias=False, name=f"{scope}.{j + 1}")(y)
            y = layers.BatchNormalization(epsilon=EPS, momentum=0.9, name=f"{scope}.{j + 2}")(y)
            x = layers.Add(name=f"features.{idx}")([x, y]) if stride == 1 and c_in == c_out else y
        x = conv_bn_act(x, LAST, 1, "features.18")
        x = layers.GlobalAveragePooling2D(name="avgpool")(x)
        x = layers.Dropout(0.2, name="classifier.0")(x)
        x = layers.Dense(CLASSES, name="classifier.1")(x)
        model = keras.Model(inp, x, name=NAME)
    return {"model": model, "inputs": (1, 224, 224, 3), "name": NAME}


def flax_model() -> dict[str, Any]:
    """Flax linen, NHWC; module names are torchvision's paths."""
    import flax.linen as nn
    import jax.numpy as jnp

    class ConvBNAct(nn.Module):
        features: int
        kernel: int
        stride: int = 1
        groups: int = 1

        @nn.compact
        def __call__(self, x):
            p = (self.kernel - 1) // 2
            x = nn.Conv(self.features, (self.kernel, self.kernel), self.stride, padding=p,
                        feature_group_count=self.groups, use_bias=False, name="0")(x)  # fmt: skip
            x = nn.BatchNorm(use_running_average=True, momentum=0.9, epsilon=EPS, name="1")(x)
            return nn.relu6(x)

    class InvertedResidual(nn.Module):
        c_in: int
        c_out: int
        stride: int
        t: int

        @nn.compact
        def __call__(self, x):
            hidden, j, y = self.c_in * self.t, 0, x
            if self.t != 1:
                y = ConvBNAct(hidden, 1, name="conv.0")(y)
                j = 1
            y = ConvBNAct(hidden, 3, self.stride, groups=hidden, name=f"conv.{j}")(y)
            y = nn.Conv(self.c_out, (1, 1), use_bias=False, name=f"conv.{j + 1}")(y)
            y = nn.BatchNorm(
                use_running_average=True, momentum=0.9, epsilon=EPS, name=f"conv.{j + 2}"
            )(y)
            return x + y if self.stride == 1 and self.c_in == self.c_out else y

    class MobileNetV2(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = ConvBNAct(STEM, 3, 2, name="features.0")(x)
            for idx, b in enumerate(blocks(), start=1):
                x = InvertedResidual(*b, name=f"features.{idx}")(x)
            x = ConvBNAct(LAST, 1, name="features.18")(x)
            x = jnp.mean(x, axis=(1, 2))  # global average pool
            x = nn.Dropout(0.2, deterministic=True, name="classifier.0")(x)
            return nn.Dense(CLASSES, name="classifier.1")(x)

    return {"model": MobileNetV2(), "inputs": (1, 224, 224, 3), "name": NAME}
