"""A new user's sweep-file mistakes (docs/sweeps.md: "Every mistake in the file is one line naming the key, with exit code 2")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analyzer.cli import main
from analyzer.core.errors import UsageError
from analyzer.sweep import sweep

FAMILIES = Path(__file__).resolve().parents[1] / "sweep" / "families.py"


def plan(**extra: Any) -> dict[str, Any]:
    doc = {
        "model": {"factory": f"{FAMILIES}:tiny_cnn"},
        "grid": {"width": [4, 8]},
        "devices": ["raspberry-pi-4"],
    }
    doc.update(extra)
    return doc


def test_unknown_pareto_column_is_refused() -> None:
    with pytest.raises(UsageError, match="latncy_s"):
        sweep(plan(pareto=["latncy_s:min", "macs:max"]), workers=1, progress=False)


def test_unknown_device_is_a_usage_error_naming_the_key() -> None:
    with pytest.raises(UsageError, match="devices"):
        sweep(plan(devices=["raspberry-pi-4", "nope"]), workers=1, progress=False)


def test_bad_hardware_option_is_a_usage_error_naming_the_key() -> None:
    with pytest.raises(UsageError, match="hardware"):
        sweep(plan(hardware={"efficiency": {"conv": 5}}), workers=1, progress=False)


def test_sweep_without_devices_does_not_claim_every_row_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'[model]\nfactory = "{FAMILIES}:tiny_cnn"\n[grid]\nwidth = [4]\n')
    code = main(["sweep", str(path), "--workers", "1", "--output", str(tmp_path / "rows.csv")])
    out = capsys.readouterr().out
    assert code == 0
    assert "0 errors" in out
    assert "all errors" not in out, out


def test_nothing_fits_names_the_closest_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        f'devices = ["stm32f746"]\n[model]\nfactory = "{FAMILIES}:tiny_cnn"\n'
        "[grid]\nwidth = [64]\nresolution = [512]\n"
    )
    assert main(["sweep", str(path), "--workers", "1", "--output", str(tmp_path / "rows.csv")]) == 0
    out = capsys.readouterr().out
    assert "none of 1 fits" in out
    assert "closest ()" not in out, out
