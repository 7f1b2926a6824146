"""The PyTorch side of the example: the custom op a model would call (needs torch)."""

from __future__ import annotations

import torch


@torch.library.custom_op("bitops_example::gated_linear", mutates_args=())
def gated_linear(x: torch.Tensor, w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    return (x @ w) * torch.sigmoid(x @ g)


@gated_linear.register_fake
def _(x: torch.Tensor, w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    return x.new_empty(*x.shape[:-1], w.shape[-1])


class GatedMLP(torch.nn.Module):
    """x -> gated_linear(64 -> 128) -> relu -> linear(128 -> 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(64, 128) * 0.1)
        self.g = torch.nn.Parameter(torch.randn(64, 128) * 0.1)
        self.head = torch.nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(torch.ops.bitops_example.gated_linear(x, self.w, self.g)))


def model() -> dict:
    """SPEC target: ``analyzer_bitops.torch_ops:model``."""
    return {"model": GatedMLP(), "inputs": (4, 64)}
