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


class FakeEvent:
    """torch.cuda.Event on the CPU: wall time between two records."""

    def __init__(self, enable_timing: bool = False) -> None:
        self.t = 0.0

    def record(self) -> None:
        import time

        self.t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, end: FakeEvent) -> float:
        return (end.t - self.t) * 1e3  # milliseconds, as CUDA's


def test_the_measuring_path_runs_with_cuda_faked_on_the_cpu(bench, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(bench, "DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
    tf32 = (
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
    )  # the bench sets both
    argv = ["--models", "transformer", "--dtypes", "fp32", "--batches", "1", "2"]
    try:
        assert bench.main([*argv, "--warmup", "1", "--repeat", "2", "--launches", "10"]) == 0
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    out = capsys.readouterr().out
    assert "-> --device h200" in out and "eager per-op launch" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("transformer")]
    assert len(rows) == 2 and all(float(r[6]) > 0 and r[7].endswith("%") for r in rows)
