"""A derived host device in a temporary device directory, for the tests of ``measure``."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.core.devices import ENV_VAR
from analyzer.plugins.hardware import calibrate as cal
from analyzer.plugins.hardware.host import derived_host_doc


def derived_host_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_file: str) -> Path:
    """``tmp_path`` holding ``devices/host.toml`` (a derived host spec, never the user's: the device
    and config directories point there) and ``models.py`` with ``model_file``'s text."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "devices"))
    cal._write(derived_host_doc(), tmp_path / "devices" / "host.toml")
    (tmp_path / "models.py").write_text(model_file)
    return tmp_path
