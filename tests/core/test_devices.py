"""Device specs: the built-in DB validates, every figure has a source, bad files name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.core.devices import (
    BUILTIN_DIR,
    ENV_VAR,
    DeviceCatalog,
    DeviceSpec,
    Figure,
    device_dirs,
    load_device,
    user_device_dir,
)
from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.plugins import load_plugins

REQUIRED = {
    "gpu": ["a100-sxm-80gb", "h100-sxm", "h200", "rtx-4090", "t4", "jetson-orin-nano-8gb"],
    "cpu": ["xeon-platinum-8480plus", "epyc-9654", "apple-m2", "raspberry-pi-4", "raspberry-pi-5"],
    "mcu": ["stm32f746", "stm32h743", "nrf52840", "esp32-s3", "rp2040"],
}

MINIMAL = """
schema = "analyzer.device/1"
name = "{name}"
display_name = "Toy"
class = "cpu"
[peak_ops_per_s.fp32]
value = 1e9
source = "made up for a test"
kind = "estimate"
[[memory]]
name = "dram"
on_chip = false
capacity_bytes = {{ value = 1e9, source = "test", kind = "estimate" }}
bandwidth_bytes_per_s = {{ value = 1e9, source = "test", kind = "estimate" }}
"""


@pytest.fixture(autouse=True)
def _no_user_devices(tmp_path_factory, monkeypatch):
    """Keep the real user directory and environment out of these tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv(ENV_VAR, raising=False)


def _figures(spec: DeviceSpec) -> list[tuple[str, Figure]]:
    out = [(f"peak_ops_per_s.{k}", f) for k, f in spec.peak_ops_per_s.items()]
    out += [(f"vector_ops_per_s.{k}", f) for k, f in spec.vector_ops_per_s.items()]
    out += [(f"energy_per_op_j.{k}", f) for k, f in spec.energy_per_op_j.items()]
    out += [(f"runtime_overhead_bytes.{k}", f) for k, f in spec.runtime_overhead_bytes.items()]
    for m in spec.memory:
        out += [(f"{m.name}.capacity_bytes", m.capacity_bytes), (f"{m.name}.bandwidth_bytes_per_s", m.bandwidth_bytes_per_s)]
    out += [(k, f) for k, f in (("power_w", spec.power_w), ("clock_hz", spec.clock_hz)) if f is not None]
    return out


def test_required_devices_are_in_their_class_directory():
    for cls, names in REQUIRED.items():
        for name in names:
            spec = load_device(BUILTIN_DIR / cls / f"{name}.toml")
            assert spec.device_class == cls


def test_every_builtin_file_validates_and_every_figure_has_a_source():
    files = sorted(BUILTIN_DIR.rglob("*.toml"))
    assert len(files) >= 16
    assert not (BUILTIN_DIR / "cpu" / "host.toml").exists()  # host is measured per machine, not shipped
    for f in files:
        spec = load_device(f)
        assert f.parent.name == spec.device_class
        assert spec.references, f"{f}: no references"
        for key, fig in _figures(spec):
            assert len(fig.source) >= 3, f"{f}: {key} has no source"
            assert fig.kind in ("datasheet", "derived", "estimate"), f"{f}: {key}"  # nothing measured is shipped
        levels = [m for m in spec.memory if "activations" in m.stores]
        assert levels, f"{f}: no memory level holds activations"


def test_gpu_peaks_are_dense_not_sparsity_doubled():
    cat = DeviceCatalog([BUILTIN_DIR])
    assert cat.get("h100-sxm").peak_ops_per_s["fp16"].value == pytest.approx(989.4e12)
    assert cat.get("h200").peak_ops_per_s["int8"].value == pytest.approx(1979e12)
    assert cat.get("a100-sxm-80gb").peak_ops_per_s["tf32"].value == pytest.approx(156e12)
    assert cat.get("jetson-orin-nano-8gb").peak_ops_per_s["int8"].value == pytest.approx(20e12)
    assert cat.get("rtx-4090").peak_ops_per_s["fp16"].value == pytest.approx(165.2e12)  # FP32 accumulate
    assert cat.get("t4").memory_level("gddr").bandwidth_bytes_per_s.value == pytest.approx(320e9)


