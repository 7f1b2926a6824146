"""`--option METRIC.KEY=VALUE` should refuse what the equivalent dedicated flag refuses (docs/errors.md)."""

from __future__ import annotations

import pytest

from analyzer.cli import main


def test_the_dedicated_flag_refuses_a_zero_batch(capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "--train-batch", "0"]) == 2
    assert "positive integer" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-3"])
def test_option_train_batch_must_be_positive(value: str, capsys: pytest.CaptureFixture) -> None:
    code = main(
        [
            "analyze",
            "analyzer.zoo:tiny_cnn",
            "--option",
            f"training_memory.train_batch={value}",
            "-f",
            "json",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, "accepted"
    assert "train_batch" in err and "\n" not in err.strip()
