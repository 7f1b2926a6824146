"""Small model families for the sweep tests (factories are imported by file path, in workers too)."""

from __future__ import annotations

from typing import Any

from analyzer.core.builder import GraphBuilder


def tiny_cnn(width: int = 8, resolution: int = 16, batch: int = 1) -> Any:
    """conv(3->width, 3x3) -> relu -> global pool -> linear(width->10): MACs by hand below."""
    b = GraphBuilder(f"tiny_w{width}")
    x = b.input("input", (batch, 3, resolution, resolution))
    x = b.conv(x, width, 3, padding=1, name="conv")
    x = b.relu(x, name="relu")
    x = b.global_avg_pool(x, name="pool")
    x = b.flatten(x, name="flatten")
    x = b.linear(x, 10, name="fc")
    return b.build(x)


def hand_macs(width: int, resolution: int, batch: int = 1) -> int:
    return batch * (resolution * resolution * width * 3 * 9 + width * 10)


def broken(width: int = 8, resolution: int = 16) -> Any:
    """Fails for one configuration, as a real factory may (an invalid combination)."""
    if width == 13:
        raise ValueError("width 13 is not supported")
    return tiny_cnn(width, resolution)


def torch_tiny(width: int = 4, resolution: int = 8) -> dict[str, Any]:
    import torch
    from torch import nn

    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                              nn.Linear(width, 10)).eval()  # fmt: skip
    return {"model": model, "inputs": (1, 3, resolution, resolution)}