def test_mcu_memory_split_flash_for_weights_sram_for_activations():
    spec = DeviceCatalog([BUILTIN_DIR]).get("stm32f746")
    assert spec.memory_level("flash").stores == ("weights",)
    assert spec.memory_level("sram").stores == ("activations",)
    assert spec.memory_level("sram").capacity_bytes.value == 320 * 1024
    assert spec.memory_level("flash").capacity_bytes.value == 1024 * 1024


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace('kind = "estimate"\n[[memory]]', 'kind = "rumour"\n[[memory]]'), "peak_ops_per_s.fp32.kind"),
        (lambda t: t.replace("[peak_ops_per_s.fp32]", "[peak_ops_per_s.fp31]"), "peak_ops_per_s"),
        (lambda t: t.replace("value = 1e9\nsource", "value = -1\nsource"), "peak_ops_per_s.fp32.value"),
        (lambda t: t.replace('class = "cpu"', 'class = "tpu"'), "class"),
        (lambda t: t.replace('display_name = "Toy"', 'display_name = "Toy"\nefficiency = { gemm = 1.5 }'), "efficiency.gemm"),
        (lambda t: t.replace('display_name = "Toy"', 'display_name = "Toy"\nefficiency = { matmul = 0.5 }'), "efficiency"),
        (lambda t: t + t[t.index("[[memory]]"):], "memory"),
        (lambda t: t.replace('capacity_bytes = {', 'capacity = {'), "memory.0"),
    ],
)
def test_malformed_file_error_names_file_and_field(tmp_path, edit, field):
    path = _write(tmp_path, "toy", edit(MINIMAL.format(name="toy")))
    with pytest.raises(AnalysisError) as e:
        load_device(path)
    msg = str(e.value)
    assert str(path) in msg and f"'{field}" in msg and "\n" not in msg


def test_name_must_match_the_file_and_toml_errors_name_the_file(tmp_path):
    with pytest.raises(AnalysisError, match="does not match the file name"):
        load_device(_write(tmp_path, "other", MINIMAL.format(name="toy")))
    bad = _write(tmp_path, "broken", "schema = [")
    with pytest.raises(AnalysisError, match=f"{bad}: not valid TOML"):
        load_device(bad)


def test_env_directory_adds_and_overrides_devices(tmp_path, monkeypatch):
    _write(tmp_path, "toy", MINIMAL.format(name="toy"))
    _write(tmp_path, "t4", MINIMAL.format(name="t4"))  # overrides the built-in T4
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    ps = load_plugins()
    assert "toy" in ps.devices.names()
    assert ps.devices.get("t4").display_name == "Toy"
    assert device_dirs()[-1] == tmp_path


def test_user_directory_is_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    d = user_device_dir()
    assert d == tmp_path / "analyzer" / "devices"
    d.mkdir(parents=True)
    _write(d, "mine", MINIMAL.format(name="mine"))
    assert load_plugins().devices.get("mine").name == "mine"


def test_unknown_device_and_missing_host_are_usage_errors():
    cat = DeviceCatalog([BUILTIN_DIR])
    with pytest.raises(UsageError, match="unknown device 'nope'"):
        cat.get("nope")
    with pytest.raises(UsageError, match="calibrate"):
        cat.get("host")


