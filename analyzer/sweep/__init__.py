"""Design-space sweeps: model configurations x devices x precisions x batch sizes (docs/sweeps.md).

    >>> from analyzer.sweep import sweep
    >>> result = sweep("examples/mobilenet_v2_sweep.toml", output="runs.parquet")
    >>> result.fronts["stm32f746"]          # the Pareto front of what fits

Each configuration is captured once and analysed for every precision and
device from that one graph. Tasks run in a local process pool by default or
on Ray (``executor="ray"``); results stream into a journal beside the output
so a stopped sweep resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.core.errors import UsageError
from analyzer.sweep import pareto, store
from analyzer.sweep.executors import EXECUTORS, default_workers, run_local, run_ray
from analyzer.sweep.plan import SweepPlan, Task, load_plan, plan_from_mapping
from analyzer.sweep.rows import task_keys

__all__ = ["SweepPlan", "SweepResult", "load_plan", "plan_from_mapping", "sweep"]


@dataclass
class SweepResult:
    """The rows of this sweep's plan (earlier runs' included when resumed), its fronts and top K."""

    plan: SweepPlan
    rows: list[dict[str, Any]]
    ran: int = 0  # tasks run now
    skipped: int = 0  # tasks whose rows an earlier run had
    output: Path | None = None
    fronts: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    top: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    top_k: int | None = None

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("error")]

    def to_dataframe(self) -> Any:
        try:
            import pandas as pd
        except ImportError:
            raise UsageError("to_dataframe() needs pandas: pip install 'analyzer[dataframe]'") from None
        return pd.DataFrame(self.rows)

    def __repr__(self) -> str:
        devices = ", ".join(str(d) for d in self.fronts) or "no device"
        return (f"<SweepResult {len(self.rows)} rows ({len(self.errors)} errors), ran {self.ran} tasks, "
                f"skipped {self.skipped}; fronts for {devices}>")  # fmt: skip


def sweep(
    plan: SweepPlan | Mapping[str, Any] | str | Path,
    *,
    output: str | Path | None = None,
    executor: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    resume: bool = True,
    retry_errors: bool = False,
    top: int | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Run a sweep (a plan, its mapping, or a sweep TOML file) and return its rows, fronts and top K.

    ``output`` (``.csv`` or ``.parquet``) receives every row; with ``resume``
    the rows it (or its journal) already has are not computed again, errors
    included unless ``retry_errors``. ``executor`` is ``"local"`` (a process
    pool of ``workers``, default one per core) or ``"ray"`` (``ray_address``,
    else ``RAY_ADDRESS``, else a local Ray instance).
    """
    if not isinstance(plan, SweepPlan):
        plan = plan_from_mapping(plan) if isinstance(plan, Mapping) else load_plan(plan)
    from analyzer.core.plugins import default_plugins

    plan.check(default_plugins())  # the workers load the same default plugin set
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r} (executors: {', '.join(EXECUTORS)})")
    if workers is not None and workers <= 0:
        raise UsageError("workers must be a positive integer")
    out = Path(output) if output is not None else None
    if out is not None:
        store.output_format(out)
    tasks = plan.tasks()
    previous = store.read_rows(out) if out is not None and resume else []
    if out is not None and not resume:
        store.journal_path(out).unlink(missing_ok=True)
    done = {r["key"] for r in previous if not (retry_errors and r.get("error"))}
    todo = [t for t in tasks if not set(task_keys(plan, t)) <= done]

    fresh: dict[str, dict[str, Any]] = {}
    journal = store.Journal(store.journal_path(out)) if out is not None and todo else None
    try:
        for _task, rows in _with_progress(_execute(plan, todo, executor, workers, ray_address), len(todo), progress):
            if journal is not None:
                journal.write(rows)
            fresh.update((r["key"], r) for r in rows)
    finally:
        if journal is not None:
            journal.close()

    by_key = {r["key"]: r for r in previous if r["key"] not in fresh} | fresh
    if out is not None:
        store.write_rows(out, list(by_key.values()))
    order = [k for t in tasks for k in task_keys(plan, t)]
    rows = store.uniform([by_key[k] for k in order if k in by_key])  # as in the file: every row every column
    k = top or plan.top
    return SweepResult(
        plan=plan, rows=rows, ran=len(todo), skipped=len(tasks) - len(todo), output=out,
        fronts=pareto.fronts(rows, plan.pareto), top=pareto.top(rows, k, plan.pareto) if k else {}, top_k=k,
    )  # fmt: skip


def _execute(plan: SweepPlan, tasks: list[Task], executor: str, workers: int | None,
             ray_address: str | None) -> Iterator[tuple[Task, list[dict[str, Any]]]]:  # fmt: skip
    if not tasks:
        return iter(())
    if executor == "ray":
        return run_ray(plan, tasks, ray_address, workers)
    return run_local(plan, tasks, min(workers or default_workers(), len(tasks)))


def _with_progress(results: Iterator[Any], total: int, show: bool | None) -> Iterator[Any]:
    """Advance the bar as each task's rows arrive (results come in completion order)."""
    from analyzer.core.progress import track

    yield from track(results, total, "sweep", show)
