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
from analyzer.core.hardware import DeviceResult, HardwareModel
from analyzer.core.hookspecs import hookimpl
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


def _top(key_value: str):
    """An edit adding a top-level line (before the first table)."""
    return lambda t: t.replace('display_name = "Toy"', f'display_name = "Toy"\n{key_value}')


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace('kind = "estimate"\n[[memory]]', 'kind = "rumour"\n[[memory]]'), "peak_ops_per_s.fp32.kind"),
        (lambda t: t.replace("value = 1e9\nsource", "value = -1\nsource"), "peak_ops_per_s.fp32.value"),
        (lambda t: t.replace('class = "cpu"', 'class = "CPU!"'), "class"),
        (_top("efficiency = { gemm = 1.5 }"), "efficiency.gemm"),
        (lambda t: t + t[t.index("[[memory]]"):], "memory"),
        (lambda t: t.replace('capacity_bytes = {', 'capacity = {'), "memory.0"),
        # a device class's own figures need a source like any other
        (_top("tops = 5"), "tops"),
        (_top('tiles = { count = { value = 4 } }'), "tiles.count.source"),
        (_top('tops = { value = 0, source = "made up" }'), "tops.value"),
    ],
)
def test_malformed_file_error_names_file_and_field(tmp_path, edit, field):
    path = _write(tmp_path, "toy", edit(MINIMAL.format(name="toy")))
    with pytest.raises(AnalysisError) as e:
        load_device(path)
    msg = str(e.value)
    assert str(path) in msg and f"'{field}" in msg and "\n" not in msg


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace("[peak_ops_per_s.fp32]", "[peak_ops_per_s.fp31]"), "peak_ops_per_s': unknown data type"),
        (_top("efficiency = { matmul = 0.5 }"), "efficiency': unknown op class 'matmul'"),
        (_top('class_overhead_s = { warp = { value = 1e-6, source = "made up" } }'), "class_overhead_s': unknown op"),
        (_top('peak_ops_per_sec = { value = 1e9, source = "a typo" }'), "peak_ops_per_sec': not a figure the roofline"),
        (lambda t: t.replace("on_chip = false", 'on_chip = false\nkind = "tape"'), "memory.0.kind': unknown memory kind"),
    ],
)
def test_the_roofline_checks_its_own_figure_keys_not_the_core(tmp_path, edit, field):
    """Data types, op classes, memory kinds and unknown figures: the core schema is open, the roofline is not."""
    path = _write(tmp_path, "toy", edit(MINIMAL.format(name="toy")))
    assert load_device(path).name == "toy"  # the common schema accepts it
    with pytest.raises(AnalysisError) as e:
        load_plugins().devices.get(str(path))
    msg = str(e.value)
    assert msg.startswith(f"{path}: field '") and field in msg and "(hardware model roofline-cpu)" in msg
    assert "\n" not in msg
    (tmp_path / "dir").mkdir()
    _write(tmp_path / "dir", "toy", edit(MINIMAL.format(name="toy")))
    catalog = DeviceCatalog([tmp_path / "dir"], validate=load_plugins().validate_device)
    assert catalog.all() == [] and field in catalog.warnings[0]  # skipped in listings, like a malformed file


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


# --- open device classes: a plugin's NPU with its own figures and its own hardware model -------------
NPU = """
schema = "analyzer.device/1"
name = "toy-npu"
display_name = "Toy NPU"
class = "npu"
clock_hz = { value = 1.0e9, source = "made up for a test" }
macs_per_cycle.int8 = { value = 256, source = "made up for a test" }
macs_per_cycle.fp16 = { value = 64, source = "made up for a test" }
tiles = { value = 2, source = "made up for a test" }
[[memory]]
name = "scratchpad"
kind = "scratchpad"
on_chip = true
capacity_bytes = { value = 1048576, source = "made up for a test" }
bandwidth_bytes_per_s = { value = 1.0e10, source = "made up for a test" }
"""


class ToyNpu(HardwareModel):
    """latency = MACs / (MACs per cycle x clock x tiles used): the device's own figures and option."""

    name = "toy-npu-model"
    device_classes = ("npu", "dsp")
    requires = ("compute",)
    option_keys = ("npu_tiles", "npu_dtype")

    def validate_device(self, device):
        problems = [f"field {k!r}: not a figure of an npu" for k in device.extra_figures
                    if k not in ("macs_per_cycle", "tiles")]  # fmt: skip
        if not isinstance(device.extra_figures.get("macs_per_cycle"), dict):
            problems.append("field 'macs_per_cycle': an npu needs MACs per cycle by data type")
        return problems

    def validate_options(self, options):
        tiles = options.get("npu_tiles", 1)
        if isinstance(tiles, bool) or not isinstance(tiles, int) or tiles <= 0:
            return [f"hardware option 'npu_tiles' must be a positive integer, got {tiles!r}"]
        return []

    def evaluate(self, ctx, device):
        opts = ctx.options.hardware
        tiles = min(opts.get("npu_tiles", 1), device.extra_figures["tiles"].value)
        per_cycle = device.extra_figures["macs_per_cycle"][opts.get("npu_dtype", "int8")].value
        latency = ctx.result("compute").totals["macs"] / (per_cycle * device.clock_hz.value * tiles)
        return DeviceResult(device.name, self.name, latency, 1 / latency, None, "compute", None)


