"""A decoder-only transformer with Llama-2-70B's dimensions, analyzed weight-free.

80 layers, d_model 8192, 64 query heads, 8 key/value heads (GQA), SwiGLU FFN
28672, vocab 32000, RMSNorm, rotary embeddings, sequence 2048. The model is
built under ``torch.device("meta")``: its ~69e9 parameters (276 GB at fp32)
are never allocated, and the meta-tensor trace computes nothing.

Prints wall time (build, capture, metrics) and the process's peak RSS.

    .venv/bin/python bench/llama70b.py [--seq 2048] [--layers 80]
"""

from __future__ import annotations

import argparse
import resource
import time

import torch
import torch.nn.functional as F
from torch import nn

import analyzer
from analyzer.core.engine import analyze_graph, to_graph


class Rotary(nn.Module):
    def __init__(self, head_dim: int, base: float = 10000.0):
        super().__init__()
        self.register_buffer(
            "inv_freq",
            1.0 / base ** (torch.arange(0, head_dim, 2).float() / head_dim),
            persistent=False,
        )

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = torch.arange(q.shape[-2], device=q.device, dtype=self.inv_freq.dtype)
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(q.dtype), emb.sin().to(q.dtype)

        def rotate(x: torch.Tensor) -> torch.Tensor:
            x1, x2 = x.chunk(2, dim=-1)
            return x * cos + torch.cat((-x2, x1), dim=-1) * sin

        return rotate(q), rotate(k)


class Attention(nn.Module):
    def __init__(self, d: int, heads: int, kv_heads: int):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, d // heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.rotary = Rotary(self.head_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q = self.q_proj(x).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = self.rotary(q, k)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.o_proj(y.transpose(1, 2).reshape(b, n, d))


class MLP(nn.Module):
    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.gate_proj = nn.Linear(d, hidden, bias=False)
        self.up_proj = nn.Linear(d, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, d: int, heads: int, kv_heads: int, hidden: int):
        super().__init__()
        self.input_layernorm = nn.RMSNorm(d, eps=1e-5)
        self.self_attn = Attention(d, heads, kv_heads)
        self.post_attention_layernorm = nn.RMSNorm(d, eps=1e-5)
        self.mlp = MLP(d, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, layers: int = 80, d: int = 8192, heads: int = 64, kv_heads: int = 8, hidden: int = 28672,
                 vocab: int = 32000):  # fmt: skip
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(Block(d, heads, kv_heads, hidden) for _ in range(layers))
        self.norm = nn.RMSNorm(d, eps=1e-5)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--layers", type=int, default=80)
    args = p.parse_args()

    t0 = time.perf_counter()
    with torch.device("meta"):
        model = Llama(layers=args.layers).eval()
    t1 = time.perf_counter()
    graph = to_graph(model, [analyzer.Tensor("ids", (1, args.seq), "int64")])
    t2 = time.perf_counter()
    report = analyze_graph(graph)
    t3 = time.perf_counter()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

    expected = sum(p.numel() for p in model.parameters())
    tot = report.totals
    assert tot["params"] == expected, (tot["params"], expected)
    assert all(p.device.type == "meta" for p in model.parameters())
    print(
        f"Llama-2-70B shape: {args.layers} layers, seq {args.seq}, capture {graph.meta['capture']}"
    )
    print(f"  params       {tot['params']:,} (= sum(p.numel()) over the module)")
    print(f"  MACs         {tot['macs']:,}")
    print(f"  FLOPs        {tot['flops']:,}")
    print(
        f"  nodes        {len(graph):,}, layers {len(report.layers):,}, unsupported {report.unsupported}"
    )
    print(f"  build (meta) {t1 - t0:.2f} s")
    print(f"  capture      {t2 - t1:.2f} s")
    print(f"  metrics      {t3 - t2:.2f} s")
    print(f"  total        {t3 - t0:.2f} s wall")
    print(
        f"  peak RSS     {rss_mib:,.0f} MiB (weights at fp32 would be {expected * 4 / 2**30:,.0f} GiB)"
    )


if __name__ == "__main__":
    main()
