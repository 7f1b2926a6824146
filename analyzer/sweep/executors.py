"""Where tasks run: a local process pool (the default) or a Ray cluster.

Both yield ``(task, rows)`` as tasks finish, in completion order. A task's
own failure is already an error row (``run_task`` catches it); a worker that
dies (a crash in a framework's native code) makes its task an error row too,
and the sweep goes on.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
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
    """A pool of ``workers`` processes (spawned: a forked process may inherit a framework's locked threads).

    At most ``2 * workers`` tasks are in flight, so a sweep of thousands
    holds little in memory and a broken pool loses little.
    """
    if workers == 1:  # nothing to gain from a process: run in this one
        for task in tasks:
            yield task, run_task(plan, task)
        return
    pending = list(reversed(tasks))
    ctx = multiprocessing.get_context("spawn")
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        running: dict[Future[list[dict[str, Any]]], Task] = {}
        try:
            while pending or running:
                while pending and len(running) < 2 * workers:
                    task = pending.pop()
                    running[pool.submit(run_task, plan, task)] = task
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    try:
                        rows = future.result()
                    except BrokenProcessPool:
                        rows = error_rows(plan, task, plan.precisions, "the worker process died (a crash in native code?)")
                    except Exception as e:  # pickling a result, or similar: the task's problem
                        rows = error_rows(plan, task, plan.precisions, f"{type(e).__name__}: {e}")
                    yield task, rows
        except BrokenProcessPool:
            pass  # the remaining in-flight tasks: reported above; start a fresh pool for the rest
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for task in running.values():  # lost with the broken pool: run them again in the new one
            pending.append(task)


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
