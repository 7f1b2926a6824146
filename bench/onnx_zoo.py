"""Shared by the ONNX bench scripts: the cross-framework zoo exported to .onnx files.

``examples/<arch>.py:torch_model`` with random weights, exported by
``torch.onnx.export`` (TorchScript exporter, constant folding on: BatchNorm
folded into the convolutions, as deployed files are).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("alexnet", "mobilenet_v2", "resnet50", "transformer")


def export_zoo(
    folder: Path, archs: tuple[str, ...] = ARCHS, fold: bool = True
) -> dict[str, tuple[Path, tuple[int, ...]]]:
    """``{arch: (onnx file, input shape)}``, exporting only the files not yet in ``folder``."""
    sys.path.insert(0, str(ROOT))
    from tests.plugins.frontends.onnx.exports import export, materialize, zoo_spec

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for arch in archs:
        spec = zoo_spec(arch)
        path = folder / f"{arch}{'' if fold else '_unfolded'}.onnx"
        if not path.exists():
            export(materialize(spec["model"]), spec["inputs"], path, fold=fold)
        out[arch] = (path, tuple(spec["inputs"]))
    return out
