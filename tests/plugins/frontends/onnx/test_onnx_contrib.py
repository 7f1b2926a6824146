"""Graphs saved after ONNX Runtime's optimizer: its fused com.microsoft ops count what they fuse.

``FusedConv`` (with a residual input and an activation), ``FusedMatMul``
(scaled, transposed), ``SkipLayerNormalization``: the optimized file must
give the unoptimized file's parameters and MACs. (Layers differ: the
optimizer renames nodes, so scopes are not recovered.)
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import analyzer  # noqa: E402
from tests.plugins.frontends.onnx.exports import export, materialize, zoo_spec  # noqa: E402


class Residual(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.conv1(x))
        y = torch.relu(self.conv2(y) + x)
        return torch.relu(self.head(y.mean((2, 3))))


def optimized(path):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(path.with_name(path.stem + "_ort.onnx"))
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return path.with_name(path.stem + "_ort.onnx")


def microsoft_ops(path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node if n.domain == "com.microsoft"}


@pytest.mark.parametrize("which", ["residual", "transformer"])
def test_optimized_graph_counts_the_same(which, tmp_path):
    if which == "residual":
        torch.manual_seed(0)
        path = export(Residual().eval(), (1, 8, 16, 16), tmp_path / "residual.onnx", fold=True)
        expected = {"FusedConv"}
    else:
        spec = zoo_spec("transformer")
        path = export(
            materialize(spec["model"]), spec["inputs"], tmp_path / "transformer.onnx", fold=True
        )
        expected = {"FusedMatMul", "SkipLayerNormalization"}
    fast = optimized(path)
    assert expected <= microsoft_ops(fast)
    ref, report = analyzer.analyze(path), analyzer.analyze(fast)
    assert report.unsupported == []
    for q in ("params", "non_trainable_params", "macs"):
        assert report.totals[q] == ref.totals[q], q
