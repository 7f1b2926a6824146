"""keras.applications and the lecture's AlexNet: the issue's numbers, and agreement with analyzer.zoo.

Applications are built with ``weights=None`` inside ``keras.StatelessScope(
initialize_variables=False)``: Keras creates every variable with its shape and
dtype but never initialises it, so even ConvNeXtXLarge builds in about a
second; the analysis reads shapes only. MobileNetV2 is also built the usual way.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from analyzer import analyze, zoo  # noqa: E402
from tests.lecture import ALEXNET_PARAMS_MACS  # noqa: E402

from .keras_models import lecture_alexnet  # noqa: E402

pytestmark = pytest.mark.keras
APPLICATIONS = sorted(n for n in dir(keras.applications) if n[:1].isupper())
# over ~2 s each to build and analyze here
HEAVY = {"ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtXLarge", "DenseNet169", "DenseNet201",
         "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "EfficientNetV2L", "EfficientNetV2M",
         "InceptionResNetV2", "NASNetLarge", "NASNetMobile", "ResNet152V2"}  # fmt: skip
ISSUE_MACS = {"MobileNetV2": 300_774_272, "VGG16": 15_470_264_320, "ResNet50": 3_857_973_248}

LECTURE = ALEXNET_PARAMS_MACS


def weights_size(variables) -> int:
    return sum(int(v.numpy().size) for v in variables)


def folded_pads(report) -> int:
    """Pads the fold_pad_into_conv pass merged into their convolutions (docs/ir.md)."""
    return sum(
        int(p.split(": ")[1].split()[0])
        for p in report.model["passes"]
        if p.startswith("fold_pad_into_conv")
    )


@pytest.fixture(scope="module")
def alexnet_model():
    with keras.StatelessScope(initialize_variables=False):
        return lecture_alexnet()


@pytest.fixture(scope="module")
def alexnet_report(alexnet_model):
    return analyze(alexnet_model, bias=False)


@pytest.mark.parametrize("layer", LECTURE)
def test_lecture_alexnet_per_layer(alexnet_report, layer):
    row = alexnet_report.layer(layer)
    assert (row.params, row.macs) == LECTURE[layer]


def test_lecture_alexnet_totals(alexnet_report):
    t = alexnet_report.totals
    assert (t["params"], t["macs"]) == (60_954_656, 724_406_816)
    # Keras convolutions take only "valid"/"same", so conv1's padding 2 is a ZeroPadding2D layer;
    # the canonical pass folds it into conv1's padding, as PyTorch and Flax write it
    assert folded_pads(alexnet_report) == 1
    assert t["total_activations"] == 932_264
    assert t["peak_activations"] == 150_528 + 290_400  # at conv1


def test_lecture_alexnet_matches_the_zoo_with_biases(alexnet_model):
    keras_r, zoo_r = analyze(alexnet_model), analyze(zoo.alexnet())
    for key in ("params", "macs", "flops"):
        assert keras_r.totals[key] == zoo_r.totals[key], key


def build_stateless(name: str):
    """``keras.applications.<name>(weights=None)`` with uninitialised variables, and its input shape."""
    with keras.StatelessScope(initialize_variables=False):
        model = getattr(keras.applications, name)(weights=None)
    declared = model.inputs[0].shape
    return model, (
        (1, 224, 224, 3) if declared[1] is None else None
    )  # MobileNetV3 declares (None, None, 3)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in APPLICATIONS]
)
def test_application_counts_like_keras_and_is_fully_supported(name):
    model, inputs = build_stateless(name)
    r = analyze(model, inputs)
    assert r.totals["params"] == weights_size(model.trainable_weights)
    assert r.totals["non_trainable_params"] == weights_size(model.non_trainable_weights)
    assert r.unsupported == []
    if name in ISSUE_MACS:
        assert r.totals["macs"] == ISSUE_MACS[name]
    keras.backend.clear_session()


def test_every_application_is_listed():
    assert len(APPLICATIONS) >= 40 and set(ISSUE_MACS) <= set(APPLICATIONS)


def test_mobilenet_v2_built_normally_matches_the_zoo():
    model = keras.applications.MobileNetV2(weights=None)  # initialised weights: the usual path
    r = analyze(model)
    assert r.totals["macs"] == 300_774_272
    assert r.totals["params"] == weights_size(model.trainable_weights) == 3_504_872
    # same architecture as the zoo's (torchvision's), except that Keras pads before its four
    # stride-2 depthwise convolutions with ZeroPadding2D layers (folded into the convolutions by
    # the canonical pass: (0, 1) padding instead of (1, 1), same output and MACs) and ends
    # with a softmax (5 FLOPs per class)
    z = analyze(zoo.mobilenet_v2())
    assert folded_pads(r) == 4
    for key in ("params", "non_trainable_params", "macs", "total_activations", "peak_activations"):
        assert r.totals[key] == z.totals[key], key
    assert r.totals["flops"] == z.totals["flops"] + 5 * 1000


def test_vgg16_matches_the_zoo():
    r = analyze(build_stateless("VGG16")[0])
    # torchvision (the zoo) has a 7x7 adaptive average pool before the classifier (a new
    # 25,088-element tensor and 25,088 FLOPs); Keras flattens directly and ends with a softmax
    z = analyze(zoo.vgg16())
    assert (
        (r.totals["params"], r.totals["macs"])
        == (z.totals["params"], z.totals["macs"])
        == (138_357_544, 15_470_264_320)
    )
    assert r.totals["flops"] == z.totals["flops"] - 7 * 7 * 512 + 5 * 1000
    assert r.totals["total_activations"] == z.totals["total_activations"] - 7 * 7 * 512


def test_resnet50_is_v1_not_the_zoos_v1_5():
    r = analyze(build_stateless("ResNet50")[0])
    z = analyze(zoo.resnet50())
    # Keras: stride 2 in the first 1x1 conv of a stage and biased convolutions (v1);
    # torchvision (zoo): stride in the 3x3 conv, no conv biases (v1.5)
    assert (r.totals["macs"], z.totals["macs"]) == (3_857_973_248, 4_089_184_256)
    conv_biases = 64 + 3 * (64 + 64 + 256) + 256 + 4 * (128 + 128 + 512) + 512 + 6 * (256 + 256 + 1024) + 1024 \
        + 3 * (512 + 512 + 2048) + 2048  # fmt: skip
    assert r.totals["params"] == z.totals["params"] + conv_biases == 25_583_592
    assert r.totals["non_trainable_params"] == z.totals["non_trainable_params"] == 53_120
