"""Where tasks run: a local process pool (the default) or a Ray cluster.

Both yield ``(task, rows)`` as tasks finish, in completion order. A task's
own failure is already an error row (``run_task`` catches it); a worker that
dies (a crash in a framework's native code) makes its task an error row too,
and the sweep goes on.
"""

from __future__ import annotations

import ast
import importlib.util
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from analyzer.core.errors import UsageError
from analyzer.sweep.plan import SweepPlan, Task
from analyzer.sweep.rows import error_rows
from analyzer.sweep.tasks import run_task

Results = Iterator[tuple[Task, list[dict[str, Any]]]]
EXECUTORS = ("local", "ray")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_local(plan: SweepPlan, tasks: Sequence[Task], workers: int) -> Results:
    """A pool of ``workers`` processes (started by ``_context``), fed batches of tasks.

    A batch is a few tasks (about an eighth of a worker's share, at most 16): one round trip
    per batch instead of per task, results still streaming back batch by batch. At most
    ``2 * workers`` batches are in flight, so a sweep of thousands holds little in memory and a
    broken pool loses little.
    """
    if workers == 1:  # nothing to gain from a process: run in this one
        for task in tasks:
            yield task, run_task(plan, task)
        return
    size = max(1, min(16, len(tasks) // (workers * 8)))
    pending = [list(tasks[i : i + size]) for i in range(0, len(tasks), size)][::-1]
    ctx = _context(plan)
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        running: dict[Future[list[list[dict[str, Any]]]], list[Task]] = {}
        try:
            while pending or running:
                while pending and len(running) < 2 * workers:
                    batch = pending.pop()
                    running[pool.submit(run_batch, plan, batch)] = batch
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = running.pop(future)
                    try:
                        results = future.result()
                    except BrokenProcessPool:
                        why = "the worker process died (a crash in native code?)"
                        results = [error_rows(plan, t, plan.precisions, why) for t in batch]
                    except Exception as e:  # pickling a result, or similar: the tasks' problem
                        results = [error_rows(plan, t, plan.precisions, f"{type(e).__name__}: {e}") for t in batch]
                    yield from zip(batch, results, strict=True)
        except BrokenProcessPool:
            pass  # the in-flight batches were reported above; a fresh pool runs the rest
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        pending.extend(running.values())  # lost with the broken pool: run them again in the new one


def run_batch(plan: SweepPlan, batch: list[Task]) -> list[list[dict[str, Any]]]:
    """Each task's rows (``run_task`` never raises for a model's failure)."""
    return [run_task(plan, task) for task in batch]


def _context(plan: SweepPlan) -> Any:
    """``forkserver`` where there is one (Linux, macOS): a fresh single-threaded server imports the
    analyzer (and the factory's module) once and forks each worker from it, so workers start in
    milliseconds and never inherit a framework's threads (a plain fork of this process could:
    JAX, OpenMP); ``spawn`` elsewhere. ``ANALYZER_SWEEP_START_METHOD`` overrides it."""
    method = os.environ.get("ANALYZER_SWEEP_START_METHOD")
    if method is None:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        preload = ["analyzer.sweep.tasks", "analyzer.core.engine", "analyzer.plugins", *_frameworks_of(plan)]
        ctx.set_forkserver_preload(preload)
    return ctx


FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "flax", "equinox")


def _frameworks_of(plan: SweepPlan) -> list[str]:
    """The frameworks the factory imports, at its module's top level or inside the factory itself
    (factories import lazily), so the fork server imports each once instead of every worker on
    its first task. The source is parsed, not run."""
    if not plan.factory:
        return []
    module_ref, _, attr = plan.factory.rpartition(":")
    if module_ref.endswith(".py") or "/" in module_ref:
        path: Path | None = Path(module_ref) if Path(module_ref).is_absolute() else plan.base_dir / module_ref
    else:
        spec = importlib.util.find_spec(module_ref) if module_ref else None
        path = Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None
    try:
        tree = ast.parse(path.read_text()) if path is not None else None
    except (OSError, SyntaxError, ValueError):
        return []
    if tree is None:
        return []
    scopes: list[ast.AST] = [n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    scopes += [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == attr.split(".")[0]]
    found: dict[str, None] = {}
    for scope in scopes:
        for node in ast.walk(scope):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])  # fmt: skip
            for name in names:
                top = name.split(".")[0]
                if top in FRAMEWORKS:
                    found.setdefault(top)
    return [f for f in found if importlib.util.find_spec(f) is not None]


def run_ray(plan: SweepPlan, tasks: Sequence[Task], address: str | None, workers: int | None) -> Results:
    """Ray tasks on the cluster at ``address`` (or ``RAY_ADDRESS``); with neither, a local Ray instance."""
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'analyzer[ray]'") from None
    address = address or os.environ.get("RAY_ADDRESS") or None
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None and workers:
            kwargs["num_cpus"] = workers
        try:
            ray.init(address=address, **kwargs)
        except Exception as e:
            where = address or "a local instance"
            raise UsageError(f"--executor ray: cannot connect to {where}: {type(e).__name__}: {e}") from None
        started = True
    remote = ray.remote(num_cpus=1)(run_task)
    try:
        plan_ref = ray.put(plan)
        refs = {remote.remote(plan_ref, task): task for task in tasks}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                task = refs[ref]
                try:
                    rows = ray.get(ref)
                except Exception as e:  # the worker died, or the task could not be shipped
                    rows = error_rows(plan, task, plan.precisions, f"ray: {type(e).__name__}: {' '.join(str(e).split())[:200]}")
                yield task, rows
    finally:
        if started:
            ray.shutdown()
