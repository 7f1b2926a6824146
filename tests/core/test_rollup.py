"""Module roll-ups (docs/metrics.md): a module totals its layers; "@k" calls add up under
one module; maxima (io_activations, live_activations) take the max; a depth limit."""

from __future__ import annotations

import analyzer
from analyzer import GraphBuilder


def report() -> analyzer.Report:
    b = GraphBuilder("r")
    x = b.input("x", (1, 2, 4, 4))  # 32
    with b.scope("layer1"):
        with b.scope("0"):
            x = b.conv(x, 2, 1, bias=False, name="conv1")  # 32 outputs * 2 = 64 MACs, 4 params
            x = b.relu(x, name="relu")  # 32 FLOPs
            x = b.conv(x, 2, 1, bias=False, name="conv2")  # 64 MACs, 4 params
            x = b.relu(x, name="relu@1")  # second call of the same ReLU: 32 FLOPs
        with b.scope("1"):
            x = b.conv(x, 2, 1, bias=False, name="conv1")  # 64 MACs
            x = b.relu(x, name="relu")  # 32
    x = b.op("neg", [x], (1, 2, 4, 4), scope="")  # unscoped: 32 FLOPs
    x = b.flatten(x, name="flatten")
    b.linear(x, 3, bias=False, name="fc")  # 3 * 32 = 96 MACs, 96 params
    return analyzer.analyze(b.build())


def test_tree_and_sums() -> None:
    mods = {m.path: m for m in report().modules()}
    assert list(mods) == [
        "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.relu", "layer1.0.conv2",
        "layer1.1", "layer1.1.conv1", "layer1.1.relu", "neg", "flatten", "fc",
    ]  # fmt: skip
    assert mods["layer1"].depth == 1 and mods["layer1.0.conv1"].depth == 3
    assert mods["layer1"].layers == 6
    assert mods["layer1"].values["macs"] == 192  # 3 convs * 64
    assert mods["layer1.0"].values["macs"] == 128
    assert mods["layer1.1"].values["macs"] == 64
    assert mods["layer1"].values["params"] == 12  # 3 * 2*2
    # mac_flops 2 * 192 = 384 + 3 ReLUs * 32 = 480
    assert mods["layer1"].values["flops"] == 480
    assert mods["fc"].values["macs"] == 96
    assert mods["neg"].values["flops"] == 32


def test_calls_merge_under_one_module() -> None:
    mods = {m.path: m for m in report().modules()}
    relu = mods["layer1.0.relu"]
    assert relu.layers == 2  # relu and relu@1
    assert relu.values["flops"] == 64  # 32 + 32


def test_maxima_take_the_max() -> None:
    r = report()
    mods = {m.path: m for m in r.modules()}
    # conv layers: input 32 + output 32 = 64; in-place relus: 32; the max, not the sum 6 layers would give
    assert [r.layer(n)["io_activations"] for n in ("layer1.0.conv1", "layer1.0.relu")] == [64, 32]
    assert mods["layer1"].values["io_activations"] == 64
    assert mods["layer1"].values["live_activations"] == max(
        r.layer(n)["live_activations"] for n in ("layer1.0.conv1", "layer1.0.relu", "layer1.0.conv2",
                                                 "layer1.0.relu@1", "layer1.1.conv1", "layer1.1.relu")
    )  # fmt: skip
    # non-numeric values (receptive field lists, dtype) are skipped
    assert "receptive_field" not in mods["layer1"].values and "dtype" not in mods["layer1"].values


def test_depth_limit() -> None:
    r = report()
    assert [m.path for m in r.modules(1)] == ["layer1", "neg", "flatten", "fc"]
    two = [m.path for m in r.modules(2)]
    assert two == ["layer1", "layer1.0", "layer1.1", "neg", "flatten", "fc"]
    # a module's totals do not depend on the depth shown
    assert r.modules(1)[0].values["macs"] == 192


def test_modules_in_json() -> None:
    d = report().to_dict()
    top = d["modules"][0]
    assert (top["path"], top["depth"], top["layers"], top["macs"]) == ("layer1", 1, 6, 192)
