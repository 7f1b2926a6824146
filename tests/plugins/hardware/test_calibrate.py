"""calibrate: the host spec is derived, measured, written where the catalog finds it."""

from __future__ import annotations

import pytest

from analyzer import analyze, zoo
from analyzer.cli import main
from analyzer.core.devices import ENV_VAR, DeviceSpec, load_device
from analyzer.core.plugins import load_plugins
from analyzer.plugins.hardware import calibrate as cal
from analyzer.plugins.hardware.host import CacheLevel, HostInfo, derived_host_doc

INFO = HostInfo(model="Test CPU", cores=4, clock_hz=3e9, flags={"avx2", "fma"},
                caches=[CacheLevel(2, 1 << 20, 4), CacheLevel(3, 32 << 20, 1)], memory_bytes=16 << 30)  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def fake_measure(monkeypatch):
    """Deterministic measurements: the flow, not this machine's speed."""
    monkeypatch.setattr(cal, "host_info", lambda: INFO)
    monkeypatch.setattr(cal, "measure_matmul", lambda quick, clock: (2e11, "numpy"))
    monkeypatch.setattr(
        cal, "measure_copy", lambda nbytes, quick, clock: 5e10 if nbytes < (64 << 20) else 2e10
    )
    monkeypatch.setattr(cal, "_torch_benchmarks", lambda info, doc, quick, clock: (
        {"value": 5e-6, "source": cal.MEASURED, "kind": "measured"}, {"gemm": 0.8, "depthwise": 0.2},
        {"depthwise": {"value": 2e-5, "source": cal.MEASURED, "kind": "measured"}}))  # fmt: skip
    monkeypatch.setattr(cal, "measure_kernels", lambda threads, quick: _fake_kernels(threads))


def _fake_kernels(threads):
    """A kernel-level calibration without measuring: a constant ratio of 2 for elementwise ops."""
    from analyzer.plugins.hardware import kernel_features as kf
    from analyzer.plugins.hardware import kernel_model as km

    shape = kf.OpShape("relu", ((1, 8, 4, 4),), ((1, 8, 4, 4),))
    return {"threads": threads, "module_call_s": 1e-6, "view_s": 5e-7, "fusion": {},
            "classes": {"elementwise": {"points": 1, "ensemble": km._constant(0.693, kf.N_FEATURES)}},
            "benchmarks": [[shape.op, shape.inputs, shape.params, shape.outputs]]}  # fmt: skip


def test_derived_doc_is_a_valid_spec_from_the_formula():
    spec = DeviceSpec.model_validate(derived_host_doc(INFO))
    assert (
        spec.peak_ops_per_s["fp32"].value == 4 * 32 * 3e9
        and spec.peak_ops_per_s["fp32"].kind == "derived"
    )
    assert [m.name for m in spec.memory] == ["l2", "l3", "dram"]
    assert spec.memory_level("l2").capacity_bytes.value == 4 << 20
    assert spec.memory_level("dram").capacity_bytes.value == 16 << 30
    assert spec.memory_level("dram").bandwidth_bytes_per_s.kind == "estimate"


def test_calibrate_writes_host_where_the_catalog_finds_it(fake_measure, tmp_path, monkeypatch):
    path = cal.calibrate_command(output_dir=None, quick=True)
    assert path == tmp_path / "config" / "analyzer" / "devices" / "host.toml"
    spec = load_plugins().devices.get("host")
    assert (
        spec.peak_ops_per_s["fp32"].value == 2e11 and spec.peak_ops_per_s["fp32"].kind == "measured"
    )
    assert spec.memory_level("l2").bandwidth_bytes_per_s.value == 5e10 * 4  # private: x 4 instances
    assert spec.memory_level("l3").bandwidth_bytes_per_s.value == 5e10
    assert spec.memory_level("dram").bandwidth_bytes_per_s.value == 2e10
    assert spec.efficiency == {"gemm": 0.8, "depthwise": 0.2}
    assert spec.layer_overhead_s.value == 5e-6 and spec.class_overhead_s["depthwise"].value == 2e-5
    r = analyze(zoo.tiny_cnn(), devices=["host"], plugins=load_plugins()).hardware[0]
    assert r.device == "host" and r.latency_s > 0
    assert r.details["figures"]["peak_ops_per_s.fp32"]["kind"] == "measured"
    assert r.details["efficiency"]["gemm"] == 0.8  # calibrated
    assert r.details["efficiency"]["elementwise"] == 0.5  # class default kept
    # the $ANALYZER_DEVICE_PATH directory comes first when set
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    assert cal.calibrate_command(output_dir=None, quick=True) == tmp_path / "env" / "host.toml"