def test_cli_lists_devices_and_shows_one_with_sources(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    for names in REQUIRED.values():
        for n in names:
            assert n in out
    assert main(["devices", "show", "stm32f746"]) == 0
    out = capsys.readouterr().out
    assert "DS10916" in out and "datasheet" in out and "estimate" in out and "reference:" in out


def test_cli_malformed_user_device_is_one_line_error(tmp_path, monkeypatch, capsys):
    _write(tmp_path, "toy", MINIMAL.format(name="toy").replace("value = 1e9\nsource", "value = 0\nsource"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert main(["devices", "show", "toy"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "toy.toml" in err and "peak_ops_per_s.fp32.value" in err


def test_names_match_case_insensitively_and_a_miss_suggests_close_names():
    cat = DeviceCatalog([BUILTIN_DIR])
    assert cat.get("H100-SXM").name == "h100-sxm"
    with pytest.raises(UsageError, match=r"unknown device 'stm32f74'; did you mean 'stm32f746'"):
        cat.get("stm32f74")
    assert cat.suggest("raspberry") == ["raspberry-pi-4", "raspberry-pi-5"]


def test_a_device_file_path_is_a_device(tmp_path):
    path = _write(tmp_path, "board", MINIMAL.format(name="board"))
    cat = DeviceCatalog([BUILTIN_DIR])
    assert cat.get(str(path)).name == "board"
    assert "board" not in cat.names()  # a file given by path joins nothing
    with pytest.raises(UsageError, match="no such device file"):
        cat.get(str(tmp_path / "other.toml"))


def test_malformed_file_is_skipped_in_listings_and_an_error_when_asked_for(tmp_path):
    _write(tmp_path, "broken", "schema = [")
    _write(tmp_path, "toy", MINIMAL.format(name="toy"))
    cat = DeviceCatalog([BUILTIN_DIR, tmp_path])
    names = [d.name for d in cat.all()]
    assert "toy" in names and "broken" not in names and "t4" in names
    assert len(cat.warnings) == 1 and "broken.toml: not valid TOML" in cat.warnings[0]
    with pytest.raises(AnalysisError, match="broken.toml: not valid TOML"):
        cat.get("broken")


def test_a_device_shadowing_a_builtin_says_so(tmp_path):
    _write(tmp_path, "t4", MINIMAL.format(name="t4"))
    cat = DeviceCatalog([BUILTIN_DIR, tmp_path])
    assert cat.get("t4").display_name == "Toy"
    assert len(cat.warnings) == 1
    assert f"device 't4' is read from {tmp_path / 't4.toml'}, which shadows the built-in one" in cat.warnings[0]
    plain = DeviceCatalog([BUILTIN_DIR])
    plain.get("t4")
    assert plain.warnings == []


def test_a_file_given_by_path_keeps_the_name_inside(tmp_path, capsys):
    """docs/hardware.md's example: ``name = "my-board"`` in ``board.toml``, passed by its path."""
    path = _write(tmp_path, "board", MINIMAL.format(name="my-board"))
    assert DeviceCatalog([BUILTIN_DIR]).get(str(path)).name == "my-board"
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "--device", str(path), "--format", "json"]) == 0
    assert '"device": "my-board"' in capsys.readouterr().out
    # on the device path a device is found by its file name, so there the names must agree
    cat = DeviceCatalog([BUILTIN_DIR, tmp_path])
    with pytest.raises(AnalysisError, match=r"'my-board' does not match the file name 'board'.*my-board\.toml"):
        cat.get("board")


@pytest.mark.parametrize(
    "query, expected",
    [("rpi4", "raspberry-pi-4"), ("rpi5", "raspberry-pi-5"), ("orin", "jetson-orin-nano-8gb"), ("jon8", "jetson-orin-nano-8gb")],
)
def test_a_miss_suggests_names_it_abbreviates(query, expected):
    cat = DeviceCatalog([BUILTIN_DIR])
    assert cat.suggest(query)[0] == expected
    with pytest.raises(UsageError, match=f"did you mean '{expected}'"):
        cat.get(query)


def test_a_suggestion_never_names_a_malformed_device_without_saying_why(tmp_path):
    _write(tmp_path, "toy-board", "schema = [")
    _write(tmp_path, "toy-box", MINIMAL.format(name="toy-box"))
    cat = DeviceCatalog([BUILTIN_DIR, tmp_path])
    assert cat.suggest("toy") == ["toy-board", "toy-box"]
    with pytest.raises(UsageError) as e:
        cat.get("toy")
    msg = str(e.value)
    assert "did you mean 'toy-box'?" in msg and "\n" not in msg
    assert "'toy-board' was skipped: " in msg and "toy-board.toml: not valid TOML" in msg
    assert "'toy-board'?" not in msg and "or 'toy-board'" not in msg
