"""Real-world models (real_models.CATALOG) through ``analyzer.analyze`` with default options.

Each model: parameters against ``sum(p.numel())`` (trainable, frozen and buffers
apart), MACs against an independent reference, and nothing unsupported.

The MAC reference is PyTorch's own ``FlopCounterMode`` on a real forward of
the tiny model, with the math attention backend (so attention is counted as
its two products), divided by 2. It does not count ``aten._grouped_mm``
(transformers' default MoE experts); there the experts are hand-counted from
the config: tokens x top-k x one expert's MACs per layer (docs/frontends/torch.md,
"Mixture of experts").
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import analyzer  # noqa: E402

from .real_models import CATALOG  # noqa: E402


def _call(model: torch.nn.Module, inputs: Any) -> Any:
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, tuple):
        return model(*inputs)
    return model(inputs)


def flop_counter_macs(model: torch.nn.Module, inputs: Any) -> int:
    """Off: MultiheadAttention's fused fast path, which FlopCounterMode does not count."""
    counter = FlopCounterMode(display=False)
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
            _call(model, inputs)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return counter.get_total_flops() // 2


def grouped_experts_macs(model: torch.nn.Module, inputs: Any) -> int:
    """Experts run through ``_grouped_mm`` (FlopCounterMode counts them 0): every token goes to
    top-k experts of gate+up (hidden -> 2 x intermediate) and down (intermediate -> hidden)."""
    c = getattr(model, "config", None)
    if getattr(c, "num_experts_per_tok", None) is None or c._experts_implementation == "eager":
        return 0
    tokens = inputs["input_ids"].numel()
    ffn = getattr(c, "moe_intermediate_size", None) or c.intermediate_size
    one_expert = c.hidden_size * 2 * ffn + ffn * c.hidden_size
    return c.num_hidden_layers * tokens * c.num_experts_per_tok * one_expert


def parameter_counts(model: torch.nn.Module) -> dict[str, int]:
    """What ``sum(p.numel())`` says, split as the report splits it (a step counter such as
    BatchNorm's ``num_batches_tracked`` is not a weight)."""
    params = list(model.parameters())
    return {
        "params": sum(p.numel() for p in params if p.requires_grad),
        "frozen": sum(p.numel() for p in params if not p.requires_grad),
        "buffers": sum(
            b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")
        ),
    }


@pytest.mark.parametrize("name", list(CATALOG))
def test_real_model_is_exact(plugins, name: str) -> None:
    model, inputs = CATALOG[name]()
    reference = flop_counter_macs(model, inputs) + grouped_experts_macs(model, inputs)
    expected = parameter_counts(model)

    report = analyzer.analyze(model, inputs, plugins=plugins)

    totals = report.totals
    assert totals["params"] == expected["params"]
    assert totals["buffers"] == expected["buffers"]
    assert totals["non_trainable_params"] == expected["frozen"] + expected["buffers"]
    assert (
        totals["total_params"] == sum(p.numel() for p in model.parameters()) + expected["buffers"]
    )
    assert totals["macs"] == reference > 0
    assert report.unsupported == []


@pytest.mark.parametrize("name", ["mixtral_grouped_mm", "qwen3_moe"])
def test_moe_experts_on_the_export_path(plugins, name: str) -> None:
    """Under torch.export transformers runs float32 experts through its own custom op
    (``transformers::grouped_mm_fallback``): the same grouped matmul, the same routed MACs."""
    model, inputs = CATALOG[name]()
    inputs = {**inputs, "use_cache": False}  # a DynamicCache output is not exportable
    reference = flop_counter_macs(model, inputs) + grouped_experts_macs(model, inputs)
    options = {"capture": "export"}
    report = analyzer.analyze(model, inputs, plugins=plugins, frontend_options=options)
    assert report.model["capture"] == "torch.export"
    assert report.totals["macs"] == reference
    assert report.unsupported == []
    sources = {n.source_op for n in report.graph.nodes() if n.op == "grouped_matmul"}
    assert sources == {"transformers.grouped_mm_fallback.default"}