def test_without_pytorch_defaults_are_kept(fake_measure, monkeypatch):
    def no_torch(*a, **k):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(cal, "_torch_benchmarks", no_torch)
    doc = cal.calibrate(quick=True)
    spec = DeviceSpec.model_validate(doc)
    assert (
        spec.efficiency == {}
        and spec.layer_overhead_s is None
        and "PyTorch not installed" in spec.notes
    )


def test_cli_calibrate_output_dir(fake_measure, tmp_path, capsys):
    assert main(["calibrate", "--output-dir", str(tmp_path / "out"), "--quick"]) == 0
    out = capsys.readouterr().out
    assert (
        f"wrote {tmp_path / 'out' / 'host.toml'}" in out and "host-kernels.json (1 thread)" in out
    )
    assert load_device(tmp_path / "out" / "host.toml").name == "host"
    # the kernel-level model lands beside it, one calibration per thread count, same machine kept
    from analyzer.plugins.hardware import kernel_model as km

    assert (
        main(["calibrate", "--output-dir", str(tmp_path / "out"), "--quick", "--threads", "2"]) == 0
    )
    doc = km.read(tmp_path / "out" / km.FILE_NAME)
    assert sorted(doc["calibrations"]) == ["1", "2"] and doc["machine"]["cpu"] == INFO.model


def test_cli_calibrate_bad_threads_is_a_usage_error(fake_measure, tmp_path, capsys):
    assert main(["calibrate", "--output-dir", str(tmp_path), "--threads", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--threads" in err


def test_cli_calibrate_unwritable_dir_is_one_line_error(fake_measure, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["calibrate", "--output-dir", str(blocker / "sub")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


def test_fit_class_recovers_fixed_cost_and_efficiency():
    # measured = 20 us + ideal / 0.25 on three sizes
    pts = [(i, 20e-6 + i / 0.25) for i in (1e-6, 1e-5, 1e-3)]
    a, e = cal.fit_class(pts, floor_s=5e-6)
    assert a == pytest.approx(20e-6) and e == pytest.approx(0.25)
    # faster than the roofline: efficiency clipped to 1, the fixed cost refitted
    a, e = cal.fit_class([(1e-3, 0.5e-3), (2e-3, 1.0e-3)], floor_s=1e-6)
    assert e == 1.0 and a == 1e-6
    # one point: the general overhead is the fixed cost
    a, e = cal.fit_class([(1e-4, 5e-6 + 2e-4)], floor_s=5e-6)
    assert a == 5e-6 and e == pytest.approx(0.5)


def test_copy_and_matmul_measure_positive_rates():
    assert cal.measure_copy(1 << 16, quick=True) > 1e8
    rate, lib = cal.measure_matmul(quick=True)
    assert rate > 1e8 and lib


@pytest.mark.slow
def test_real_quick_calibration_validates(tmp_path):
    pytest.importorskip("torch")
    path = cal.calibrate_command(output_dir=tmp_path, quick=True, kernels=False)
    spec = load_device(path)
    assert spec.peak_ops_per_s["fp32"].kind == "measured"
    assert all(m.bandwidth_bytes_per_s.kind == "measured" for m in spec.memory)
    assert set(spec.efficiency) == {"gemm", "conv", "depthwise", "elementwise", "pooling", "reduction",
                                    "normalization", "movement"}  # fmt: skip
    assert 0 < spec.layer_overhead_s.value < 1e-3
    assert set(spec.class_overhead_s) == set(spec.efficiency)
