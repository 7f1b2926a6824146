"""timm models exported to ONNX give their PyTorch analysis' numbers.

They exercise what the zoo does not: SiLU and GELU written as several ops
(``x * Sigmoid(x)``, the Erf form), attention decomposed into MatMuls, a
class token expanded from a weight, ConvNeXt's layer scale reshaped from a
weight, ``x[:, 0]`` as a Gather. Weights are random (``materialize``), as
the exporter would otherwise share initializers of equal values.
"""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
if (
    importlib.util.find_spec("timm") is None
):  # not importorskip: timm imports torchvision (tv_shim first)
    pytest.skip("timm is not installed", allow_module_level=True)

import analyzer  # noqa: E402
from tests.plugins.frontends.onnx.exports import export, materialize  # noqa: E402

pytestmark = pytest.mark.slow
SAME = (
    "params",
    "non_trainable_params",
    "macs",
    "mac_flops",
    "total_activations",
    "peak_activations",
)


@pytest.fixture(scope="module")
def timm():
    from tests.plugins.frontends.torch import tv_shim

    tv_shim.load()
    import timm

    return timm


@pytest.mark.parametrize("name", ["efficientnet_b0", "vit_tiny_patch16_224", "convnext_atto"])
@pytest.mark.parametrize("fold", [False, True])
def test_timm_model(timm, name, fold, tmp_path):
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    ref = analyzer.analyze(model, (1, 3, 224, 224))
    report = analyzer.analyze(
        export(materialize(model), (1, 3, 224, 224), tmp_path / f"{name}.onnx", fold=fold)
    )
    assert report.unsupported == [] and report.warnings == []
    same = SAME if not fold else ("macs",)  # folding merges BatchNorm into the convolutions
    assert {q: report.totals[q] for q in same} == {q: ref.totals[q] for q in same}
