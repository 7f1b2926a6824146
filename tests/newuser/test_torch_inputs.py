"""A PyTorch model cast to another float dtype (model.half(), .to(torch.bfloat16), .double()) given an input shape."""

from __future__ import annotations

import pytest

import analyzer

torch = pytest.importorskip("torch")


def test_float32_model_with_a_shape() -> None:
    report = analyzer.analyze(torch.nn.Conv2d(3, 4, 3), (1, 3, 8, 8))
    assert report.totals["macs"] == 4 * 3 * 9 * 6 * 6


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float64"])
def test_cast_model_with_a_shape(dtype: str) -> None:
    model = torch.nn.Conv2d(3, 4, 3).to(getattr(torch, dtype))
    report = analyzer.analyze(model, (1, 3, 8, 8))
    assert report.totals["macs"] == 4 * 3 * 9 * 6 * 6
    assert (
        report.totals["model_size_bytes"]
        == (4 * 3 * 9 + 4) * torch.finfo(model.weight.dtype).bits // 8
    )
