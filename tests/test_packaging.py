"""The package's extras: ranges, never exact pins (constraints.txt pins what CI tests with)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements() -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in PROJECT["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    return reqs


def test_no_exact_pins_in_dependencies_or_extras() -> None:
    pinned = [str(r) for r in requirements() if any(s.operator in ("==", "===") for s in r.specifier)]
    assert pinned == []


def test_every_optional_extra_exists_and_all_installs_them() -> None:
    extras = PROJECT["optional-dependencies"]
    optional = {"torch", "keras", "tensorflow", "jax", "onnx", "tflite", "plot", "dataframe",
                "parquet", "ray", "latency"}  # fmt: skip
    assert optional | {"all", "dev"} == set(extras)
    (all_,) = extras["all"]
    assert set(Requirement(all_).extras) == optional


def test_keras_does_not_pull_tensorflow_and_tensorflow_fits_each_platform() -> None:
    extras = PROJECT["optional-dependencies"]
    assert [Requirement(r).name for r in extras["keras"]] == ["keras"]
    markers = {Requirement(r).name: str(Requirement(r).marker) for r in extras["tensorflow"]}
    assert markers == {"tensorflow-cpu": 'sys_platform != "darwin"', "tensorflow": 'sys_platform == "darwin"'}


def test_constraints_pin_exactly_and_only_for_ci() -> None:
    lines = [ln for ln in (ROOT / "constraints.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^\s]+", ln) for ln in lines), lines
    assert "torch==2.13.0" in lines


def test_wheel_carries_the_data_files(tmp_path: Path) -> None:
    """A non-editable install needs the device DB, the schema and the HTML report's assets in the wheel."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)  # fmt: skip
    (wheel,) = tmp_path.glob("analyzer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("analyzer/schemas/report.schema.json", "analyzer/hardware_db/mcu/stm32f746.toml",
                   "analyzer/plugins/reporters/html_assets/report.js", "analyzer/plugins/reporters/html_assets/report.css",
                   "analyzer/py.typed"):  # fmt: skip
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "examples/", "bench/")) for n in names)
