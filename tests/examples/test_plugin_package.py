"""examples/plugins/analyzer-bitops, installed with pip (real entry-point metadata), works through the CLI:
its metric with an option, its op with a formula and torch mapping, its NPU device and hardware model,
and its reporter; its quantity shows in the table output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.cli import main

PACKAGE = Path(__file__).parents[2] / "examples" / "plugins" / "analyzer-bitops"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(PACKAGE)],
        check=True, capture_output=True, cwd=build,
    )  # fmt: skip
    assert next(target.glob("analyzer_bitops-0.1.0.dist-info/entry_points.txt")).read_text().count("bitops") >= 1
    return target


@pytest.fixture
def plugin_env(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.setenv("ANALYZER_LOAD_PLUGINS", "bitops")  # the suite loads no entry point unless named


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_listed_as_an_entry_point(plugin_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run(capsys, "plugins", "--format", "json"))["plugins"]
    (mine,) = [r for r in rows if r["name"] == "bitops"]
    assert mine["origin"] == "entry point (analyzer-bitops 0.1.0)"
    assert {"analyzer_register_metrics", "analyzer_register_ops", "analyzer_register_op_mappings",
            "analyzer_register_hardware_models", "analyzer_device_dirs", "analyzer_register_reporters"} <= set(mine["hooks"])  # fmt: skip


def test_metric_with_option_in_the_table_and_npu_device(plugin_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    report = json.loads(run(capsys, "analyze", "analyzer.zoo:tiny_cnn", "--device", "toy-npu",
                            "--option", "bitops.weight_bits=4", "--format", "json"))  # fmt: skip
    macs = report["totals"]["macs"]
    assert report["totals"]["bitops"] == macs * 4 * 8  # weight_bits set to 4, activation_bits default 8
    (npu,) = report["hardware"]
    layers = len(report["layers"])
    assert npu["model"] == "simple-npu" and npu["latency_s"] == pytest.approx(macs / (512 * 1e9) + layers * 2e-6)
    table = run(capsys, "analyze", "analyzer.zoo:tiny_cnn", "--option", "bitops.weight_bits=4")
    assert "BOPs" in table  # the plugin's quantity is a column of the per-layer table


def test_bad_option_is_one_line(plugin_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "--option", "bitops.weight_bitz=4"]) == 2
    err = capsys.readouterr().err
    assert "metric 'bitops' has no option 'weight_bitz'" in err and err.count("\n") == 1


def test_torch_op_mapping_and_reporter(plugin_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    line = run(capsys, "analyze", "analyzer_bitops.torch_ops:model", "--format", "oneline")
    fields = dict(f.split("=") for f in line.split(": ", 1)[1].split())
    macs = 2 * 4 * 64 * 128 + 4 * 128 * 10  # gated_linear (two matmuls) + the head, by hand
    assert int(fields["macs"]) == macs and int(fields["bitops"]) == macs * 64
