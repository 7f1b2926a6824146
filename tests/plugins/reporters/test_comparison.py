"""`compare` in every text format: --depth gives each model's module roll-ups, --device its hardware."""

from __future__ import annotations

import csv
import io

import pytest

import analyzer
from analyzer import zoo
from analyzer.cli import main
from analyzer.plugins.reporters.common import plain

SPECS = ["analyzer.zoo:alexnet", "analyzer.zoo:tiny_cnn"]
DEVICES = ["stm32f746", "a100-sxm-80gb"]


@pytest.fixture(scope="module")
def reports():
    return [analyzer.analyze(zoo.alexnet(), devices=DEVICES), analyzer.analyze(zoo.tiny_cnn(), devices=DEVICES)]


def _compare(capsys, *extra: str) -> str:
    assert main(["compare", *SPECS, *extra]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_depth_gives_each_models_module_rollups(fmt, capsys, reports):
    layers = _compare(capsys, "-f", fmt)
    modules = _compare(capsys, "-f", fmt, "--depth", "1")
    assert "Layers aligned across models" in layers and "Layers aligned across models" not in modules
    for label, report in zip(["alexnet", "tiny_cnn"], reports, strict=True):
        assert f"{label}: Modules (depth 1)" in modules
        for m in report.modules(1):
            assert m.path in modules
            assert f"{m.to_dict()['macs']:,}" in modules


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_devices_give_a_hardware_table(fmt, capsys, reports):
    assert "Hardware" not in _compare(capsys, "-f", fmt)
    text = _compare(capsys, "-f", fmt, *(a for d in DEVICES for a in ("--device", d)))
    hardware = text.split("Hardware", 1)[1]
    for report in reports:
        for r in report.hardware:
            assert f"{plain(r.latency_s * 1e3)} ms" in hardware
    assert "alexnet: stm32f746: flash" in hardware  # the memory-fit notes, labelled


def test_csv_has_module_and_hardware_rows(capsys, reports):
    text = _compare(capsys, "-f", "csv", "--depth", "1", "--device", "stm32f746")
    rows = {r["quantity"]: r for r in csv.DictReader(io.StringIO(text))}
    alexnet, tiny = reports
    assert float(rows["stm32f746.latency_s"]["alexnet"]) == pytest.approx(alexnet.hardware[0].latency_s)
    assert float(rows["stm32f746.latency_s"]["tiny_cnn"]) == pytest.approx(tiny.hardware[0].latency_s)
    conv1 = next(m for m in alexnet.modules(1) if m.path == "conv1")
    assert int(rows["conv1.macs"]["alexnet"]) == conv1.to_dict()["macs"]


def test_a_reporter_without_depth_is_refused_with_depth(monkeypatch):
    from analyzer.plugins.reporters.csv import CsvReporter

    def old_style(self, comparison, *, color=False, width=None):
        return ""

    monkeypatch.setattr(CsvReporter, "render_comparison", old_style)
    assert main(["compare", *SPECS, "-f", "csv"]) == 0
    assert main(["compare", *SPECS, "-f", "csv", "--depth", "1"]) == 2
