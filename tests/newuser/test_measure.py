"""`python -m analyzer measure SPEC` used as the README describes SPECs (input shapes, a model's name)."""

from __future__ import annotations

import json

import pytest

from analyzer.cli import main
from tests.plugins.hardware.host_setup import derived_host_in

pytest.importorskip("torch")

MODEL_FILE = """
from torch import nn

def shaped():
    # README: a callable may return {"model", "inputs"}; analyze takes a shape for inputs
    return {"model": nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), "inputs": (1, 3, 6, 6)}

net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
"""


@pytest.fixture
def spec(tmp_path, monkeypatch):
    return str(derived_host_in(tmp_path, monkeypatch, MODEL_FILE) / "models.py")


def test_analyze_takes_the_shape_spec(spec):
    assert main(["analyze", f"{spec}:shaped", "--device", "host"]) == 0


def test_measure_takes_input_shapes_like_analyze(spec, capsys):
    code = main(["measure", f"{spec}:shaped", "--repeat", "2", "--warmup", "1", "--format", "json"])
    err = capsys.readouterr().err
    assert code == 0, err


def test_measure_accepts_the_input_shape_its_error_suggests(spec, capsys):
    assert main(["measure", f"{spec}:net", "--repeat", "2", "--warmup", "1"]) == 2
    assert "--input-shape" in capsys.readouterr().err  # the hint the user gets
    code = main(
        ["measure", f"{spec}:net", "--input-shape", "1,3,6,6", "--repeat", "2", "--warmup", "1"]
    )
    assert code == 0, capsys.readouterr().err


def test_measure_table_names_the_model_not_a_dict(tmp_path, spec, capsys):
    torch = pytest.importorskip("torch")
    (tmp_path / "m2.py").write_text(
        MODEL_FILE
        + "\nimport torch\ndef real():\n    return {'model': net, 'inputs': torch.randn(1, 3, 6, 6)}\n"
    )
    assert main(["measure", f"{tmp_path / 'm2.py'}:real", "--repeat", "2", "--warmup", "1"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert not first.startswith("{"), first
    assert torch is not None


def test_measure_json_model_field_is_structured(tmp_path, spec, capsys):
    pytest.importorskip("torch")
    (tmp_path / "m3.py").write_text(
        MODEL_FILE
        + "\nimport torch\ndef real():\n    return {'model': net, 'inputs': torch.randn(1, 3, 6, 6)}\n"
    )
    assert (
        main(
            [
                "measure",
                f"{tmp_path / 'm3.py'}:real",
                "--repeat",
                "2",
                "--warmup",
                "1",
                "-f",
                "json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["predicted_s"] > 0


def test_measure_onnx_with_a_symbolic_batch(tmp_path, spec, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import warnings

    import torch

    path = tmp_path / "dyn.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            torch.nn.Conv2d(3, 4, 3).eval(), (torch.randn(1, 3, 8, 8),), str(path), dynamo=False,
            input_names=["x"], dynamic_axes={"x": {0: "batch"}},
        )  # fmt: skip
    code = main(["measure", str(path), "--repeat", "2", "--warmup", "1"])
    assert code == 0, capsys.readouterr().err
