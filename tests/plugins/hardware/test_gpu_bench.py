"""bench/gpu_latency.py without a GPU: its CPU side (models, predictions, device detection, skip)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import analyzer
from analyzer.core.plugins import load_plugins

BENCH = Path(__file__).resolve().parents[3] / "bench" / "gpu_latency.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gpu_latency", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detected_gpu_names_map_to_devices_in_the_db(bench):
    names = set(load_plugins(entry_points=False).devices.names())
    assert bench.device_for("NVIDIA H200") == "h200"
    assert bench.device_for("NVIDIA A100-SXM4-80GB") == "a100-sxm-80gb"
    assert bench.device_for("NVIDIA GeForce RTX 4090") == "rtx-4090"
    assert bench.device_for("Tesla T4") == "t4" and bench.device_for("Radeon") is None
    assert {db for _, db in bench.DEVICE_NAMES} <= names


def test_dry_run_builds_the_models_and_predicts_without_cuda(bench, capsys, tmp_path):
    out = tmp_path / "rows.json"
    argv = [
        "--dry-run",
        "--models",
        "transformer",
        "--dtypes",
        "fp32",
        "--batches",
        "1",
        "4",
        "--device",
        "h200",
    ]
    assert bench.main([*argv, "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["model"], r["dtype"], r["batch"], r["status"]) for r in rows] == [
        ("transformer", "fp32", 1, "dry run"),
        ("transformer", "fp32", 4, "dry run"),
    ]
    spec = bench.zoo_model("transformer")
    direct = analyzer.analyze(spec["model"], spec["inputs"], devices=["h200"]).hardware[0]
    assert rows[0]["predicted_ms"] == pytest.approx(direct.latency_s * 1e3)
    assert rows[0]["kernels"] == direct.details["kernels"] and rows[0]["measured_ms"] is None
    printed = capsys.readouterr().out
    assert "transformer" in printed and "dry run" in printed


def test_without_cuda_it_says_so_and_exits_0(bench, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert bench.main([]) == 0
    assert "no CUDA device" in capsys.readouterr().out
