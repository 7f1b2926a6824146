"""The shared roofline core against hand-computed results on a toy device."""

from __future__ import annotations

import pytest

from analyzer import GraphBuilder, analyze
from analyzer.core.devices import DeviceCatalog
from analyzer.core.errors import UsageError
from analyzer.core.plugins import load_plugins

# peak fp32 1 GFLOP/s (vector units 0.5), sram 1024 B at 1 GB/s, dram 1 MB at 100 MB/s
TOY = """
schema = "analyzer.device/1"
name = "toy"
display_name = "Toy CPU"
class = "cpu"
efficiency = { gemm = 0.5, elementwise = 1.0, default = 1.0 }
power_w = { value = 2.0, source = "test", kind = "estimate" }
[peak_ops_per_s]
fp32 = { value = 1e9, source = "test", kind = "estimate" }
[vector_ops_per_s]
fp32 = { value = 5e8, source = "test", kind = "estimate" }
[energy_per_op_j]
fp32 = { value = 1e-12, source = "test", kind = "estimate" }
[[memory]]
name = "sram"
on_chip = true
capacity_bytes = { value = 1024, source = "test", kind = "estimate" }
bandwidth_bytes_per_s = { value = 1e9, source = "test", kind = "estimate" }
energy_per_byte_j = { value = 1e-12, source = "test", kind = "estimate" }
[[memory]]
name = "dram"
on_chip = false
capacity_bytes = { value = 1e6, source = "test", kind = "estimate" }
bandwidth_bytes_per_s = { value = 1e8, source = "test", kind = "estimate" }
energy_per_byte_j = { value = 1e-10, source = "test", kind = "estimate" }
"""


@pytest.fixture
def ps(tmp_path):
    (tmp_path / "toy.toml").write_text(TOY)
    plugins = load_plugins()
    plugins.devices = DeviceCatalog([tmp_path])
    return plugins


def linear(n_in: int, n_out: int, batch: int = 1, dtype: str = "float32"):
    b = GraphBuilder("lin", dtype=dtype)
    x = b.input("x", (batch, n_in))
    return b.build(b.linear(x, n_out, name="fc"))


def run(ps, graph, **hardware):
    return analyze(graph, devices=["toy"], plugins=ps, hardware=hardware).hardware[0]


def test_models_are_registered_per_class(plugins):
    assert {m.device_class: m.name for m in plugins.hardware_models.values()} == {
        "cpu": "roofline-cpu", "gpu": "roofline-gpu", "mcu": "roofline-mcu"}  # fmt: skip


def test_small_linear_hand_computed(ps):
    # 10 -> 20: 200 MACs -> 400 + 20 bias = 420 ops; weights 220 x 4 = 880 B fit the 1024 B sram;
    # activations 40 B read + 80 B written = 120 B fit the 144 B left beside them.
    r = run(ps, linear(10, 20))
    row = r.layers[0]
    assert row["ops"] == 420 and row["bytes"] == 1000
    assert row["levels"] == {"sram": 1000.0}
    assert row["compute_s"] == pytest.approx(420 / (1e9 * 0.5))
    assert row["memory_s"] == pytest.approx(1000 / (1e9 * 0.5))
    assert row["latency_s"] == pytest.approx(2e-6) and row["bound"] == "memory"
    assert row["arithmetic_intensity"] == pytest.approx(0.42)
    assert row["ridge_point"] == pytest.approx(1.0)  # 1 GFLOP/s over 1 GB/s
    assert r.latency_s == pytest.approx(2e-6) and r.throughput_per_s == pytest.approx(5e5)
    assert r.energy_j == pytest.approx(420e-12 + 1000e-12)
    assert r.details["energy"]["from_power_j"] == pytest.approx(2.0 * 2e-6)
    assert r.details["weights_level"] == "sram" and r.bound == "memory" and r.fits is True


def test_weights_that_do_not_fit_on_chip_cost_dram_traffic(ps):
    # 100 -> 100: weights 10,100 x 4 = 40,400 B > sram; activations 400 + 400 B stay in sram.
    row = run(ps, linear(100, 100)).layers[0]
    assert row["levels"] == {"dram": 40400.0, "sram": 800.0}
    assert row["memory_s"] == pytest.approx(40400 / (1e8 * 0.5) + 800 / (1e9 * 0.5))
    assert row["compute_s"] == pytest.approx(20100 / (1e9 * 0.5))
    assert row["bound"] == "memory"
    assert row["energy_j"] == pytest.approx(20100e-12 + 40400e-10 + 800e-12)


def test_total_is_the_sum_of_layers_with_whole_model_roofline_beside_it(ps):
    b = GraphBuilder("two")
    x = b.input("x", (1, 10))
    x = b.linear(x, 20, name="fc1")
    x = b.relu(x, name="relu")
    x = b.flatten(x, name="view")
    r = run(ps, b.build(b.linear(x, 5, name="fc2")))
    rows = {row["name"]: row for row in r.layers}
    assert rows["view"]["latency_s"] == 0 and rows["view"]["bound"] == "none"
    assert r.latency_s == pytest.approx(sum(row["latency_s"] for row in r.layers))
    roof = r.details["roofline"]
    assert roof["compute_s"] == pytest.approx(sum(row["compute_s"] for row in r.layers))
    assert roof["roofline_latency_s"] == pytest.approx(max(roof["compute_s"], roof["memory_s"]))
    assert roof["roofline_latency_s"] <= r.latency_s
    # the ReLU runs on the vector units at 0.5 GFLOP/s: 20 ops
    assert rows["relu"]["compute_s"] == pytest.approx(20 / 5e8)
    assert "sum over layers" in r.details["latency_convention"]


