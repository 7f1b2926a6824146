"""`--format csv` with a device: per-layer hardware values (docs/reports.md: CSV's DEVICE.FIELD naming; --columns)."""

from __future__ import annotations

import csv
import io

import pytest

from analyzer.cli import main


def header(capsys: pytest.CaptureFixture, *extra: str) -> list[str]:
    args = ["analyze", "analyzer.zoo:tiny_cnn", "--device", "t4", "-f", "csv", *extra]
    assert main(args) == 0
    return next(csv.reader(io.StringIO(capsys.readouterr().out)))


def test_table_shows_the_latency_column_asked_for(capsys: pytest.CaptureFixture) -> None:
    args = ["analyze", "analyzer.zoo:tiny_cnn", "--device", "t4", "--columns", "latency_s,bound"]
    assert main(args) == 0
    assert "latency t4" in capsys.readouterr().out


@pytest.mark.parametrize("columns", ["latency_s", "hardware"])
def test_csv_writes_the_hardware_columns_asked_for(
    capsys: pytest.CaptureFixture, columns: str
) -> None:
    assert "t4.latency_s" in header(capsys, "--columns", columns)


def test_csv_has_per_device_columns_like_the_dataframe(capsys: pytest.CaptureFixture) -> None:
    names = header(capsys)
    assert {"t4.latency_s", "t4.bound", "t4.energy_j"} <= set(names), names
