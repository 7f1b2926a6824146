"""Model families for sweeps (docs/sweeps.md): factories called with each configuration's parameters.

- ``mobilenet_v2``: the framework-free MobileNetV2 of ``analyzer.zoo`` (no ML
  framework needed), width multiplier x resolution x classes.
- ``torch_mobilenet_v2``: the same architecture in PyTorch, on the meta
  device (torchvision's layout: ``_make_divisible`` channel rounding, a last
  layer of 1280 x max(1, width) channels).

    python -m analyzer sweep examples/mobilenet_v2_sweep.toml
"""

from __future__ import annotations

from typing import Any

# torchvision's inverted_residual_setting: expansion t, channels c, repeats n, first stride s
SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(width: float = 1.0, resolution: int = 224, num_classes: int = 1000, batch: int = 1) -> Any:
    from analyzer.zoo import mobilenet_v2 as build

    return build(batch=batch, resolution=resolution, width=width, num_classes=num_classes)


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's rounding of channel counts to multiples of 8 (never below 90% of ``v``)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def torch_mobilenet_v2(width: float = 1.0, resolution: int = 224, num_classes: int = 1000, batch: int = 1) -> dict[str, Any]:
    """MobileNetV2 in PyTorch on the meta device: no weights are allocated."""
    import torch
    from torch import nn

    def conv_bn_act(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
        conv = nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False)
        return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.ReLU6())

    class InvertedResidual(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int, t: int) -> None:
            super().__init__()
            hidden = c_in * t
            layers = [conv_bn_act(c_in, hidden, 1)] if t != 1 else []
            layers += [conv_bn_act(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, c_out, 1, bias=False),
                       nn.BatchNorm2d(c_out)]  # fmt: skip
            self.conv = nn.Sequential(*layers)
            self.use_res_connect = stride == 1 and c_in == c_out

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c_in = make_divisible(32 * width)
            features: list[nn.Module] = [conv_bn_act(3, c_in, 3, 2)]
            for t, c, n, s in SETTING:
                c_out = make_divisible(c * width)
                for i in range(n):
                    features.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, t))
                    c_in = c_out
            last = make_divisible(1280 * max(1.0, width))
            features.append(conv_bn_act(c_in, last, 1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
            return self.classifier(torch.flatten(x, 1))

    with torch.device("meta"):
        model = MobileNetV2().eval()
    return {"model": model, "inputs": (batch, 3, resolution, resolution), "name": "mobilenet_v2"}