def test_efficiency_option_overrides_the_device_file(ps):
    row = run(ps, linear(10, 20), efficiency={"gemm": 1.0}).layers[0]
    assert row["efficiency"] == 1.0 and row["latency_s"] == pytest.approx(1e-6)
    with pytest.raises(UsageError, match="fraction"):
        run(ps, linear(10, 20), efficiency={"gemm": 2})
    with pytest.raises(UsageError, match="unknown hardware option 'batch'"):
        run(ps, linear(10, 20), batch=[1])


def test_layer_overhead_is_added_per_layer_with_work(ps):
    r = run(ps, linear(10, 20), layer_overhead_s=1e-6)
    assert r.layers[0]["overhead_s"] == 1e-6 and r.latency_s == pytest.approx(3e-6)


def test_per_class_overhead_from_the_device_file(tmp_path):
    extra = ('layer_overhead_s = { value = 1e-6, source = "test", kind = "measured" }\n'
             'class_overhead_s = { gemm = { value = 4e-6, source = "test", kind = "measured" } }\n')  # fmt: skip
    (tmp_path / "toy.toml").write_text(TOY.replace('[peak_ops_per_s]', extra + '[peak_ops_per_s]'))
    plugins = load_plugins()
    plugins.devices = DeviceCatalog([tmp_path])
    b = GraphBuilder("two")
    x = b.relu(b.linear(b.input("x", (1, 10)), 20, name="fc"), name="act")
    rows = {row["name"]: row for row in run(plugins, b.build(x)).layers}
    assert rows["fc"]["overhead_s"] == 4e-6 and rows["act"]["overhead_s"] == 1e-6


def test_batch_sweep_scales_activations_not_weights_and_stops_when_memory_runs_out(ps):
    # weights 880 B; live activations 120 B per item; dram 1e6 B: 8,000 items fit, 9,000 do not
    sweep = run(ps, linear(10, 20), batch_sizes=[1, 2, 8000, 9000, 20000]).details["batch_sweep"]
    assert [s["batch"] for s in sweep] == [1, 2, 8000, 9000]
    assert [s["fits"] for s in sweep] == [True, True, True, False]
    assert sweep[2]["required_bytes"] == 880 + 120 * 8000
    # batch 2: 240 B of activations no longer fit beside the weights in sram: they go to dram
    t2 = 880 / (1e9 * 0.5) + 240 / (1e8 * 0.5)
    assert sweep[1]["latency_s"] == pytest.approx(t2)
    assert sweep[1]["throughput_per_s"] == pytest.approx(2 / t2)


def test_batch_scales_from_the_graphs_own_batch(ps):
    sweep = run(ps, linear(10, 20, batch=4), batch_sizes=[2]).details["batch_sweep"]
    assert sweep[0]["required_bytes"] == 880 + 480 / 2


def test_missing_dtype_falls_back_and_is_reported(ps):
    r = run(ps, linear(10, 20), compute_dtype="int8")
    assert r.layers[0]["dtype"] == "int8"
    assert r.details["peak_fallbacks"] == {"peak_ops_per_s.int8": "fp32"}
    assert r.details["figures"]["peak_ops_per_s.fp32"]["kind"] == "estimate"


def test_quantized_options_mean_integer_arithmetic(ps):
    r = analyze(linear(10, 20), devices=["toy"], plugins=ps, weight_bits=8, activation_bits=8).hardware[0]
    assert r.layers[0]["dtype"] == "int8"
    assert r.layers[0]["levels"] == {"sram": 220 + 30}  # weights and activations at 8 bits


def test_horowitz_defaults_apply_when_the_device_gives_no_energy(plugins):
    r = analyze(linear(10, 20), devices=["epyc-9654"], plugins=plugins).hardware[0]
    figs = r.details["figures"]
    assert figs["energy_per_op_j.fp32"]["value"] == pytest.approx(2.3e-12)
    assert "Horowitz" in figs["energy_per_op_j.fp32"]["source"] and figs["energy_per_op_j.fp32"]["kind"] == "estimate"
    assert r.details["energy"]["complete"] is True


def test_gpu_uses_tensor_peaks_for_contractions_and_vector_peaks_otherwise(plugins):
    b = GraphBuilder("g", dtype="float16")
    x = b.input("x", (64, 4096))
    x = b.linear(x, 4096, name="fc")
    r = analyze(b.build(b.relu(x, name="act")), devices=["a100-sxm-80gb"], plugins=plugins).hardware[0]
    fc, act = r.layers
    # wave quantisation (gpu.py): fc is 1 x 32 tiles of 128x128, act 256 blocks of 1024 elements;
    # one wave holds 108 tiles (108 SMs) or 864 blocks (8 per SM): both fill 32/108 of their wave
    assert fc["compute_s"] == pytest.approx(fc["ops"] / (312e12 * 0.7) * 108 / 32)
    assert act["compute_s"] == pytest.approx(act["ops"] / (78e12 * 0.7) * 864 / 256)
    # 32 MB of fp16 weights fit the 40 MB L2: no HBM traffic, and the layer is compute-bound
    assert r.details["weights_level"] == "l2" and set(fc["levels"]) == {"l2"}
    assert fc["bound"] == "compute" and act["bound"] == "memory"
    assert r.details["roofline"]["ridge_points"]["fp16"] == pytest.approx(312e12 / 2.039e12)
