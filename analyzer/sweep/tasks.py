"""One sweep task, run in a worker: capture a configuration once, analyse it per precision and device.

``run_task`` never raises for a model's failure: a configuration that cannot
be built, captured or analysed becomes rows carrying its one-line error, so
one bad configuration never ends a sweep.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalyzerError
from analyzer.core.ir import Tensor
from analyzer.core.recorder import is_shape
from analyzer.sweep.plan import Precision, SweepPlan, Task
from analyzer.sweep.rows import error_rows, report_rows

_FACTORIES: dict[tuple[str, str], Any] = {}  # per worker process: a factory is imported once


def run_task(plan: SweepPlan, task: Task) -> list[dict[str, Any]]:
    """Rows for every (device, precision) of ``task``: results, or the one-line error."""
    try:
        graph = capture(plan, task)
    except Exception as e:  # the model's problem, not the sweep's: an error row
        return error_rows(plan, task, plan.precisions, _one_line(e))
    rows: list[dict[str, Any]] = []
    for precision in plan.precisions:
        try:
            rows += analyse(plan, task, graph, precision)
        except Exception as e:
            rows += error_rows(plan, task, (precision,), _one_line(e))
    return rows


def analyse(plan: SweepPlan, task: Task, graph: Any, precision: Precision) -> list[dict[str, Any]]:
    """One analysis of the captured graph for every device: metrics once, the hardware stage per device."""
    from analyzer.core.engine import analyze_graph
    from analyzer.core.plugins import default_plugins

    devices = [device_ref(d, plan.base_dir) for d in plan.devices]
    report = analyze_graph(graph, plan.analysis_options(precision), devices=devices, plugins=default_plugins())
    return report_rows(plan, task, precision, report)


def capture(plan: SweepPlan, task: Task) -> Any:
    """The configuration's graph (the frontend runs once per task)."""
    from analyzer.core.engine import to_graph
    from analyzer.core.plugins import default_plugins
    from analyzer.core.spec import resolve_object, resolve_spec

    ps = default_plugins()
    if task.spec is not None:
        spec = resolve_spec(_spec_ref(task.spec, plan.base_dir), ps, plan.framework)
        inputs = spec.inputs
    else:
        factory = load_factory(plan.factory or "", plan.base_dir)
        kwargs = dict(task.params)
        takes_batch = task.batch is not None and _accepts(factory, "batch")
        if takes_batch:
            kwargs["batch"] = task.batch
        try:
            made = factory(**kwargs)
        except TypeError as e:
            raise AnalyzerError(f"{plan.factory}({_call_args(kwargs)}): {e}") from e
        spec = resolve_object(made, plan.factory or "", ps, plan.framework)
        inputs = spec.inputs if takes_batch or task.batch is None else with_batch(spec.inputs, task.batch)
    options = {**plan.frontend_options, **spec.frontend_options}
    graph = to_graph(spec.model, inputs, params=spec.params, framework=plan.framework or spec.framework,
                     plugins=ps, **options)  # fmt: skip
    if task.batch is not None and graph.batch_size() != task.batch:
        raise AnalyzerError(f"batch {task.batch} asked, but the model's input has batch {graph.batch_size()}: "
                            "give the factory a 'batch' parameter or return input shapes")  # fmt: skip
    name = plan.name or spec.name
    if name:
        graph.name = name
    return graph


def load_factory(ref: str, base_dir: Path) -> Any:
    """``file.py:NAME`` (relative to the sweep file) or ``module:NAME``, imported once per process."""
    from analyzer.core.spec import import_attribute

    module_ref, _, attr = ref.rpartition(":")
    if module_ref.endswith(".py") or "/" in module_ref:
        path = Path(module_ref)
        module_ref = str(path if path.is_absolute() else base_dir / path)
    key = (module_ref, attr)
    if key not in _FACTORIES:
        factory = import_attribute(module_ref, attr)
        if not callable(factory):
            raise AnalyzerError(f"{ref} is not callable: a factory is called with each configuration's parameters")
        _FACTORIES[key] = factory
    return _FACTORIES[key]


def with_batch(inputs: Any, batch: int) -> Any:
    """Input shapes (tuples, lists of them, or ``Tensor`` specs) with the leading dimension set to ``batch``."""
    if isinstance(inputs, Tensor):
        return dataclasses.replace(inputs, shape=(batch, *inputs.shape[1:]))
    if is_shape(inputs):
        return (batch, *inputs[1:])
    if isinstance(inputs, list | tuple) and inputs and all(isinstance(i, Tensor) or is_shape(i) for i in inputs):
        return type(inputs)(with_batch(i, batch) for i in inputs)
    if isinstance(inputs, Mapping) and inputs and all(isinstance(i, Tensor) or is_shape(i) for i in inputs.values()):
        return {k: with_batch(v, batch) for k, v in inputs.items()}
    raise AnalyzerError("a batch size is asked, but the factory takes no 'batch' parameter and its inputs "
                        "are not shapes whose leading dimension could be set")  # fmt: skip


def _accepts(fn: Any, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def device_ref(name: str, base_dir: Path) -> str:
    """A device TOML file named relative to the sweep file; a DB name as it is."""
    if name.endswith(".toml") and not Path(name).is_absolute() and (base_dir / name).is_file():
        return str(base_dir / name)
    return name


def _spec_ref(spec: str, base_dir: Path) -> str:
    """A SPEC's file part relative to the sweep file, where such a file exists."""
    module_ref, sep, attr = spec.rpartition(":")
    target = module_ref if sep else spec
    if target and not Path(target).is_absolute() and (base_dir / target).exists():
        return f"{base_dir / target}{sep}{attr}" if sep else str(base_dir / target)
    return spec


def _call_args(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _one_line(e: BaseException) -> str:
    from analyzer.core.errors import missing_framework

    missing = missing_framework(e)
    if missing is not None:
        return missing[1]
    text = " ".join(str(e).split())
    if isinstance(e, AnalyzerError):
        return text or type(e).__name__
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
