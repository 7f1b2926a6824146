"""The GPU model (gpu.py): kernel launches, wave quantisation, tensor-core eligibility, batch behaviour.

Expected values are hand computations from the device file's figures (read
here, not copied) and the layer shapes the test builds.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from analyzer import GraphBuilder, analyze, zoo
from analyzer.core.devices import DeviceCatalog
from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.ops import Category
from analyzer.core.plugins import load_plugins

A100 = "a100-sxm-80gb"


def figures(plugins, device: str) -> dict[str, float]:
    spec = plugins.devices.get(device)
    out = {
        "sm_count": spec.extra_figures["sm_count"].value,
        "launch": spec.extra_figures["kernel_launch_s"].value,
    }
    for table in ("gemm_tile", "elementwise_block"):
        out.update({f"{table}.{k}": f.value for k, f in spec.extra_figures[table].items()})
    return out


def linear(batch: int, n_in: int, n_out: int, dtype: str = "float16"):
    b = GraphBuilder("lin", dtype=dtype)
    x = b.input("x", (batch, n_in))
    return b.build(b.linear(x, n_out, name="fc"))


def gpu(graph, plugins, device: str = A100, **hardware):
    return analyze(graph, devices=[device], plugins=plugins, hardware=hardware).hardware[0]


def test_launch_cost_dominates_a_tiny_model_at_batch_1(plugins):
    g = zoo.tiny_cnn()
    kernels = sum(plugins.vocabulary.get(n.op).category != Category.VIEW for n in g.nodes())
    f = figures(plugins, A100)
    r = gpu(g, plugins)
    assert r.details["kernels"] == kernels
    assert r.latency_s >= kernels * f["launch"] * (1 - 1e-9)
    # every kernel's work is shorter than its launch: the launches are the whole latency
    work = sum(max(row["compute_s"], row["memory_s"]) for row in r.layers)
    assert work < 0.5 * r.latency_s and r.latency_s == pytest.approx(kernels * f["launch"])
    assert r.details["figures"]["kernel_launch_s"]["kind"] == "estimate"
    # CUDA Graphs-like launches: the option replaces the figure
    assert gpu(g, plugins, kernel_launch_s=0.0).latency_s == pytest.approx(work)


def test_mobilenet_v2_at_batch_1_is_launch_bound_not_microseconds(plugins):
    r = gpu(zoo.mobilenet_v2(), plugins)
    assert r.details["kernels"] >= 140
    assert r.latency_s >= r.details["kernels"] * figures(plugins, A100)["launch"] * (1 - 1e-9)
    assert 0.5e-3 < r.latency_s < 5e-3  # real eager runs: ~1-2 ms (issue 19)


@pytest.mark.parametrize(("batch", "tiles", "waves"), [(300, 3 * 32, 1), (1000, 8 * 32, 3)])
def test_wave_quantisation_of_one_gemm_by_hand(plugins, batch, tiles, waves):
    f = figures(plugins, A100)
    tm, tn, sms = f["gemm_tile.m"], f["gemm_tile.n"], f["sm_count"]
    assert math.ceil(batch / tm) * math.ceil(4096 / tn) == tiles  # M = batch, N = 4096
    slots = sms * f["gemm_tile.blocks_per_sm"]
    assert math.ceil(tiles / slots) == waves
    row = gpu(linear(batch, 1024, 4096), plugins).layers[0]
    assert (row["tiles"], row["waves"], row["tensor_cores"]) == (tiles, waves, True)
    assert row["wave_efficiency"] == pytest.approx(tiles / (waves * slots))
    ideal = row["ops"] / (312e12 * row["efficiency"])  # A100 fp16 tensor-core peak (datasheet)
    assert row["compute_s"] == pytest.approx(ideal * waves * slots / tiles)


def test_a_layer_smaller_than_a_wave_takes_the_whole_wave(plugins):
    one = gpu(linear(1, 1024, 128), plugins).layers[0]  # 1 tile
    full = gpu(linear(1, 1024, 128 * 108), plugins).layers[0]  # 108 tiles: one full wave
    assert (one["tiles"], one["waves"], full["tiles"], full["waves"]) == (1, 1, 108, 1)
    assert one["compute_s"] == pytest.approx(full["compute_s"])  # 108x the work, same time


def test_fp16_with_channels_not_multiple_of_8_falls_back_to_cuda_cores_and_says_so(plugins):
    bad = gpu(linear(64, 30, 64), plugins).layers[0]  # K = 30
    assert bad["tensor_cores"] is False and "K=30" in bad["units"] and "CUDA cores" in bad["units"]
    ideal = bad["ops"] / (78e12 * bad["efficiency"])  # A100 fp16 on CUDA cores (whitepaper)
    assert bad["compute_s"] == pytest.approx(ideal / bad["wave_efficiency"])
    good = gpu(linear(64, 32, 64), plugins).layers[0]
    assert good["tensor_cores"] is True and "tensor cores" in good["units"]
    # conv: channels per group are N and K of the implicit GEMM
    b = GraphBuilder("c", dtype="float16")
    x = b.input("x", (1, 3, 32, 32))
    row = gpu(b.build(b.conv(x, 16, 3, name="conv")), plugins).layers[0]
    assert row["tensor_cores"] is False and "K=3" in row["units"]


def test_small_batch_is_weight_bound_and_throughput_rises_until_compute_saturates(plugins):
    # 8192 x 8192 fp16: 134 MB of weights, more than the 40 MB L2, stream from HBM at every batch
    sweep = gpu(
        linear(1, 8192, 8192), plugins, batch_sizes=[1, 4, 16, 64, 256, 1024, 4096]
    ).details["batch_sweep"]
    row1 = gpu(linear(1, 8192, 8192), plugins).layers[0]
    assert row1["bound"] == "memory" and row1["weight_bytes"] > 1000 * row1["activation_bytes"]
    tput = [r["throughput_per_s"] for r in sweep]
    assert all(b >= a for a, b in zip(tput, tput[1:], strict=False)), tput
    assert tput[3] > 40 * tput[0]  # weights are read once per batch: nearly linear at first
    assert sweep[0]["bound"] == "memory" and sweep[-1]["bound"] == "compute"


ZOO = {
    "tiny_cnn": lambda: zoo.tiny_cnn(),
    "mobilenet_v2": lambda: zoo.mobilenet_v2(),
    "mobilenet_v2_fp16": lambda: zoo.mobilenet_v2(dtype="float16"),
    "resnet50": lambda: zoo.resnet50(),
    "alexnet": lambda: zoo.alexnet(),
    "vgg16_int8": lambda: zoo.vgg16(dtype="int8"),
    "transformer": lambda: zoo.transformer_encoder(seq=64, d_model=256, heads=4, ffn=1024),
}
GPUS = sorted(
    d.name for d in load_plugins(entry_points=False).devices.all() if d.device_class == "gpu"
)


@pytest.mark.parametrize("device", GPUS)
@pytest.mark.parametrize("model", sorted(ZOO))
def test_throughput_never_falls_with_batch_without_a_stated_reason(plugins, model, device):
    sweep = gpu(ZOO[model](), plugins, device, batch_sizes=[1, 2, 4, 8, 16, 32, 64, 128]).details[
        "batch_sweep"
    ]
    assert (
        sweep[1]["throughput_per_s"] > sweep[0]["throughput_per_s"]
    )  # launches amortise over the batch
    for before, row in zip(sweep, sweep[1:], strict=False):
        if row["throughput_per_s"] < before["throughput_per_s"]:
            reasons = row.get("throughput_falls_because") or []
            assert any("spill" in r or "does not fit" in r for r in reasons), (
                row["batch"],
                reasons,
            )
        else:
            assert "throughput_falls_because" not in row


def test_the_gpu_model_checks_its_figures_and_option(tmp_path, plugins):
    text = Path(plugins.devices.get("t4").path).read_text(encoding="utf-8")
    (tmp_path / "t4.toml").write_text(text.replace("gemm_tile.n =", "gemm_tile.k ="))
    ps = load_plugins(entry_points=False)
    ps.devices = DeviceCatalog([tmp_path], validate=ps.devices.validate)
    with pytest.raises(
        AnalysisError, match=r"field 'gemm_tile.k': unknown \(known: m, n, blocks_per_sm\)"
    ):
        ps.devices.get("t4")
    with pytest.raises(UsageError, match="'kernel_launch_s' must be a finite number >= 0 seconds"):
        gpu(zoo.tiny_cnn(), plugins, kernel_launch_s=-1)


def test_a_calibrated_per_layer_overhead_replaces_the_launch_model(plugins):
    r = gpu(zoo.tiny_cnn(), plugins, layer_overhead_s=1e-6)
    assert all(row["overhead_s"] == 1e-6 for row in r.layers if row["bound"] != "none")
    assert "launch_s" not in r.layers[0] and "calibrated or given" in r.details["launch_model"]


def test_a_jax_dot_general_is_a_gemm_too(plugins):
    # a JAX Dense: x (300, 1024) . W (1024, 4096) contracting x's dim 1 with W's dim 0
    b = GraphBuilder("jax", dtype="float16")
    x = b.input("x", (300, 1024))
    w = b.param("w", (1024, 4096))
    y = b.op("dot_general", [x, w], (300, 4096), {"lhs_contracting": (1,), "rhs_contracting": (0,),
                                                   "lhs_batch": (), "rhs_batch": ()}, name="dense")  # fmt: skip
    row = gpu(b.build(y), plugins).layers[0]
    assert (row["tiles"], row["waves"], row["tensor_cores"]) == (3 * 32, 1, True)


def test_a_gpu_file_without_the_gpu_figures_gets_documented_defaults(tmp_path, plugins):
    lines = Path(plugins.devices.get("t4").path).read_text(encoding="utf-8").splitlines()
    own = ("sm_count", "kernel_launch_s", "gemm_tile.", "elementwise_block.")
    (tmp_path / "t4.toml").write_text("\n".join(x for x in lines if not x.startswith(own)))
    ps = load_plugins(entry_points=False)
    ps.devices = DeviceCatalog([tmp_path], validate=ps.devices.validate)
    r = analyze(zoo.tiny_cnn(), devices=["t4"], plugins=ps).hardware[0]
    figs = r.details["figures"]
    assert (
        figs["kernel_launch_s"]["kind"] == "estimate"
        and "default" in figs["kernel_launch_s"]["source"]
    )
    assert (
        figs["sm_count"]["value"] == 40 and "cores" in figs["sm_count"]["source"]
    )  # the file's cores
    assert r.latency_s >= r.details["kernels"] * figs["kernel_launch_s"]["value"] * (1 - 1e-9)
