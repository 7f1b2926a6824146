"""Test-only: make torchvision 0.28 importable beside a torch its C++ ops were not built for.

torchvision is installed without its compiled extension matching this torch,
and ``torchvision._meta_registrations`` registers fakes for ``torchvision::nms``
and ``qnms`` at import, which fails when those ops do not exist. Before
``import torchvision`` this module defines both as Python custom ops (a real
greedy NMS), and afterwards lets the ops modules take their Python paths
(``roi_align`` has one; ``nms`` calls the custom op). Pillow, absent, is
stubbed: torchvision's transforms name it at import. Import ``torchvision``
through ``load()``; nothing here is used by the analyzer itself.
"""

from __future__ import annotations

import sys
from types import ModuleType

import torch


def _greedy_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the kept boxes (x1, y1, x2, y2), by decreasing score, as torchvision::nms."""
    order = torch.argsort(scores, descending=True)
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        a = order[i]
        keep.append(a)
        rest = order[i + 1 :]
        w = (torch.minimum(x2[a], x2[rest]) - torch.maximum(x1[a], x1[rest])).clamp(min=0)
        h = (torch.minimum(y2[a], y2[rest]) - torch.maximum(y1[a], y1[rest])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[a] + areas[rest] - inter)
        suppressed[i + 1 :] |= iou > iou_threshold
    return torch.stack(keep) if keep else torch.empty(0, dtype=torch.long)


def _register_ops() -> None:
    if hasattr(torch.ops.torchvision, "nms"):
        return

    @torch.library.custom_op("torchvision::nms", mutates_args=())
    def nms(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
        return _greedy_nms(dets, scores, iou_threshold)

    @torch.library.custom_op("torchvision::qnms", mutates_args=())
    def qnms(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
        return _greedy_nms(dets.float(), scores.float(), iou_threshold)


class _Placeholder(type):
    """Any attribute of a stubbed module: a class (isinstance checks stay valid, never true)."""

    def __getattr__(cls, name: str) -> type:
        return _placeholder(name)


def _placeholder(name: str) -> type:
    if name.startswith("__"):  # inspect and pickle probe dunders: those must be absent
        raise AttributeError(name)
    return _Placeholder(name, (), {})


def _stub_pil() -> None:
    """Pillow is not installed: torchvision's transforms only need its names at import."""
    try:
        import PIL  # noqa: F401
    except ImportError:
        for name in ("PIL", "PIL.Image", "PIL.ImageEnhance", "PIL.ImageOps"):
            module = ModuleType(name)
            module.__getattr__ = _placeholder  # type: ignore[method-assign]
            module.__path__ = []  # a package, so that ``import PIL.Image`` resolves
            sys.modules[name] = module
        sys.modules["PIL"].__version__ = "0.0"
        for sub in ("Image", "ImageEnhance", "ImageOps"):
            setattr(sys.modules["PIL"], sub, sys.modules[f"PIL.{sub}"])


def load() -> ModuleType:
    """``torchvision``, importable and with Python paths for the ops detection models use."""
    if "torchvision" not in sys.modules:
        _register_ops()
        _stub_pil()
    import torchvision
    import torchvision.ops.boxes as boxes

    boxes._assert_has_ops = lambda: None  # nms: the custom op above
    return torchvision
