"""``python -m analyzer sweep SWEEP.toml``: the command line of analyzer.sweep (docs/sweeps.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError

FORMATS = ("table", "json")
# the summary's columns and their headers (every row has every column in --output)
# (an MCU row shows the planner's arena instead of the graph-order peak of live activations)
SUMMARY_COLUMNS = {"latency_s": "latency", "throughput_per_s": "per s", "macs": "MACs", "params": "params",
                   "peak_live_activation_bytes": "peak act.", "arena_bytes": "arena", "model_size_bytes": "size",
                   "margin_bytes": "margin"}  # fmt: skip


def add_parser(subs: Any, parents: list[argparse.ArgumentParser]) -> None:
    from analyzer.cli import _positive_int as _positive  # the CLI's one check of a count

    s = subs.add_parser("sweep", parents=parents, help="analyse a family of models across devices and precisions",
                        description="Run a sweep file (docs/sweeps.md): every configuration x batch x precision x "
                        "device; prints the Pareto front of each device and writes every row to --output.")  # fmt: skip
    s.add_argument("sweep_file", metavar="SWEEP.toml", type=Path)
    s.add_argument("--output", "-o", type=Path, metavar="FILE", help="every row, as .csv or .parquet (resumable)")
    s.add_argument("--executor", default="local", choices=["local", "ray"], help="local process pool (default) or Ray")
    s.add_argument("--workers", type=_positive, metavar="N", help="local processes (default: one per core); "
                   "with a local Ray instance, its CPUs")  # fmt: skip
    s.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join (default: $RAY_ADDRESS, else a local instance)")
    s.add_argument("--top", type=_positive, metavar="K", help="also list the K fastest configurations that fit, per device")
    s.add_argument("--no-resume", action="store_true", help="recompute every row even if --output has it")
    s.add_argument("--retry-errors", action="store_true", help="run again the configurations that failed before")
    s.add_argument("--plot", type=Path, metavar="DIR", help="also write each device's scatter with its Pareto front "
                   "(PNG and SVG) into DIR; needs matplotlib (analyzer[plot])")  # fmt: skip
    s.add_argument("--format", "-f", default="table", metavar="{table,json}", help="summary format: table (default) or json")


def cmd_sweep(args: argparse.Namespace, plugins: Any) -> int:
    from analyzer.sweep import sweep

    if args.format not in FORMATS:
        raise UsageError(f"sweep: format {args.format!r} not available (table or json)")
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address applies to --executor ray")
    result = sweep(args.sweep_file, output=args.output, executor=args.executor, workers=args.workers,
                   ray_address=args.ray_address, resume=not args.no_resume, retry_errors=args.retry_errors,
                   top=args.top)  # fmt: skip
    if args.plot:
        from analyzer.sweep.plot import write_plots

        write_plots(result, args.plot)
    import sys

    sys.stdout.write(render_json(result) if args.format == "json" else render_table(result))
    if result.rows and all(r.get("error") for r in result.rows):
        first = result.errors[0]
        raise AnalysisError(f"every configuration failed ({len(result.rows)} rows); the first: {first['error']}")
    return 0


def _summary(result: Any) -> dict[str, Any]:
    plan = result.plan
    params = sorted({k for c in plan.configs for k in c}) or (["spec"] if plan.specs else [])
    return {
        "rows": len(result.rows), "errors": len(result.errors), "ran_tasks": result.ran, "skipped_tasks": result.skipped,
        "output": str(result.output) if result.output else None, "parameters": params,
        "pareto": [f"{c}:{s}" for c, s in plan.pareto],
        "fronts": {str(d): rows for d, rows in result.fronts.items()},
        "top": {str(d): rows for d, rows in result.top.items()},
        "first_errors": _distinct_errors(result.errors, 5),
    }  # fmt: skip


def _distinct_errors(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The first ``n`` different errors, each with the first configuration that had it and how many did."""
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = seen.setdefault(r["error"], {"config_id": r["config_id"], "error": r["error"], "rows": 0})
        entry["rows"] += 1
    return list(seen.values())[:n]


def render_json(result: Any) -> str:
    return json.dumps(_summary(result), indent=2, default=str) + "\n"


