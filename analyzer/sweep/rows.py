"""Result rows: one per (configuration, batch, precision, device), keyed for resumption.

A row holds the configuration's parameters, every total of the report, the
device's results (latency, throughput, energy, bound, fit and the margin at
each memory level) and ``error`` (None, or the one-line reason the
configuration has no results). ``key`` hashes everything the row depends on
(model source, options, configuration, batch, precision, device and the
analyzer's version), so a resumed sweep skips exactly the rows it has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from analyzer.sweep.plan import Precision, SweepPlan, Task


def version() -> str:
    from analyzer import __version__

    return __version__


def row_key(plan: SweepPlan, task: Task, precision: Precision, device: str | None) -> str:
    text = "|".join(map(str, (plan.source_id(), task.config_id, precision.weight_bits, precision.activation_bits,
                              device, version())))  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def task_keys(plan: SweepPlan, task: Task) -> list[str]:
    """The keys of every row ``task`` produces (its rows are all done when all these exist)."""
    return [row_key(plan, task, p, d) for p in plan.precisions for d in (plan.devices or (None,))]


def _head(plan: SweepPlan, task: Task, precision: Precision, device: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"key": row_key(plan, task, precision, device), "config_id": task.config_id,
                           "model": plan.name}  # fmt: skip
    if task.spec is not None:
        row["spec"] = task.spec
    row.update(task.params)
    row.update(batch=task.batch, weight_bits=precision.weight_bits, activation_bits=precision.activation_bits,
               device=device)  # fmt: skip
    return row


def error_rows(plan: SweepPlan, task: Task, precisions: Iterable[Precision], error: str) -> list[dict[str, Any]]:
    """Rows for a configuration without results: each carries the one-line error."""
    return [{**_head(plan, task, p, d), "error": error, "analyzer_version": version()}
            for p in precisions for d in (plan.devices or (None,))]  # fmt: skip


def report_rows(plan: SweepPlan, task: Task, precision: Precision, report: Any) -> list[dict[str, Any]]:
    """One row per device of ``report`` (one row without device columns when no device was asked)."""
    base_totals = {k: v for k, v in report.totals.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    batch = report.graph.batch_size() if report.graph is not None else task.batch
    common = {"model": report.model.get("name"), "batch": batch, "complete": report.completeness.complete}
    if not report.hardware:
        row = {**_head(plan, task, precision, None), **common, **base_totals}
        return [{**row, "error": None, "analyzer_version": version()}]
    rows = []
    for device, result in zip(plan.devices, report.hardware, strict=True):
        row = {**_head(plan, task, precision, device), **common, **base_totals}
        row.update(hardware_model=result.model, latency_s=result.latency_s,
                   throughput_per_s=result.throughput_per_s, energy_j=result.energy_j, bound=result.bound,
                   fits=result.fits)  # fmt: skip
        row.update(memory_columns(result.details.get("memory")))
        row.update(error=None, analyzer_version=version())
        rows.append(row)
    return rows


def memory_columns(memory: Any) -> dict[str, Any]:
    """``margin_bytes`` overall, ``<level>_margin_bytes`` per memory level the fit checked, ``arena_bytes``."""
    if not isinstance(memory, dict):
        return {}
    out: dict[str, Any] = {}
    if "required_bytes" in memory:
        out["required_bytes"] = memory["required_bytes"]
    if "margin_bytes" in memory:
        out["margin_bytes"] = memory["margin_bytes"]
    arena = memory.get("arena")
    if isinstance(arena, dict) and "arena_bytes" in arena:
        out["arena_bytes"] = arena["arena_bytes"]  # the MCU planner's activation arena (docs/hardware.md)
    for level, figures in memory.items():
        if isinstance(figures, dict) and "margin_bytes" in figures and "capacity_bytes" in figures:
            out[f"{level}_required_bytes"] = figures.get("required_bytes")
            out[f"{level}_margin_bytes"] = figures["margin_bytes"]
    if "margin_bytes" not in out:
        margins = [v for k, v in out.items() if k.endswith("_margin_bytes") and v is not None]
        if margins:
            out["margin_bytes"] = min(margins)  # the tightest level decides the fit
    return out
