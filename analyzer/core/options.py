"""Options of one analysis: every convention switch in one typed place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from analyzer.core.errors import UsageError


@dataclass(frozen=True)
class AnalysisOptions:
    """Conventions and switches; the defaults are documented in docs/metrics.md.

    - ``bias``: count bias parameters (the lecture ignores them: ``bias=False``).
    - ``exact_flops``: count ``2n-1`` FLOPs per length-n dot product instead of ``2n``.
    - ``weight_bits``: one bit width for every weight (model size), e.g. 8.
    - ``layer_bits``: per-layer bit widths, ``{"glob-pattern": bits}``; the
      first pattern matching a layer name (fnmatch) wins over ``weight_bits``.
    - ``activation_bits``: bit width of activations (default: each tensor's dtype).
    - ``strict``: fail when any op is unsupported.
    - ``naive_traffic``: memory bytes from the lecture's naive access model
      (one input read per MAC) instead of the fused-layer model.
    - ``optimizer``/``train_batch``: for the training-memory estimate.
    - ``metric_options``: free-form options for third-party metrics, by metric name.
    - ``hardware``: options of the hardware models (see docs/hardware.md).
    """

    bias: bool = True
    exact_flops: bool = False
    weight_bits: int | None = None
    layer_bits: Mapping[str, int] = field(default_factory=dict)
    activation_bits: int | None = None
    strict: bool = False
    naive_traffic: bool = False
    optimizer: str = "adam"
    train_batch: int | None = None
    metric_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    hardware: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> AnalysisOptions:
        """Build from ``analyze(**options)``; an unknown keyword is a UsageError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise UsageError(f"unknown option {unknown[0]!r}; known options: {', '.join(sorted(known))}")
        opts = cls(**kwargs)
        for name in ("weight_bits", "activation_bits"):
            v = getattr(opts, name)
            if v is not None and (not isinstance(v, int) or v <= 0):
                raise UsageError(f"{name} must be a positive integer, got {v!r}")
        return opts
