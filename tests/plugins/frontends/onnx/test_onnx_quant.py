"""int8 models made with onnxruntime.quantization: the float model's MACs, counted as integer OPs.

A small CNN is exported from PyTorch (BatchNorm folded, as deployed) and
quantized statically (QDQ and QOperator formats, a calibration reader of
random inputs) and an MLP dynamically. Parameters and MACs must be the
float model's; the contractions count integer OPs (2 per MAC), no
floating-point MACs; the model size is the bytes the file stores for its
initializers (numpy's ``nbytes`` of each), i.e. weights at int8.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
quantization = pytest.importorskip("onnxruntime.quantization")

import analyzer  # noqa: E402
from tests.plugins.frontends.onnx.exports import export  # noqa: E402

SHAPE = (1, 3, 32, 32)


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 16, 3, padding=1, groups=16), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        )  # fmt: skip
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class Calibration(quantization.CalibrationDataReader):
    def __init__(self, n: int = 2):
        self.rng, self.n = np.random.default_rng(0), n

    def get_next(self):
        if self.n == 0:
            return None
        self.n -= 1
        return {"input": self.rng.random(SHAPE, dtype=np.float32)}


def stored_bytes(path) -> int:
    model = onnx.load(str(path))
    return sum(onnx.numpy_helper.to_array(t).nbytes for t in model.graph.initializer)


@pytest.fixture(scope="module")
def float_model(tmp_path_factory):
    torch.manual_seed(0)
    return export(SmallCNN().eval(), SHAPE, tmp_path_factory.mktemp("q") / "cnn.onnx", fold=True)


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_static_int8_counts_int_ops_and_stored_size(float_model, fmt):
    out = float_model.with_name(f"cnn_{fmt}.onnx")
    quantization.quantize_static(str(float_model), str(out), Calibration(),
                                 quant_format=getattr(quantization.QuantFormat, fmt))  # fmt: skip
    ref, q = analyzer.analyze(float_model), analyzer.analyze(out)
    assert q.unsupported == [] and q.warnings == []
    assert q.totals["params"] == ref.totals["params"]
    assert q.totals["macs"] == ref.totals["macs"] > 0
    # the float model's contraction FLOPs (2 per MAC plus the bias adds) are now integer OPs
    assert q.totals["mac_int_ops"] == ref.totals["mac_flops"] and q.totals["mac_flops"] == 0
    assert q.totals["model_size_bytes"] == stored_bytes(out) < ref.totals["model_size_bytes"] / 3
    weights = [
        q.graph.params[p]
        for n in q.graph.nodes()
        if n.op in ("conv", "linear")
        for p in n.inputs[1:2]
    ]
    assert weights and {w.dtype for w in weights} == {"int8"}
    # the layers keep their module paths through quantization
    assert [r.name for r in q.layers if r.macs] == [r.name for r in ref.layers if r.macs]


def test_dynamic_int8_matmul_integer(tmp_path):
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 16)
    ).eval()
    path = export(mlp, (2, 8, 64), tmp_path / "mlp.onnx", fold=True)
    out = tmp_path / "mlp_dyn.onnx"
    quantization.quantize_dynamic(str(path), str(out), weight_type=quantization.QuantType.QInt8)
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "MatMulInteger" in ops and "DynamicQuantizeLinear" in ops
    ref, q = analyzer.analyze(path), analyzer.analyze(out)
    macs = 2 * 8 * (64 * 128 + 128 * 16)
    assert ref.totals["macs"] == q.totals["macs"] == macs
    assert q.totals["mac_int_ops"] == 2 * macs and q.totals["params"] == ref.totals["params"]
    int8 = [p for p in q.graph.params.values() if p.dtype == "int8" and p.role == "weight"]
    assert sum(p.numel for p in int8) == 64 * 128 + 128 * 16
    # scalar scales read by Mul are literals, not weights: at most those bytes are not counted
    assert 0 <= stored_bytes(out) - q.totals["model_size_bytes"] <= 4 * 2
