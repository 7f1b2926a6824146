"""MCU fit: flash for weights, SRAM for the arena, margins and the bottleneck layer."""

from __future__ import annotations

import json

import pytest

from analyzer import GraphBuilder, analyze, zoo
from analyzer.cli import main


def fit(graph, device="stm32f746", **kw):
    return analyze(graph, devices=[device], **kw).hardware[0]


def test_mobilenet_v2_int8_does_not_fit_stm32f746_and_names_the_peak_layer():
    r = fit(zoo.mobilenet_v2(dtype="int8"))
    mem = r.details["memory"]
    assert r.fits is False
    assert set(mem["not_fitting"]) == {"flash", "sram"}  # 3.5 MB of weights, a 1.5 MB arena
    assert mem["flash"]["weight_bytes"] == 3_538_984
    assert mem["sram"]["margin_bytes"] < 0 and mem["flash"]["margin_bytes"] < 0
    # expand conv of block 2 (96 x 112 x 112 = 1,204,224 B) is alive while the depthwise conv writes its output
    assert mem["bottleneck_layer"] == "features.2.conv.1.0"
    assert mem["peak_activation_layer"] == "features.2.conv.0.1"
    assert mem["arena"]["peak_live_bytes"] == 1_204_224 + 301_056
    assert mem["arena"]["live_at_peak"][0] == {"buffer": "features.2.conv.0.0", "bytes": 1_204_224}


def test_mobilenet_v2_with_8_bit_options_gives_the_same_fit():
    r = fit(zoo.mobilenet_v2(), weight_bits=8, activation_bits=8)
    assert r.fits is False and r.details["memory"]["bottleneck_layer"] == "features.2.conv.1.0"
    assert r.layers[0]["dtype"] == "int8"


def test_tiny_cnn_int8_fits_with_margins():
    r = fit(zoo.tiny_cnn(dtype="int8"))
    mem = r.details["memory"]
    assert r.fits is True and mem["not_fitting"] == []
    assert mem["flash"]["required_bytes"] == mem["flash"]["weight_bytes"] + 65536
    assert mem["flash"]["margin_bytes"] == 1024 * 1024 - mem["flash"]["required_bytes"]
    assert mem["sram"]["required_bytes"] == mem["sram"]["arena_bytes"] + 8192
    # dw2's output (32 x 25 x 5) and pw2's (64 x 25 x 5) are the largest pair alive together
    assert mem["sram"]["arena_bytes"] == 4000 + 8000
    assert mem["bottleneck_layer"] == "pw2"
    assert r.latency_s > 0 and r.details["energy"]["from_power_j"] == pytest.approx(0.33 * r.latency_s)


def test_runtime_overhead_option_can_break_the_fit():
    r = fit(zoo.tiny_cnn(dtype="int8"), hardware={"runtime_overhead_bytes": {"sram": 320 * 1024}})
    assert r.fits is False and r.details["memory"]["not_fitting"] == ["sram"]


def test_arena_goes_in_the_largest_activation_level_unless_named():
    g = zoo.tiny_cnn(dtype="int8")
    assert fit(g, "stm32h743").details["memory"]["sram"]["level"] == "axi_sram"
    r = fit(g, "stm32h743", hardware={"arena_level": "dtcm"})
    assert r.details["memory"]["sram"]["capacity_bytes"] == 128 * 1024


def branchy():
    """Two branches of a big then a small conv, concatenated: graph order runs both big convs first."""
    b = GraphBuilder("branchy", dtype="int8")
    x = b.input("x", (1, 4, 32, 32))  # 4 KB
    a1 = b.conv(x, 64, 3, padding=1, name="a1")  # 64 KB
    b1 = b.conv(x, 64, 3, padding=1, name="b1")
    a2 = b.conv(a1, 4, 1, name="a2")  # 4 KB
    b2 = b.conv(b1, 4, 1, name="b2")
    return b.build(b.concat([a2, b2], 1, name="cat"))


def test_reordering_lowers_the_arena_of_a_branchy_graph():
    plain = fit(branchy()).details["memory"]["arena"]
    best = fit(branchy(), hardware={"reorder": True}).details["memory"]["arena"]
    assert plain["arena_bytes"] == 4096 + 2 * 65536
    assert best["arena_bytes"] == 4096 + 4096 + 65536
    assert best["graph_order_arena_bytes"] == plain["arena_bytes"]
    assert best["order"] == ["a1", "a2", "b1", "b2", "cat"] and best["order_exact"] is True


def test_cli_reports_fit_margin_and_bottleneck(capsys):
    code = main(["analyze", "analyzer.zoo:mobilenet_v2", "--weight-bits", "8", "--activation-bits", "8",
                 "--device", "stm32f746"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "stm32f746: flash" in out and "peak at layer features.2.conv.1.0" in out and "margin -" in out
    main(["analyze", "analyzer.zoo:tiny_cnn", "--device", "stm32f746", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    hw = doc["hardware"][0]
    assert hw["device"] == "stm32f746" and hw["details"]["memory"]["sram"]["fits"] is True
