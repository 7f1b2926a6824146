"""The literature numbers, from PyTorch models written in the tests (weight-free, on meta)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import analyzer  # noqa: E402
from analyzer import zoo  # noqa: E402

from .models import VGG16, LectureAlexNet, MobileNetV2, ResNet50  # noqa: E402

CASES = [
    (ResNet50, zoo.resnet50, 25_557_032, 4_089_184_256),
    (MobileNetV2, zoo.mobilenet_v2, 3_504_872, 300_774_272),
    (VGG16, zoo.vgg16, 138_357_544, 15_470_264_320),
]
SAME_AS_ZOO = ("params", "non_trainable_params", "macs", "flops", "total_activations", "peak_activations",
               "peak_live_activations", "model_size_bytes")  # fmt: skip


def meta_model(cls):
    with torch.device("meta"):
        return cls().eval()


def trainable_numel(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    ("cls", "zoo_fn", "params", "macs"), CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_literature_numbers_and_zoo_agreement(plugins, cls, zoo_fn, params, macs):
    model = meta_model(cls)
    report = analyzer.analyze(model, (1, 3, 224, 224), plugins=plugins)
    assert report.totals["params"] == params == trainable_numel(model)
    assert report.totals["macs"] == macs
    assert report.model["capture"] == "torch.dispatch(meta)"
    assert report.unsupported == []
    reference = analyzer.analyze(zoo_fn(), plugins=plugins)
    for key in SAME_AS_ZOO:
        assert report.totals[key] == reference.totals[key], key
    # the weights were never materialized
    assert all(p.device.type == "meta" for p in model.parameters())


def test_resnet_layers_are_named_by_the_module_tree(plugins):
    graph = analyzer.to_graph(meta_model(ResNet50), (1, 3, 224, 224), plugins=plugins)
    scopes = [n.scope for n in graph.nodes()]
    assert scopes[:4] == ["conv1", "bn1", "relu", "maxpool"]
    block = [s for s in scopes if s.startswith("layer1.0")]
    assert block == ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.bn2",
                     "layer1.0.relu@1", "layer1.0.conv3", "layer1.0.bn3", "layer1.0.downsample.0",
                     "layer1.0.downsample.1", "layer1.0", "layer1.0.relu@2"]  # fmt: skip
    add = next(n for n in graph.nodes() if n.scope == "layer1.0")
    assert (add.op, add.source_op) == ("add", "aten.add_.Tensor")
    params = graph.params
    assert params["bn1.weight"].role == "scale" and params["bn1.bias"].role == "shift"
    assert (params["bn1.running_mean"].role, params["bn1.running_mean"].buffer) == ("mean", True)
    assert not params["bn1.running_var"].trainable and params["bn1.running_var"].role == "var"
    assert params["bn1.num_batches_tracked"].role == "counter"
    assert params["fc.bias"].role == "bias"


def test_conv_is_one_node_with_every_attribute(plugins):
    graph = analyzer.to_graph(meta_model(LectureAlexNet), (1, 3, 224, 224), plugins=plugins)
    conv2 = graph.node("conv2")
    assert conv2.op == "conv" and conv2.inputs[1:] == ("conv2.weight", "conv2.bias")
    assert conv2.attrs == {
        "kernel_size": (5, 5), "stride": (1, 1), "padding": ((2, 2), (2, 2)), "dilation": (1, 1), "groups": 2,
        "in_channels": 96, "out_channels": 256, "channel_axis": 1, "transposed": False,
    }  # fmt: skip
    assert graph.shape("conv2") == (1, 256, 27, 27)


LECTURE = {  # docs/metrics.md: AlexNet as drawn in the lecture, bias ignored
    "conv1": (34_848, 105_415_200), "conv2": (307_200, 223_948_800), "conv3": (884_736, 149_520_384),
    "conv4": (663_552, 112_140_288), "conv5": (442_368, 74_760_192), "fc6": (37_748_736, 37_748_736),
    "fc7": (16_777_216, 16_777_216), "fc8": (4_096_000, 4_096_000),
}  # fmt: skip


def test_lecture_alexnet(plugins):
    model = meta_model(LectureAlexNet)
    report = analyzer.analyze(model, (1, 3, 224, 224), plugins=plugins, bias=False)
    rows = {row.name: row.values for row in report.layers}
    for name, (params, macs) in LECTURE.items():
        assert (rows[name]["params"], rows[name]["macs"]) == (params, macs), name
    t = report.totals
    assert (t["params"], t["macs"]) == (60_954_656, 724_406_816)
    assert (t["total_activations"], t["peak_activations"]) == (932_264, 440_928)
    with_bias = analyzer.analyze(model, (1, 3, 224, 224), plugins=plugins)
    assert with_bias.totals["params"] == trainable_numel(model)


def test_real_weights_are_not_computed_on(plugins):
    """A model with real weights is traced on meta stand-ins; its tensors are left untouched."""
    model = LectureAlexNet().eval()
    before = model.conv1.weight.detach().clone()
    x = torch.randn(2, 3, 224, 224)
    report = analyzer.analyze(model, x, plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(meta)"
    assert report.model["inputs"] == [
        {"name": "input", "shape": [2, 3, 224, 224], "dtype": "float32"}
    ]
    assert report.totals["macs"] == 2 * 724_406_816
    assert model.conv1.weight.device.type == "cpu" and torch.equal(model.conv1.weight, before)
