"""The worked examples of docs/metrics.md, reproduced exactly from framework-free graphs."""

from __future__ import annotations

import pytest

import analyzer
from analyzer import GraphBuilder, zoo
from tests.lecture import ALEXNET_PARAMS_MACS

ALEXNET = ALEXNET_PARAMS_MACS
ALEXNET_OUTPUTS = {  # layer: output activations (lecture)
    "conv1": 290_400, "pool1": 69_984, "conv2": 186_624, "pool2": 43_264, "conv3": 64_896,
    "conv4": 64_896, "conv5": 43_264, "pool3": 9_216, "fc6": 4_096, "fc7": 4_096, "fc8": 1_000,
}  # fmt: skip


@pytest.fixture(scope="module")
def alexnet():
    return analyzer.analyze(zoo.alexnet(), bias=False)


@pytest.mark.parametrize("layer", ALEXNET)
def test_alexnet_layer_params_and_macs(alexnet, layer):
    row = alexnet.layer(layer)
    assert (row.params, row.macs) == ALEXNET[layer]


def test_alexnet_totals(alexnet):
    t = alexnet.totals
    assert t["params"] == 60_954_656
    assert t["macs"] == 724_406_816
    assert sum(p for p, _ in ALEXNET.values()) == t["params"]
    assert t["mac_flops"] == 2 * 724_406_816  # FLOPs ~ 2 x 724M ~ 1.4G


def test_alexnet_activations(alexnet):
    assert alexnet.totals["total_activations"] == 932_264
    assert alexnet.details["activations"]["input_activations"] == 150_528
    for layer, n in ALEXNET_OUTPUTS.items():
        assert alexnet.layer(layer).activations == n, layer
    # ReLU runs in place and flatten is a view: neither adds storage
    assert alexnet.layer("relu1").activations == 0
    assert alexnet.layer("flatten").activations == 0
    assert alexnet.totals["peak_activations"] == 440_928 == 150_528 + 290_400
    assert alexnet.details["activations"]["peak_layer"] == "conv1"


def test_alexnet_model_size_fp32_and_int8(alexnet):
    assert alexnet.totals["model_size_bytes"] == 60_954_656 * 4  # ~244 MB
    assert round(alexnet.totals["model_size_mb"]) == 244
    int8 = analyzer.analyze(zoo.alexnet(), bias=False, weight_bits=8)
    assert int8.totals["model_size_bytes"] == 60_954_656  # ~61 MB
    assert round(int8.totals["model_size_mb"]) == 61


def test_alexnet_with_bias_adds_the_bias_vectors():
    r = analyzer.analyze(zoo.alexnet())
    biases = 96 + 256 + 384 + 384 + 256 + 4096 + 4096 + 1000
    assert r.totals["params"] == 60_954_656 + biases
    # a bias add per output element keeps contraction FLOPs at 2ij with or without exact mode
    exact = analyzer.analyze(zoo.alexnet(), exact_flops=True)
    assert exact.layer("fc8").mac_flops == (2 * 4096 - 1) * 1000 + 1000 == 2 * 4096 * 1000


def _conv_naive(cin: int, cout: int, k: int, groups: int = 1) -> tuple[int, int, int, int]:
    b = GraphBuilder()
    x = b.input("x", (1, cin, 28, 28))
    b.conv(x, cout, k, padding=k // 2, groups=groups, name="conv")
    row = analyzer.analyze(b.build()).layer("conv")
    return row.naive_input_reads, row.naive_output_writes, row.naive_weight_reads, row.naive_accesses


def test_naive_memory_access_table():
    assert _conv_naive(256, 512, 3) == (924_844_032, 401_408, 1_180_160, 926_425_600)
    dw = _conv_naive(256, 256, 3, groups=256)
    assert dw == (1_806_336, 200_704, 2_560, 2_009_600)
    pw = _conv_naive(256, 512, 1)
    assert pw == (102_760_448, 401_408, 131_584, 103_293_440)
    assert dw[3] + pw[3] == 105_303_040


def test_depthwise_separable_saving():
    # K*K*Cout / (K*K + Cout) of the MACs (lecture), here K=3, Cout=512
    def macs(groups: int, cout: int, k: int, cin: int = 256) -> int:
        b = GraphBuilder()
        b.conv(b.input("x", (1, cin, 28, 28)), cout, k, padding=k // 2, groups=groups, bias=False)
        return analyzer.analyze(b.build()).totals["macs"]

    normal = macs(1, 512, 3)
    separable = macs(256, 256, 3) + macs(1, 512, 1)
    assert normal / separable == pytest.approx(9 * 512 / (9 + 512))


@pytest.mark.parametrize(
    ("build", "params", "macs"),
    [
        (zoo.mobilenet_v2, 3_504_872, 300_774_272),
        (zoo.resnet50, 25_557_032, 4_089_184_256),
        (zoo.vgg16, 138_357_544, 15_470_264_320),
    ],
)
def test_reference_architectures(build, params, macs):
    r = analyzer.analyze(build())
    assert (r.totals["params"], r.totals["macs"]) == (params, macs)


def test_mobilenet_has_fewer_params_but_not_lower_activation_peak_than_resnet():
    mb, rn = analyzer.analyze(zoo.mobilenet_v2()), analyzer.analyze(zoo.resnet50())
    assert mb.totals["params"] < rn.totals["params"] / 7
    assert mb.totals["peak_activations"] >= rn.totals["peak_activations"]
