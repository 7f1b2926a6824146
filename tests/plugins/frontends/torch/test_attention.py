"""Attention is counted whatever path PyTorch takes: SDPA, ``@``, MultiheadAttention's fused kernel."""

from __future__ import annotations

import contextlib

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import analyzer  # noqa: E402

MODES = {
    "train": (True, contextlib.nullcontext),
    "eval": (False, contextlib.nullcontext),
    "no_grad": (False, torch.no_grad),
    "inference_mode": (False, torch.inference_mode),
}


@pytest.mark.parametrize("mode", MODES)
def test_transformer_encoder_layer_in_every_mode(plugins, mode):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        512, 8, batch_first=True
    )  # real weights: the fast path is reachable
    training, context = MODES[mode]
    layer.train(training)
    with context():
        report = analyzer.analyze(layer, torch.randn(1, 128, 512), plugins=plugins)
    assert report.totals["params"] == 3_152_384 == sum(p.numel() for p in layer.parameters())
    assert report.totals["macs"] == 419_430_400
    ops = [n.op for n in report.graph.nodes()]
    assert ops.count("attention") == 1 and ops.count("linear") == 4
    assert torch.backends.mha.get_fastpath_enabled()  # restored after the capture


def test_transformer_encoder_layer_through_export_matches(plugins):
    layer = nn.TransformerEncoderLayer(512, 8, batch_first=True).eval()
    report = analyzer.analyze(
        layer, (1, 128, 512), plugins=plugins, frontend_options={"capture": "export"}
    )
    assert report.model["capture"] == "torch.export"
    assert (report.totals["params"], report.totals["macs"]) == (3_152_384, 419_430_400)


class Block(nn.Module):
    """Self-attention written by hand, with SDPA or with ``@`` and softmax."""

    def __init__(self, d: int = 64, heads: int = 4, fused: bool = True):
        super().__init__()
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.heads, self.fused = heads, fused

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if self.fused:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            a = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
            if mask is not None:
                a = a + mask
            y = a.softmax(-1) @ v
        return self.out(y.transpose(1, 2).reshape(b, n, d))


@pytest.mark.parametrize("masked", [False, True])
def test_sdpa_and_matmul_attention_give_equal_macs(plugins, masked):
    b, n, d = 2, 16, 64
    inputs = {"x": (b, n, d), "mask": (n, n)} if masked else (b, n, d)
    fused = analyzer.analyze(Block(fused=True), inputs, plugins=plugins)
    manual = analyzer.analyze(Block(fused=False), inputs, plugins=plugins)
    expected = b * n * d * 3 * d + 2 * b * n * n * d + b * n * d * d
    assert fused.totals["macs"] == manual.totals["macs"] == expected
    assert (
        fused.totals["params"]
        == manual.totals["params"]
        == sum(p.numel() for p in Block().parameters())
    )
    attention = [node for node in fused.graph.nodes() if node.op == "attention"]
    assert len(attention) == 1 and len(attention[0].inputs) == (4 if masked else 3)
    assert [node.op for node in manual.graph.nodes()].count("matmul") == 2


def test_causal_and_grouped_query_attention(plugins):
    class GQA(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)

    graph = analyzer.to_graph(
        GQA(), [(1, 8, 32, 16), (1, 2, 32, 16), (1, 2, 32, 16)], plugins=plugins
    )
    (node,) = graph.nodes()
    assert node.op == "attention" and node.attrs["is_causal"] and node.attrs["enable_gqa"]
    report = analyzer.analyze(graph, plugins=plugins)
    assert report.totals["macs"] == 8 * 32 * 32 * (16 + 16)


class MHA(nn.Module):
    def __init__(self, native: bool, need_weights: bool = True):
        super().__init__()
        self.mha = nn.MultiheadAttention(64, 4, batch_first=True)
        self.native, self.need_weights = native, need_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.mha
        if self.native:  # the fused kernel the inference fast path calls
            return torch._native_multi_head_attention(
                x,
                x,
                x,
                64,
                4,
                m.in_proj_weight,
                m.in_proj_bias,
                m.out_proj.weight,
                m.out_proj.bias,
                need_weights=False,
            )[0]
        return m(x, x, x, need_weights=self.need_weights)[0]


def test_multihead_attention_fused_kernel_and_module_agree(plugins):
    b, n, e = 2, 16, 64
    expected = 3 * b * n * e * e + 2 * b * n * n * e + b * n * e * e
    for model in (MHA(native=True), MHA(native=False), MHA(native=False, need_weights=False)):
        with torch.no_grad():
            report = analyzer.analyze(model.eval(), (b, n, e), plugins=plugins)
        assert report.totals["macs"] == expected
        assert report.totals["params"] == 4 * e * e + 4 * e
        assert report.unsupported == []
