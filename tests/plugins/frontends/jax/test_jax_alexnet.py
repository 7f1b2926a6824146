"""The lecture's AlexNet written in Flax reproduces docs/metrics.md exactly."""

from __future__ import annotations

import pytest

pytest.importorskip("jax")
pytest.importorskip("flax")

from jaxfe_models import F32, LectureAlexNet, S  # noqa: E402

from analyzer import analyze  # noqa: E402
from analyzer.zoo import alexnet  # noqa: E402
from tests.lecture import ALEXNET_PARAMS_MACS  # noqa: E402

LECTURE = ALEXNET_PARAMS_MACS


@pytest.fixture(scope="module")
def report():
    return analyze(LectureAlexNet(), S((1, 224, 224, 3), F32), bias=False)


def test_totals_match_the_lecture(report):
    t = report.totals
    assert t["params"] == 60_954_656
    assert t["macs"] == 724_406_816
    assert t["total_activations"] == 932_264
    assert t["peak_activations"] == 440_928
    assert report.details["activations"]["peak_layer"] == "conv1"


def test_layers_match_the_lecture(report):
    rows = {row.name: row.values for row in report.layers}
    for name, (params, macs) in LECTURE.items():
        assert (rows[name]["params"], rows[name]["macs"]) == (params, macs), name
    activations = [row.values["activations"] for row in report.layers if row.values["activations"]]
    assert activations == [
        290_400,
        69_984,
        186_624,
        43_264,
        64_896,
        64_896,
        43_264,
        9_216,
        4_096,
        4_096,
        1_000,
    ]


def test_agrees_with_the_framework_free_reference(report):
    ref = analyze(alexnet(), bias=False)
    for key in (
        "params",
        "macs",
        "flops",
        "total_activations",
        "peak_activations",
        "peak_live_activations",
    ):
        assert report.totals[key] == ref.totals[key], key
    with_bias = analyze(LectureAlexNet(), S((1, 224, 224, 3), F32))
    assert with_bias.totals["flops"] == analyze(alexnet()).totals["flops"]
    assert report.model["capture"].startswith("flax.linen")
