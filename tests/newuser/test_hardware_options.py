"""--hardware-option values a user can mistype: non-finite seconds must be refused like negative ones."""

from __future__ import annotations

import pytest

from analyzer.cli import main


def test_negative_overhead_is_refused(capsys: pytest.CaptureFixture) -> None:
    args = [
        "analyze",
        "analyzer.zoo:tiny_cnn",
        "--device",
        "t4",
        "--hardware-option",
        "layer_overhead_s=-1",
    ]
    assert main(args) == 2
    assert "layer_overhead_s" in capsys.readouterr().err


@pytest.mark.parametrize(
    "option,device",
    [
        ("layer_overhead_s=nan", "raspberry-pi-4"),
        ("layer_overhead_s=inf", "stm32f746"),
        ("kernel_launch_s=nan", "t4"),
        ("kernel_launch_s=inf", "t4"),
    ],
)
def test_non_finite_seconds_are_refused(
    option: str, device: str, capsys: pytest.CaptureFixture
) -> None:
    args = [
        "analyze",
        "analyzer.zoo:tiny_cnn",
        "--device",
        device,
        "--hardware-option",
        option,
        "-f",
        "json",
    ]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, "accepted"
    assert option.split("=")[0] in err
