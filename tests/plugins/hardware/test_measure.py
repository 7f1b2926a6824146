"""measure: a tiny PyTorch model run for real, measured beside predicted, the user's model untouched."""

from __future__ import annotations

import pytest

from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.plugins import load_plugins
from tests.plugins.hardware.host_setup import derived_host_in

torch = pytest.importorskip("torch")
from analyzer.plugins.hardware import measure as ms  # noqa: E402

MODEL_FILE = """
import torch
from torch import nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return x + self.act(self.conv(x))

def tiny():
    torch.manual_seed(0)
    return {"model": nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), Block(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5)),
            "inputs": torch.randn(1, 3, 8, 8)}
"""


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A derived host spec in a temporary device directory (never the user's)."""
    return derived_host_in(tmp_path, monkeypatch, MODEL_FILE)


def test_measure_a_tiny_model_beside_its_prediction(host):
    from analyzer.cli_measure import run_measure

    doc = run_measure(f"{host / 'models.py'}:tiny", load_plugins(), repeat=3, warmup=1)
    assert (
        doc["model"] == "Sequential"
        and doc["device"] == "host"
        and doc["threads"] == 1
        and doc["repeat"] == 3
    )
    m = doc["measured"]
    assert 0 < m["min_s"] <= m["median_s"] <= m["max_s"]
    assert doc["predicted_s"] > 0 and doc["error"] == pytest.approx(
        doc["predicted_s"] / m["median_s"] - 1
    )
    names = [r["name"] for r in doc["layers"]]
    assert {"0", "1.conv", "1.act", "1", "3"} <= set(names)
    conv = next(r for r in doc["layers"] if r["name"] == "1.conv")
    assert conv["measured_s"] > 0 and conv["predicted_s"] > 0
    text = ms.render_table(doc)
    assert "measured" in text and "predicted" in text and "1.conv" in text and "TOTAL" in text


def test_the_users_model_is_left_as_it_was():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4)).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ms.measure_torch(model, torch.randn(2, 4), repeat=2, warmup=1)
    assert model.training and all(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_threads_are_restored_and_checked():
    before = torch.get_num_threads()
    model = torch.nn.Linear(4, 4)
    ms.measure_torch(model, torch.randn(1, 4), threads=2, repeat=2, warmup=0, per_layer=False)
    assert torch.get_num_threads() == before
    with pytest.raises(UsageError, match="--repeat"):
        ms.measure_torch(model, torch.randn(1, 4), repeat=0)


def test_a_meta_model_is_materialised_in_a_copy_or_refused():
    with torch.device("meta"):
        model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU())
    m = ms.measure_torch(model, torch.randn(1, 8), repeat=2, warmup=0, per_layer=False)
    assert m.median_s > 0 and model[0].weight.is_meta  # the user's stays on meta
    with pytest.raises(AnalysisError, match="memory limit") as e:
        ms.measure_torch(model, torch.randn(1, 8), repeat=1, warmup=0, max_memory=64)
    assert "\n" not in str(e.value)


def test_onnx_files_run_in_onnx_runtime(host):
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from analyzer.cli_measure import run_measure

    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w])  # fmt: skip
    path = host / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    m = ms.measure_onnx(path, threads=1, repeat=3, warmup=1)
    assert m.runtime.startswith("ONNX Runtime") and len(m.samples) == 3 and m.median_s > 0
    doc = run_measure(str(path), load_plugins(), repeat=2, warmup=0)
    assert (
        doc["runtime"].startswith("ONNX Runtime") and doc["predicted_s"] > 0 and doc["layers"] == []
    )
