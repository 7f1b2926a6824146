"""Export helpers for the ONNX tests: PyTorch models to .onnx with the TorchScript exporter.

The dynamo exporter needs onnxscript, which is not installed; the
TorchScript exporter (``dynamo=False``) is what most ``.onnx`` files in the
wild came from. Weights are random (seeded): the exporter shares
initializers with identical values, so uninitialised (all-zero) weights
would be exported as one tensor.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import torch

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"


def zoo_spec(arch: str) -> dict[str, Any]:
    """``examples/<arch>.py``'s ``torch_model()`` mapping (model on the meta device)."""
    spec = importlib.util.spec_from_file_location(f"_onnx_zoo_{arch}", EXAMPLES / f"{arch}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.torch_model()


def materialize(model: torch.nn.Module) -> torch.nn.Module:
    """The meta-device model on the CPU with random weights and sane BatchNorm statistics."""
    torch.manual_seed(0)
    model = model.to_empty(device="cpu").eval()
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.normal_(0, 0.05)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_var.uniform_(0.5, 1.5)
    return model


def export(
    model: torch.nn.Module, shape: tuple[int, ...], path: Path, *, fold: bool = False, **kwargs: Any
) -> Path:
    """``torch.onnx.export`` (TorchScript) of ``model`` on zeros of ``shape``.

    ``fold=False`` keeps BatchNorm and the shape arithmetic as the module
    wrote them (the exporter folds BatchNorm into convolutions otherwise).
    """
    if isinstance(model, torch.nn.TransformerEncoderLayer):
        # traced with its defaults, is_causal reaches SDPA as a tensor: pass the flags as Python values
        forward = type(model).forward
        model.forward = lambda x: forward(model, x, None, None, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(shape),), str(path), dynamo=False, do_constant_folding=fold,
                          input_names=["input"], **kwargs)  # fmt: skip
    return path
