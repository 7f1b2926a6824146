"""python -m analyzer measure: JSON and table output, one-line errors with their exit codes."""

from __future__ import annotations

import json

import pytest

from analyzer.cli import main
from tests.plugins.hardware.host_setup import derived_host_in

pytest.importorskip("torch")

MODEL_FILE = """
import torch
from torch import nn

def tiny():
    return {"model": nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), "inputs": torch.randn(1, 3, 6, 6)}

def not_torch():
    return {"model": lambda x: x, "inputs": 1}
"""


@pytest.fixture
def spec(tmp_path, monkeypatch):
    return str(derived_host_in(tmp_path, monkeypatch, MODEL_FILE) / "models.py")


def test_json_has_measured_and_predicted(spec, capsys):
    assert (
        main(["measure", f"{spec}:tiny", "--repeat", "3", "--warmup", "1", "--format", "json"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["measured"]["median_s"] > 0 and doc["predicted_s"] > 0 and doc["error"] is not None
    assert {r["name"] for r in doc["layers"]} >= {"0", "1"}
    assert doc["kernel_model"]["used"] is False  # no host-kernels.json here: the roofline, and why


def test_table(spec, capsys, tmp_path):
    assert (
        main(
            [
                "measure",
                f"{spec}:tiny",
                "--repeat",
                "2",
                "--no-layers",
                "-o",
                str(tmp_path / "out.txt"),
            ]
        )
        == 0
    )
    text = (tmp_path / "out.txt").read_text()
    assert "TOTAL measured" in text and "predicted" in text and "roofline" in text


@pytest.mark.parametrize(("args", "code", "message"), [
    (["measure", "justaword"], 2, "bad SPEC 'justaword'"),
    (["measure", "nosuchfile.py:tiny"], 1, "no such file"),
    (["measure", "SPEC:tiny", "--repeat", "0"], 2, "--repeat"),
    (["measure", "SPEC:tiny", "--format", "csv"], 2, "format 'csv'"),
    (["measure", "SPEC:tiny", "--device", "nosuchdevice"], 2, "unknown device"),
])  # fmt: skip
def test_bad_input_is_one_line(spec, capsys, args, code, message):
    args = [a.replace("SPEC", spec) for a in args]
    assert main(args) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