def _npu_plugins(tmp_path: Path, text: str = NPU, model: HardwareModel | None = None):
    import types

    (tmp_path / "toy-npu.toml").write_text(text)
    hooks = {"analyzer_device_dirs": hookimpl(lambda: [tmp_path])}
    if model is not None:
        hooks["analyzer_register_hardware_models"] = hookimpl(lambda register: register(model))
    return load_plugins(extra=[types.SimpleNamespace(__name__="npu_plugin", **hooks)], entry_points=False)


def test_an_npu_device_with_its_own_figures_is_evaluated_by_its_model(tmp_path):
    from analyzer import analyze, zoo

    ps = _npu_plugins(tmp_path, model=ToyNpu())
    spec = ps.devices.get("toy-npu")
    assert spec.device_class == "npu" and spec.extra_figures["macs_per_cycle"]["int8"].source == "made up for a test"
    macs = analyze(zoo.tiny_cnn(), plugins=ps).totals["macs"]
    r = analyze(zoo.tiny_cnn(), devices=["toy-npu"], plugins=ps, hardware={"npu_tiles": 2}).hardware[0]
    assert r.model == "toy-npu-model"
    assert r.latency_s == pytest.approx(macs / (256 * 1e9 * 2))
    fp16 = analyze(zoo.tiny_cnn(), devices=["toy-npu"], plugins=ps, hardware={"npu_dtype": "fp16"}).hardware[0]
    assert fp16.latency_s == pytest.approx(macs / (64 * 1e9 * 1))
    # the model serves a second class too
    dsp = _write(tmp_path, "toy-dsp", NPU.replace('"toy-npu"', '"toy-dsp"').replace('"npu"', '"dsp"'))
    assert analyze(zoo.tiny_cnn(), devices=[str(dsp)], plugins=ps).hardware[0].model == "toy-npu-model"


def test_each_model_checks_its_own_options_and_no_other_models(tmp_path):
    from analyzer import analyze, zoo

    ps = _npu_plugins(tmp_path, model=ToyNpu())
    both = analyze(zoo.tiny_cnn(), devices=["toy-npu", "t4"], plugins=ps,
                   hardware={"npu_tiles": 2, "batch_sizes": [1, 2]})  # fmt: skip
    assert [h.model for h in both.hardware] == ["toy-npu-model", "roofline-gpu"]
    alone = analyze(zoo.tiny_cnn(), devices=["t4"], plugins=load_plugins(entry_points=False), hardware={"batch_sizes": [1, 2]})
    assert both.hardware[1].latency_s == alone.hardware[0].latency_s  # the roofline ignores npu_tiles
    # the roofline does not reject the npu model's option even when only the roofline runs
    assert analyze(zoo.tiny_cnn(), devices=["t4"], plugins=ps, hardware={"npu_tiles": 2}).hardware[0].model == "roofline-gpu"
    with pytest.raises(UsageError, match="unknown hardware option 'npu_tilez'; known: .*npu_tiles"):
        analyze(zoo.tiny_cnn(), devices=["toy-npu"], plugins=ps, hardware={"npu_tilez": 2})
    with pytest.raises(UsageError, match="'npu_tiles' must be a positive integer, got 0"):
        analyze(zoo.tiny_cnn(), devices=["toy-npu"], plugins=ps, hardware={"npu_tiles": 0})
    with pytest.raises(UsageError, match="a fraction in"):  # the roofline still checks its own values
        analyze(zoo.tiny_cnn(), devices=["t4"], plugins=ps, hardware={"efficiency": {"gemm": 2}})


def test_the_npu_model_validates_its_device_files(tmp_path):
    bad = NPU.replace("tiles = {", "tilez = {")
    ps = _npu_plugins(tmp_path, bad, model=ToyNpu())
    with pytest.raises(AnalysisError, match=r"toy-npu.toml: field 'tilez': not a figure of an npu \(hardware model toy-npu-model\)"):
        ps.devices.get("toy-npu")


def test_a_device_class_no_loaded_model_serves_is_a_clear_error(tmp_path):
    from analyzer import analyze, zoo

    ps = _npu_plugins(tmp_path)  # the device file without its plugin's model
    assert ps.devices.get("toy-npu").device_class == "npu"  # listed and shown: the file is valid
    with pytest.raises(UsageError) as e:
        analyze(zoo.tiny_cnn(), devices=["toy-npu"], plugins=ps)
    msg = str(e.value)
    assert "device 'toy-npu' is of class 'npu', which no loaded hardware model serves" in msg
    assert "roofline-cpu ('cpu'), roofline-gpu ('gpu'), roofline-mcu ('mcu')" in msg and "\n" not in msg


def test_a_single_device_class_is_the_older_spelling_of_device_classes():
    class Old(HardwareModel):
        device_class = "cpu"

        def evaluate(self, ctx, device):
            raise NotImplementedError

    class New(HardwareModel):
        device_classes = ("npu", "tpu")

        def evaluate(self, ctx, device):
            raise NotImplementedError

    assert Old.device_classes == ("cpu",) and Old().serves("cpu") and not Old().serves("gpu")
    assert New.device_class == "npu" and New().serves("tpu")


def test_devices_show_lists_a_device_classes_own_figures(tmp_path, monkeypatch, capsys):
    _write(tmp_path, "toy-npu", NPU)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert main(["devices", "show", "toy-npu"]) == 0
    out = capsys.readouterr().out
    assert "Toy NPU (npu)" in out and "macs_per_cycle.int8" in out and "tiles" in out
    assert main(["devices"]) == 0
    assert "toy-npu" in capsys.readouterr().out
