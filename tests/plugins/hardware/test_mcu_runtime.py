"""MCU runtimes (mcu.py): int8 conv/depthwise/linear take MACs / (the runtime's MAC/cycle x clock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer import analyze, zoo
from analyzer.core.devices import DeviceCatalog
from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.plugins import load_plugins

H743 = "stm32h743"


def per_cycle(plugins, device: str) -> dict[str, float]:
    table = plugins.devices.get(device).extra_figures["runtime_macs_per_cycle"]
    return {name: fig.value for name, fig in table.items()}


def mcu(plugins, device: str = H743, **hardware):
    return analyze(
        zoo.tiny_cnn(dtype="int8"), devices=[device], plugins=plugins, hardware=hardware
    ).hardware[0]


def test_the_runtime_figures_are_data_with_sources(plugins):
    spec = plugins.devices.get(H743)
    assert spec.runtime == "cmsis-nn"
    table = spec.extra_figures["runtime_macs_per_cycle"]
    assert set(table) == {"tflm-reference", "cmsis-nn", "tinyengine"}
    assert all("STM32H743" in fig.source and "MCUNet" in fig.source for fig in table.values())
    # the published ranges: 0.022, 0.22-0.26, 0.46-0.57
    assert table["tflm-reference"].value == 0.022
    assert 0.22 <= table["cmsis-nn"].value <= 0.26 and 0.46 <= table["tinyengine"].value <= 0.57


def test_int8_kernels_take_macs_over_the_runtimes_rate(plugins):
    macs = {
        row.name: row.values["macs"]
        for row in analyze(zoo.tiny_cnn(dtype="int8"), plugins=plugins).layers
    }
    clock = plugins.devices.get(H743).clock_hz.value
    rate = per_cycle(plugins, H743)["tinyengine"] * clock
    r = mcu(plugins, runtime="tinyengine")
    assert r.details["runtime"] == "tinyengine"
    priced = [row for row in r.layers if row.get("runtime") == "tinyengine"]
    assert {row["op_class"] for row in priced} >= {"conv", "depthwise", "gemm"}
    for row in priced:
        assert row["compute_s"] == pytest.approx(macs[row["name"]] / rate)
    fig = r.details["figures"]["runtime_macs_per_cycle.tinyengine"]
    assert fig["value"] == per_cycle(plugins, H743)["tinyengine"] and "MCUNet" in fig["source"]


@pytest.mark.parametrize("device", [H743, "stm32f746"])
def test_tflm_reference_is_about_ten_times_slower_than_cmsis_nn(plugins, device):
    figs = per_cycle(plugins, device)
    ref, cmsis = (
        mcu(plugins, device, runtime="tflm-reference"),
        mcu(plugins, device, runtime="cmsis-nn"),
    )
    expected = figs["cmsis-nn"] / figs["tflm-reference"]  # ~10.9 from the data
    mac_layers = [i for i, row in enumerate(ref.layers) if row.get("runtime") == "tflm-reference"]
    for i in mac_layers:  # each int8 MAC layer: exactly the ratio of the figures
        assert ref.layers[i]["latency_s"] == pytest.approx(cmsis.layers[i]["latency_s"] * expected)
    # the whole model: close to it (pooling and elementwise layers keep the roofline)
    assert 0.8 * expected <= ref.latency_s / cmsis.latency_s <= expected
    assert 8 <= expected <= 12


def test_the_device_names_its_runtime_and_the_option_overrides_it(plugins):
    assert mcu(plugins).latency_s == pytest.approx(mcu(plugins, runtime="cmsis-nn").latency_s)
    assert mcu(plugins, runtime="tinyengine").latency_s < mcu(plugins).latency_s


def test_float_layers_keep_the_roofline_and_say_why(plugins):
    r = analyze(zoo.tiny_cnn(), devices=[H743], plugins=plugins).hardware[0]
    conv = next(row for row in r.layers if row["op_class"] == "conv")
    assert "int8" in conv["runtime"] and "roofline" in conv["runtime"]


def test_unknown_runtime_is_a_one_line_error_listing_the_known_ones(plugins):
    with pytest.raises(UsageError) as e:
        mcu(plugins, runtime="tvm")
    msg = str(e.value)
    assert (
        "unknown runtime 'tvm'" in msg
        and "tflm-reference, cmsis-nn, tinyengine" in msg
        and "\n" not in msg
    )


def test_a_device_without_figures_for_the_runtime_says_which_it_has(plugins):
    with pytest.raises(
        UsageError,
        match=r"nrf52840 has no MAC/cycle figure for runtime 'cmsis-nn' \(its runtimes: none\)",
    ):
        mcu(plugins, "nrf52840", runtime="cmsis-nn")
    assert (
        mcu(plugins, "nrf52840").details["runtime"] is None
    )  # no runtime named: the roofline as before


def test_device_files_are_checked(tmp_path, plugins):
    text = Path(plugins.devices.get(H743).path).read_text(encoding="utf-8")
    ps = load_plugins(entry_points=False)
    for edit, message in (
        (
            ("runtime_macs_per_cycle.tinyengine", "runtime_macs_per_cycle.tinyengin"),
            "unknown runtime",
        ),
        (('runtime = "cmsis-nn"', 'runtime = "utvm"'), "field 'runtime': .*unknown runtime 'utvm'"),
    ):
        (tmp_path / f"{H743}.toml").write_text(text.replace(*edit))
        ps.devices = DeviceCatalog([tmp_path], validate=ps.devices.validate)
        with pytest.raises(AnalysisError, match=message):
            ps.devices.get(H743)


def test_the_cli_passes_hardware_options(capsys):
    from analyzer.cli import main

    spec = "analyzer.zoo:tiny_cnn"
    base = [
        "analyze",
        spec,
        "--weight-bits",
        "8",
        "--activation-bits",
        "8",
        "-d",
        H743,
        "--format",
        "json",
    ]
    assert main([*base, "--hardware-option", "runtime=tinyengine"]) == 0
    hw = json.loads(capsys.readouterr().out)["hardware"][0]
    assert hw["details"]["runtime"] == "tinyengine"
    assert main([*base, "--hardware-option", "runtime=tvm"]) == 2
    assert "unknown runtime 'tvm'" in capsys.readouterr().err
    assert main(["analyze", spec, "--hardware-option", "runtime=cmsis-nn"]) == 2  # no device
    assert main([*base, "--hardware-option", "runtime"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
