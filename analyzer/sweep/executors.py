"""Where tasks run: a local process pool (the default) or a Ray cluster.

Both yield ``(task, rows)`` as tasks finish, in completion order. A task's
own failure is already an error row (``run_task`` catches it); a worker that
dies (a crash in a framework's native code) makes its task an error row too,
and the sweep goes on.
"""

from __future__ import annotations

import ast
import gc
import importlib.util
import multiprocessing
import os
import pkgutil
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

    One round trip per batch instead of per task, results still streaming back batch by
    batch. Batches shrink as the sweep drains (a quarter of each worker's share of what is
    left, 1 to 16 tasks), so no worker is left with a long batch while the other idles at
    the end. At most ``2 * workers`` batches are in flight, so a sweep of thousands holds little
    in memory and a broken pool loses little.
    """
    if workers == 1:  # nothing to gain from a process: run in this one
        yield from _in_process(plan, tasks)
        return
    pending = list(tasks)[::-1]  # popped from the end: in plan order
    ctx = _context(plan)
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        running: dict[Future[list[list[dict[str, Any]]]], list[Task]] = {}
        try:
            while pending or running:
                while pending and len(running) < 2 * workers:
                    size = max(1, min(16, len(pending) // (workers * 4)))
                    batch = [pending.pop() for _ in range(min(size, len(pending)))]
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
        for batch in running.values():  # lost with the broken pool: run them again in the new one
            pending.extend(batch[::-1])


def _in_process(plan: SweepPlan, tasks: Sequence[Task]) -> Results:
    """Every task in this process. After the first (which imports what the rest need: torch and
    its export machinery), what the process holds is kept out of the collector's sight until
    the sweep ends, as the fork server does for the pool's workers: the collections of a long
    sweep no longer walk a framework's million objects (PyTorch MobileNetV2: 47 -> 38 ms a
    task). A caller that froze objects itself (``gc.freeze``) is left to manage its own."""
    own = gc.get_freeze_count() == 0
    try:
        for i, task in enumerate(tasks):
            yield task, run_task(plan, task)
            if i == 0 and own:
                gc.freeze()
    finally:
        if own:
            gc.unfreeze()


_WORKER_FROZEN = False  # in a pool worker: its objects frozen after its first batch


def run_batch(plan: SweepPlan, batch: list[Task]) -> list[list[dict[str, Any]]]:
    """Each task's rows (``run_task`` never raises for a model's failure).

    After a worker's first batch, what it imported there (a framework the fork server could not
    preload) is frozen out of the collector's sight, as in ``_in_process``."""
    global _WORKER_FROZEN
    rows = [run_task(plan, task) for task in batch]
    if not _WORKER_FROZEN:
        gc.freeze()
        _WORKER_FROZEN = True
    return rows


def _context(plan: SweepPlan) -> Any:
    """``forkserver`` where there is one (Linux, macOS): a fresh single-threaded server imports the
    analyzer, its plugins, the factory's framework and the analyzer's frontend for it once and
    forks each worker from it, so workers start warm in milliseconds and never inherit a
    framework's threads (a plain fork of this process could: JAX, OpenMP); ``spawn`` elsewhere.
    ``ANALYZER_SWEEP_START_METHOD`` overrides it."""
    method = os.environ.get("ANALYZER_SWEEP_START_METHOD")
    if method is None:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(_forkserver_preload(preload_modules(plan)))
    return ctx


WARM = "analyzer.sweep.warm"
_SERVER_PRELOAD: list[str] = []  # what the running fork server (one per process) imported at its start


def _forkserver_preload(wanted: list[str]) -> list[str]:
    """The fork server is started once per process and imports its preload list only then; a
    later sweep that needs more (another framework) stops it, so the next pool starts one that
    imports what both need."""
    from multiprocessing import forkserver

    global _SERVER_PRELOAD
    if set(wanted) <= set(_SERVER_PRELOAD):
        return _SERVER_PRELOAD
    server = getattr(forkserver, "_forkserver", None)
    if _SERVER_PRELOAD and server is not None and getattr(server, "_forkserver_pid", None) is not None:
        server._stop()  # between sweeps: no pool of ours is using it
    merged = [*_SERVER_PRELOAD, *(m for m in wanted if m not in _SERVER_PRELOAD)]
    _SERVER_PRELOAD = [m for m in merged if m != WARM] + [WARM] * (WARM in merged)  # the warm-up comes last
    return _SERVER_PRELOAD


# the analyzer's frontend for a framework: its modules import the framework's heavy parts
# (torch.export: 1.1 s of a first capture's 1.2 s) that a worker would otherwise import on its
# first task. Keras is left out: importing TensorFlow starts threads a fork would not carry.
FRONTEND_OF = {"torch": "torch", "jax": "jax", "flax": "jax", "equinox": "jax"}


def preload_modules(plan: SweepPlan) -> list[str]:
    """What the fork server imports before forking workers: the analyzer with its plugins
    (``analyzer.sweep.warm``), and for each framework the factory uses, the framework and the
    analyzer's frontend modules for it (import only: no model is built there)."""
    mods = ["analyzer.sweep.tasks", "analyzer.core.engine", "analyzer.plugins"]
    for framework in _frameworks_of(plan):
        mods.append(framework)
        frontend = FRONTEND_OF.get(framework)
        if frontend is not None:
            mods += _package_modules(f"analyzer.plugins.frontends.{frontend}")
    return [*dict.fromkeys(mods), WARM]  # last: it freezes what the server holds (gc.freeze)


def _package_modules(package: str) -> list[str]:
    """``package`` and its modules, found on disk (not imported here)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    found = pkgutil.iter_modules(list(spec.submodule_search_locations))
    return [package, *sorted(f"{package}.{m.name}" for m in found if not m.ispkg)]


FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "flax", "equinox")
PLAN_FRAMEWORK = {"torch": "torch", "pytorch": "torch", "keras": "keras", "tensorflow": "tensorflow", "jax": "jax",
                  "flax": "jax", "equinox": "jax"}  # fmt: skip


def _frameworks_of(plan: SweepPlan) -> list[str]:
    """The plan's ``framework`` and the frameworks the factory imports, at its module's top level
    or inside the factory itself (factories import lazily), so the fork server imports each once
    instead of every worker on its first task. The source is parsed, not run: a factory that
    reaches its framework through another module is found only through ``framework``."""
    named = PLAN_FRAMEWORK.get((plan.framework or "").lower())
    found: dict[str, None] = {named: None} if named and importlib.util.find_spec(named) is not None else {}
    if not plan.factory:
        return list(found)
    module_ref, _, attr = plan.factory.rpartition(":")
    if module_ref.endswith(".py") or "/" in module_ref:
        path: Path | None = Path(module_ref) if Path(module_ref).is_absolute() else plan.base_dir / module_ref
    else:
        spec = importlib.util.find_spec(module_ref) if module_ref else None
        path = Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None
    try:
        tree = ast.parse(path.read_text()) if path is not None else None
    except (OSError, SyntaxError, ValueError):
        return list(found)
    if tree is None:
        return list(found)
    scopes: list[ast.AST] = [n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    scopes += [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == attr.split(".")[0]]
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