def render_table(result: Any) -> str:
    from rich.table import Table

    from analyzer.plugins.reporters.common import human, human_bytes, rich_text

    summary = _summary(result)
    plan = result.plan
    fixed = {p: plan.configs[0][p] for p in summary["parameters"]
             if plan.configs and len({repr(c.get(p)) for c in plan.configs}) == 1}  # fmt: skip
    params = [p for p in summary["parameters"] if p not in fixed]
    objectives = ", ".join(summary["pareto"])
    parts: list[Any] = [f"{plan.name or 'model'}, {len(plan.configs or plan.specs)} configurations"
                        + "".join(f"; {p} = {v!r}" for p, v in fixed.items())]  # fmt: skip
    blocks = [("Pareto front", result.fronts)] + ([(f"Top {result.top_k}", result.top)] if result.top else [])
    varying = [c for c, many in (("batch", len(plan.batches) > 1),
                                 ("weight_bits", len({p.weight_bits for p in plan.precisions}) > 1),
                                 ("activation_bits", len({p.activation_bits for p in plan.precisions}) > 1)) if many]  # fmt: skip
    for title, groups in blocks:
        for device, rows in groups.items():
            parts.append(f"{title} on {device or 'no device'} ({objectives}; among what fits):")
            if not rows:
                parts.append(_nothing_fits(result.rows, device, summary["parameters"], plan.pareto))
                continue
            t = Table(header_style="bold")
            shown = [c for c in SUMMARY_COLUMNS if any(r.get(c) is not None for r in rows)]
            if "arena_bytes" in shown:
                shown.remove("peak_live_activation_bytes")
            columns = [*params, *varying, *shown]
            for c in columns:
                t.add_column(SUMMARY_COLUMNS.get(c, c), justify="left" if c in params else "right")
            for row in rows:
                t.add_row(*(_cell(c, row.get(c), human, human_bytes) for c in columns))
            parts.append(t)
    lines = [f"{summary['rows']} rows, {summary['errors']} errors; ran {result.ran} tasks, skipped {result.skipped} "
             "done before" + (f"; every row in {result.output}" if result.output else "")]  # fmt: skip
    lines += [f"error in {e['config_id']} and {e['rows'] - 1} more rows: {e['error']}" if e["rows"] > 1
              else f"error in {e['config_id']}: {e['error']}" for e in summary["first_errors"]]  # fmt: skip
    return rich_text(*parts, *lines)


def _nothing_fits(rows: list[dict[str, Any]], device: Any, params: list[str], objectives: Any) -> str:
    """Why the front is empty: errors only, a missing objective, or the configuration that misses by the least."""
    mine = [r for r in rows if r.get("device") == device]
    ok = [r for r in mine if not r.get("error")]
    if not ok:
        return f"  no configuration has results ({len(mine)} rows, all errors)" if mine else "  no rows"
    missing = [c for c, _ in objectives if not any(isinstance(r.get(c), int | float) for r in ok)]
    if missing:
        why = " (no device given: latency, fit and margins come from devices)" if device is None else ""
        return f"  no row has {', '.join(missing)}{why}"
    missed = [r for r in ok if r.get("fits") is False and isinstance(r.get("margin_bytes"), int | float)]
    if not missed:
        return f"  no configuration fits ({len(ok)} rows)"
    from analyzer.plugins.reporters.common import human_bytes

    best = max(missed, key=lambda r: r["margin_bytes"])
    levels = [k.removesuffix("_margin_bytes") for k, v in best.items()
              if k.endswith("_margin_bytes") and isinstance(v, int | float) and v < 0]  # fmt: skip
    config = ", ".join(f"{p}={best.get(p)}" for p in params)
    which = f"the closest ({config})" if len(missed) > 1 else (f"it ({config})" if config else "it")
    return (f"  none of {len(mine)} fits; {which} is {human_bytes(-best['margin_bytes'])} over "
            f"in {', '.join(levels) or 'memory'}")  # fmt: skip


def _cell(column: str, value: Any, human: Any, human_bytes: Any) -> str:
    if value is None:
        return "native" if column.endswith("_bits") else "-"
    if column == "latency_s":
        return f"{value * 1e3:.3g} ms"
    if column.endswith("_bytes") and isinstance(value, int | float):
        return human_bytes(value)
    if column in ("macs", "params", "throughput_per_s") and isinstance(value, int | float):
        return human(value)
    return str(value)
