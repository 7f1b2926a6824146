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


@pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None, reason="transformers is not installed"
)
def test_gpt2_from_transformers(timm, tmp_path):
    """Causal mask from Trilu/Where on constants, position embeddings of constant ids, Conv1D weights.

    The ``timm`` fixture loads tv_shim first: transformers imports torchvision.
    """
    from transformers import GPT2Config, GPT2Model

    class LastHidden(
        torch.nn.Module
    ):  # the exporter cannot pass transformers 5's keyword arguments
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, ids):
            return self.model(input_ids=ids).last_hidden_state

    with torch.device("meta"):
        model = LastHidden(
            GPT2Model(GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=1000)).eval()
        )
    ids = torch.zeros(1, 16, dtype=torch.long)
    ref = analyzer.analyze(model, {"ids": ids})
    path = tmp_path / "gpt2.onnx"
    torch.onnx.export(materialize(model), (ids,), str(path), dynamo=False, do_constant_folding=False,
                      input_names=["ids"], dynamic_axes={"ids": {0: "batch", 1: "sequence"}})  # fmt: skip
    report = analyzer.analyze(path, (1, 16))
    assert report.unsupported == [] and report.warnings == []
    assert {q: report.totals[q] for q in SAME} == {q: ref.totals[q] for q in SAME}
