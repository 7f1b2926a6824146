"""The sweep view: per device, every configuration's latency against MACs, the Pareto front highlighted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.sweep import pareto


def scatter(result: Any, device: Any) -> Any:
    """Latency (x, log) against the front's second objective, for one device; what does not fit in grey."""
    from analyzer.plugins.reporters.plots import _figure

    (x_col, _), (y_col, _) = result.plan.pareto[0], result.plan.pareto[1]
    rows = [r for r in result.rows if r.get("device") == device and not r.get("error")
            and isinstance(r.get(x_col), int | float) and isinstance(r.get(y_col), int | float)]  # fmt: skip
    front = result.fronts.get(device, [])
    fig = _figure()
    ax = fig.add_subplot()
    fits = [r for r in rows if r.get("fits") is not False]
    misses = [r for r in rows if r.get("fits") is False]
    ax.scatter([r[x_col] for r in fits], [r[y_col] for r in fits], color="tab:blue", alpha=0.6,
               label=f"fits ({len(fits)})")  # fmt: skip
    if misses:
        ax.scatter([r[x_col] for r in misses], [r[y_col] for r in misses], color="grey", marker="x", alpha=0.6,
                   label=f"does not fit ({len(misses)})")  # fmt: skip
    if front:
        ax.plot([r[x_col] for r in front], [r[y_col] for r in front], color="tab:red", marker="o",
                label=f"Pareto front ({len(front)})")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_label(x_col))
    ax.set_ylabel(_label(y_col))
    ax.set_title(f"Sweep: {result.plan.name or 'model'} on {device}")
    ax.legend(fontsize=8)
    return fig


def _label(column: str) -> str:
    return {"latency_s": "latency (s)", "macs": "MACs", "params": "parameters"}.get(column, column)


def write_plots(result: Any, directory: str | Path) -> list[Path]:
    """``sweep-<device>.png`` and ``.svg`` for every device of the sweep."""
    from analyzer.plugins.reporters.plots import _safe, save_figures

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    devices = list(pareto.by_device(result.rows))
    return save_figures({f"sweep-{_safe(str(d))}": scatter(result, d) for d in devices}, directory)
