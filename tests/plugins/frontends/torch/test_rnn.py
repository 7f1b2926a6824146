"""Recurrent layers become one ``rnn`` node with the attributes the formulas read."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import analyzer  # noqa: E402

GATES = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_layers(plugins, cls, bidirectional):
    model = cls(16, 32, num_layers=2, batch_first=True, bidirectional=bidirectional)
    report = analyzer.analyze(model, (3, 7, 16), plugins=plugins)
    (node,) = [n for n in report.graph.nodes() if n.op == "rnn"]
    dirs = 2 if bidirectional else 1
    cell = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}[cls]
    assert {k: node.attrs[k] for k in ("cell", "input_size", "hidden_size", "num_layers", "steps", "batch", "n_biases")} == {
        "cell": cell, "input_size": 16, "hidden_size": 32, "num_layers": 2, "steps": 7, "batch": 3, "n_biases": 2,
    }  # fmt: skip
    assert node.attrs["bidirectional"] is bidirectional
    gates = GATES[cls]
    per_step = dirs * gates * 32 * (16 + 32) + dirs * gates * 32 * (32 * dirs + 32)
    assert report.totals["macs"] == per_step * 7 * 3
    assert report.totals["params"] == sum(p.numel() for p in model.parameters())
    biases = [p for p in report.graph.params.values() if p.role == "bias"]
    assert len(biases) == 2 * 2 * dirs


def test_unbatched_sequence_and_export(plugins):
    model = nn.LSTM(8, 12)
    meta = analyzer.analyze(model, (5, 8), plugins=plugins)
    exported = analyzer.analyze(
        model, (5, 8), plugins=plugins, frontend_options={"capture": "export"}
    )
    (node,) = [n for n in meta.graph.nodes() if n.op == "rnn"]
    assert (node.attrs["steps"], node.attrs["batch"]) == (5, 1)
    assert meta.totals["macs"] == exported.totals["macs"] == 4 * 12 * (8 + 12) * 5
