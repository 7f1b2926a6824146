"""The cross-framework zoo exported to ONNX gives the PyTorch originals' numbers (issue 18, point 3).

Each ``examples/<arch>.py:torch_model`` is exported with ``torch.onnx.export``
(TorchScript exporter) and analysed as a file; params (trainable and not),
model size, MACs, contraction FLOPs and activations (total, lecture peak)
must be those of the PyTorch module's own analysis, and the layers holding
weights must carry the module paths PyTorch gives them. A second export
with the exporter's default constant folding (BatchNorm folded into the
convolutions, as deployed files are) keeps the MACs, and its parameters
are the file's own initializers, counted by onnx.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

import analyzer  # noqa: E402
from tests.plugins.frontends.onnx.exports import export, materialize, zoo_spec  # noqa: E402

pytestmark = pytest.mark.slow
IDENTICAL = ("params", "non_trainable_params", "model_size_bytes", "macs", "mac_flops",
             "total_activations", "peak_activations")  # fmt: skip
ARCHS = ("alexnet", "mobilenet_v2", "resnet50", "transformer")


@pytest.fixture(scope="module", params=ARCHS)
def pair(request, tmp_path_factory) -> tuple[str, analyzer.Report, analyzer.Report]:
    arch = request.param
    spec = zoo_spec(arch)
    torch_report = analyzer.analyze(spec["model"], spec["inputs"])
    path = export(
        materialize(spec["model"]), spec["inputs"], tmp_path_factory.mktemp(arch) / f"{arch}.onnx"
    )
    return arch, analyzer.analyze(path), torch_report


def test_same_totals_as_pytorch(pair):
    arch, ours, ref = pair
    assert ours.model["framework"] == "onnx"
    diff = {
        q: (ours.totals[q], ref.totals[q]) for q in IDENTICAL if ours.totals[q] != ref.totals[q]
    }
    assert not diff, f"{arch}: {diff}"


def test_fully_mapped(pair):
    arch, ours, _ = pair
    assert ours.unsupported == [] and ours.warnings == [], arch


def test_weighted_layers_carry_the_module_paths(pair):
    arch, ours, ref = pair

    def rows(report):
        return [(r.name, r.op, r.params, r.macs, r.activations) for r in report.layers if r.params]

    if arch == "transformer":  # attention: PyTorch's fused op vs the exporter's MatMuls, same scope
        assert [r[0] for r in rows(ours)] == [r[0] for r in rows(ref)]
        return
    assert rows(ours) == rows(ref)


@pytest.mark.parametrize("arch", ["mobilenet_v2", "resnet50"])
def test_folded_export_keeps_macs(arch, tmp_path):
    """Deployed files fold BatchNorm into the convolution: the same MACs, the file's own weights."""
    spec = zoo_spec(arch)
    path = export(materialize(spec["model"]), spec["inputs"], tmp_path / f"{arch}.onnx", fold=True)
    model = onnx.load(str(path), load_external_data=False)
    assert "BatchNormalization" not in {n.op_type for n in model.graph.node}
    report = analyzer.analyze(path)
    ref = analyzer.analyze(spec["model"], spec["inputs"])
    assert report.totals["macs"] == ref.totals["macs"]
    stored = sum(math.prod(t.dims) for t in model.graph.initializer)
    assert report.totals["params"] + report.totals["non_trainable_params"] == stored
