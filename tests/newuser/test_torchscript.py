"""TorchScript modules: docs/frontends/torch.md (Limits) says they run, without scopes."""

from __future__ import annotations

import pytest

import analyzer

torch = pytest.importorskip("torch")


@pytest.mark.xfail(
    strict=True,
    reason="script: 'torch frontend could not convert the model: KeyError: 0'; trace: 'The stateless "
    "API can't be used with Jitted modules' reported as an error of the model",
)
@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_module_is_analyzed(how: str) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU())
    jitted = torch.jit.script(net) if how == "script" else torch.jit.trace(net, torch.randn(2, 8))
    report = analyzer.analyze(jitted, (2, 8))
    assert report.totals["params"] == 8 * 4 + 4
    assert report.totals["macs"] == 2 * 8 * 4
