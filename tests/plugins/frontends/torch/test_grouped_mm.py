"""``torch._grouped_mm``: mixture-of-experts layers as transformers 5 runs them by default.

Tokens are sorted by expert, ``histc`` counts them per expert and one
grouped matmul runs every expert on its own rows. The MACs are the routed
ones, rows x k x n, on meta tensors as on real ones (docs/frontends/torch.md,
"Mixture of experts"); FlopCounterMode does not count this op, so the
reference is the hand count.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import analyzer  # noqa: E402
from analyzer.core.errors import AnalysisError  # noqa: E402

HIDDEN, FFN, EXPERTS, TOP_K = 16, 24, 4, 2


class Experts(torch.nn.Module):
    """transformers' grouped_mm experts, reduced: top-k routing, gate/up then down projections."""

    def __init__(self) -> None:
        super().__init__()
        self.router = torch.nn.Linear(HIDDEN, EXPERTS, bias=False)
        self.up = torch.nn.Parameter(torch.randn(EXPERTS, 2 * FFN, HIDDEN) * 0.1)
        self.down = torch.nn.Parameter(torch.randn(EXPERTS, HIDDEN, FFN) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights, experts = self.router(x).softmax(-1).topk(TOP_K, dim=-1)
        ids, order = torch.sort(experts.reshape(-1))
        rows = x[order // TOP_K]
        per_expert = torch.histc(ids.float(), bins=EXPERTS, min=0, max=EXPERTS - 1)
        offsets = torch.cumsum(per_expert, dim=0, dtype=torch.int32)
        gate, up = torch._grouped_mm(rows, self.up.transpose(-2, -1), offsets).chunk(2, dim=-1)
        out = torch._grouped_mm(
            torch.nn.functional.silu(gate) * up, self.down.transpose(-2, -1), offsets
        )
        out = out * weights.reshape(-1)[order, None]
        return torch.zeros_like(x).index_add_(0, order // TOP_K, out)


def routed_macs(tokens: int) -> int:
    router = tokens * HIDDEN * EXPERTS
    one_expert = HIDDEN * 2 * FFN + FFN * HIDDEN
    return router + tokens * TOP_K * one_expert


@pytest.mark.parametrize("capture", ["meta", "real"])
def test_routed_macs_on_every_path(plugins, capture: str) -> None:
    torch.manual_seed(0)
    model = Experts().eval()
    report = analyzer.analyze(
        model, (10, HIDDEN), plugins=plugins, frontend_options={"capture": capture}
    )
    assert report.model["capture"] == f"torch.dispatch({capture})"
    assert report.totals["macs"] == routed_macs(10)
    assert report.unsupported == []
    grouped = [n for n in report.graph.nodes() if n.op == "grouped_matmul"]
    assert [n.inputs[1] for n in grouped] == ["up", "down"]  # the stacked expert weights, not views
    assert report.totals["params"] == sum(p.numel() for p in model.parameters())


def test_meta_weights_in_bfloat16_too(plugins) -> None:
    with torch.device("meta"):
        model = Experts().to(torch.bfloat16)
    x = torch.empty(6, HIDDEN, dtype=torch.bfloat16, device="meta")
    assert analyzer.analyze(model, x, plugins=plugins).totals["macs"] == routed_macs(6)


class Grouped(torch.nn.Module):
    def __init__(self, b: torch.Tensor, offsets: torch.Tensor | None):
        super().__init__()
        self.b = torch.nn.Parameter(b)
        self.offsets = offsets

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return torch._grouped_mm(a, self.b, self.offsets)


OFFS = torch.tensor([2, 5, 8], dtype=torch.int32)
WRONG = {
    "contraction": (torch.zeros(3, 12, 4), OFFS, (8, 8)),
    "groups": (torch.zeros(2, 8, 4), OFFS, (8, 8)),
    "offsets_dtype": (torch.zeros(3, 8, 4), OFFS.long(), (8, 8)),
    "offsets_missing": (torch.zeros(3, 8, 4), None, (8, 8)),
    "dtype": (torch.zeros(3, 8, 4, dtype=torch.float64), OFFS, (8, 8)),
    "mixed_dtypes": (torch.zeros(3, 8, 8, dtype=torch.bfloat16), OFFS, (8, 8)),
    "alignment": (torch.zeros(3, 8, 5), OFFS, (8, 8)),  # rows of 5 floats: 20 bytes
}


@pytest.mark.parametrize("case", list(WRONG))
def test_wrong_operands_raise_the_cpu_kernels_message(plugins, case: str) -> None:
    b, offsets, shape = WRONG[case]
    model = Grouped(b, offsets)
    with pytest.raises(RuntimeError) as real:
        model(torch.zeros(shape))
    with pytest.raises(AnalysisError) as err:  # a float32 tensor (a bare shape takes the weights' dtype)
        analyzer.analyze(model, torch.zeros(shape), plugins=plugins)
    assert str(real.value).splitlines()[0] in str(err.value)
