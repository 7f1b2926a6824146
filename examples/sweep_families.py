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


def mobilenet_v2(width: float = 1.0, resolution: int = 224, num_classes: int = 1000, batch: int = 1) -> Any:
    from analyzer.zoo import mobilenet_v2 as build

    return build(batch=batch, resolution=resolution, width=width, num_classes=num_classes)


def torch_mobilenet_v2(width: float = 1.0, resolution: int = 224, num_classes: int = 1000, batch: int = 1) -> dict[str, Any]:
    """MobileNetV2 in PyTorch on the meta device: no weights are allocated."""
    import torch  # noqa: F401  (imported here in sight: a sweep's fork server preloads what factories import)

    return {"model": _example("mobilenet_v2").torch_module(width, num_classes),
            "inputs": (batch, 3, resolution, resolution), "name": "mobilenet_v2"}  # fmt: skip


def _example(name: str) -> Any:
    """A module of this folder (examples/NAME.py), imported by its path: examples are not a package."""
    import importlib.util
    import sys
    from pathlib import Path

    key = f"_examples_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
