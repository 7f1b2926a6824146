"""TorchScript modules: docs/frontends/torch.md (Limits) says they run, without scopes."""

from __future__ import annotations

import pytest

import analyzer

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_module_is_analyzed(how: str) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU())
    jitted = torch.jit.script(net) if how == "script" else torch.jit.trace(net, torch.randn(2, 8))
    report = analyzer.analyze(jitted, (2, 8))
    assert report.totals["params"] == 8 * 4 + 4
    assert report.totals["macs"] == 2 * 8 * 4
    assert any("TorchScript" in w for w in report.warnings)



@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_module_is_left_as_it_was(how: str) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.BatchNorm1d(4))
    jitted = torch.jit.script(net) if how == "script" else torch.jit.trace(net, torch.randn(2, 8))
    jitted.train()  # the analysis runs in eval mode and must give the module back in train mode
    before = {k: v.clone() for k, v in jitted.state_dict().items()}
    analyzer.analyze(jitted, (2, 8))
    assert jitted.training and all(m.training for m in jitted.modules())
    after = jitted.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
