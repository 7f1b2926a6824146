"""ATen ops written as several canonical ops (composites.py): norms, weight norm, logsumexp,
glu, unfold/fold, aminmax, count_nonzero, polar, logsigmoid. Real models use them (SSD's L2Norm and Swin-v2 use
vector norms, wav2vec2 a weight-normalized convolution, RAFT-large ``F.unfold``)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import analyzer  # noqa: E402


class Mixed(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        norms = (
            F.normalize(x, dim=1)
            + torch.norm(x, p=1, dim=1, keepdim=True)
            + torch.linalg.vector_norm(x, ord=float("inf"), dim=1, keepdim=True)
            + torch.linalg.vector_norm(x, ord=3, dim=1, keepdim=True)
        )
        images = x[:, :, None, None].expand(2, 8, 4, 4).contiguous()
        folded = F.fold(F.unfold(images, 2), (4, 4), 2)
        low, high = torch.aminmax(x)
        rotary = torch.polar(x.abs(), x)  # Llama 4's complex rotary embedding
        return (norms, torch.logsumexp(x, dim=1), F.glu(x, dim=1), folded, low, high,
                torch.count_nonzero(x, dim=1), torch.isinf(x), torch.norm(x), rotary,
                F.logsigmoid(x))  # fmt: skip


def test_every_path_maps_them_alike(plugins) -> None:
    reports = {
        capture: analyzer.analyze(
            Mixed(), (2, 8), plugins=plugins, frontend_options={"capture": capture}
        )
        for capture in ("meta", "real", "export")
    }
    for report in reports.values():
        assert report.unsupported == []
        report.graph.validate()
    assert len({r.totals["flops"] for r in reports.values()}) == 1
    ops = [
        n.op
        for n in reports["meta"].graph.nodes()
        if n.source_op.startswith("aten.linalg_vector_norm")
    ]
    assert ops[:3] == [
        "square",
        "reduce_sum",
        "sqrt",
    ]  # F.normalize's 2-norm, as PyTorch computes it


def test_weight_norm_is_computed_from_its_two_parameters(plugins) -> None:
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(4, 6, 3))
    report = analyzer.analyze(conv.eval(), (1, 4, 10), plugins=plugins)
    assert report.unsupported == []
    assert report.totals["params"] == sum(p.numel() for p in conv.parameters())  # g, v, bias
    assert report.totals["macs"] == 6 * 8 * 4 * 3
    graph = report.graph
    (mul,) = [
        n for n in graph.nodes() if n.source_op.startswith("aten._weight_norm") and n.op == "mul"
    ]
    assert graph.shape(mul.outputs[0]) == (6, 4, 3)  # the weight the conv reads
