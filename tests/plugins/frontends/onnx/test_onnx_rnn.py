"""LSTM, GRU (bidirectional) and RNN exported from PyTorch: the module's params, MACs, activations."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import analyzer  # noqa: E402
from tests.plugins.frontends.onnx.exports import export  # noqa: E402


class Recurrent(torch.nn.Module):
    def __init__(self, cell: str):
        super().__init__()
        bidirectional = cell == "GRU"
        self.rnn = getattr(torch.nn, cell)(16, 32, batch_first=True, bidirectional=bidirectional)
        self.fc = torch.nn.Linear(32 * (2 if bidirectional else 1), 4)

    def forward(self, x):
        return self.fc(self.rnn(x)[0])


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers(cell, tmp_path):
    torch.manual_seed(0)
    model = Recurrent(cell).eval()
    report = analyzer.analyze(export(model, (2, 10, 16), tmp_path / f"{cell}.onnx", fold=True))
    ref = analyzer.analyze(model, (2, 10, 16))
    assert report.unsupported == []
    assert "rnn" in [n.op for n in report.graph.nodes()]
    for q in ("params", "macs", "total_activations"):
        assert report.totals[q] == ref.totals[q], q
