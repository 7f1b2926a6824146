"""PyTorch models exported with torch.onnx.export as docs/frontends/onnx.md does (do_constant_folding=False)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import analyzer

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")


def export(model, args, path: Path, fold: bool) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), args, str(path), dynamo=False, do_constant_folding=fold)
    return path


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "unfolded"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_exported_rnn_gives_torch_numbers(
    tmp_path: Path, kind: str, fold: bool, request: pytest.FixtureRequest
) -> None:
    model = getattr(torch.nn, kind)(8, 12, 1, batch_first=True)
    path = export(model, (torch.randn(1, 5, 8),), tmp_path / "rnn.onnx", fold)
    ours = analyzer.analyze(path)
    ref = analyzer.analyze(model, (1, 5, 8))
    assert ours.totals["params"] == sum(p.numel() for p in model.parameters())
    assert ours.totals["macs"] == ref.totals["macs"] > 0


def test_freshly_initialised_model_gives_torch_params(tmp_path: Path) -> None:
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8)
    )
    path = export(model, (torch.randn(1, 3, 8, 8),), tmp_path / "fresh.onnx", fold=False)
    ours = analyzer.analyze(path)
    assert ours.totals["params"] == sum(p.numel() for p in model.parameters())
    assert ours.totals["non_trainable_params"] == 2 * 8 + 2 * 8  # running mean and var of both BNs
