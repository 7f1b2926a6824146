"""Modules are analysed in eval mode by default (restored afterwards); train_mode keeps theirs."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import analyzer  # noqa: E402
from analyzer.cli import main  # noqa: E402

from .module_tree import assert_unchanged, fingerprint  # noqa: E402


def net(dropout: bool = True) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Flatten(), nn.Dropout(0.5) if dropout else nn.Identity(), nn.Linear(8 * 6 * 6, 10),
    )  # fmt: skip


def batch_norm_training(report) -> list[bool]:
    return [n.attrs.get("training") for n in report.graph.nodes() if n.op == "batch_norm"]


def test_a_fresh_module_is_analysed_in_eval_mode_and_left_in_training(plugins):
    model = net()
    assert model.training  # what nn.Module.__init__ gives
    before = fingerprint(model)
    report = analyzer.analyze(model, (2, 3, 8, 8), plugins=plugins)
    assert report.model["mode"] == "eval"
    assert batch_norm_training(report) == [False]  # running statistics, as Keras and Flax infer
    # Dropout counts nothing: the same FLOPs as the model without it (an independent graph)
    without = analyzer.analyze(net(dropout=False).eval(), (2, 3, 8, 8), plugins=plugins)
    assert report.totals["flops"] == without.totals["flops"]
    assert report.totals["macs"] == without.totals["macs"] == 2 * (8 * 3 * 9 * 36 + 288 * 10)
    assert model.training and all(m.training for m in model.modules())
    assert_unchanged(before, model)


def test_train_mode_keeps_the_modules_own_mode(plugins):
    model = net()
    options = {"train_mode": True}
    report = analyzer.analyze(model, (2, 3, 8, 8), plugins=plugins, frontend_options=options)
    assert report.model["mode"] == "train"
    assert batch_norm_training(report) == [True]
    evaluated = analyzer.analyze(model, (2, 3, 8, 8), plugins=plugins)
    # training-mode dropout is a multiply per element of its input (2 x 288 here)
    assert report.totals["flops"] > evaluated.totals["flops"]
    assert report.totals["macs"] == evaluated.totals["macs"]

    model.eval()
    report = analyzer.analyze(model, (2, 3, 8, 8), plugins=plugins, frontend_options=options)
    assert report.model["mode"] == "eval" and batch_norm_training(report) == [False]

    model.train()
    model[1].eval()  # frozen BatchNorm inside a training model, as detection fine-tuning does
    report = analyzer.analyze(model, (2, 3, 8, 8), plugins=plugins, frontend_options=options)
    assert report.model["mode"] == "mixed" and batch_norm_training(report) == [False]
    assert model.training and not model[1].training


@pytest.mark.parametrize("capture", ["export", "real"])
def test_every_path_uses_the_same_mode(plugins, capture):
    model = net()
    report = analyzer.analyze(model, (2, 3, 8, 8), plugins=plugins,
                              frontend_options={"capture": capture})  # fmt: skip
    assert report.model["mode"] == "eval" and batch_norm_training(report) == [False]
    assert model.training


def test_the_mode_is_in_the_table_header_and_the_json(tmp_path, capsys):
    spec = tmp_path / "nets.py"
    spec.write_text(
        "import torch.nn as nn\n"
        "def build():\n"
        "    return nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))\n"
    )
    assert main(["analyze", f"{spec}:build", "-i", "2,4"]) == 0
    header = capsys.readouterr().out.splitlines()
    assert any("eval mode" in line for line in header[:3])
    assert main(["analyze", f"{spec}:build", "-i", "2,4", "--train-mode", "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"]["mode"] == "train"
