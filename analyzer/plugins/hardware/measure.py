"""Run a model for real on this host and time it: the ``measure`` command (docs/hardware.md).

PyTorch modules run eagerly at a chosen intra-op thread count
(``torch.set_num_threads``, restored after); ``.onnx`` files run in ONNX
Runtime (``intra_op_num_threads``). Warm-up calls, then ``repeat`` timed
calls: the median and the spread (min, max) are reported. The clock is the
thread's CPU time with one thread (``time.thread_time``: other processes on
a shared machine do not inflate it, and the one intra-op thread is the
calling thread), wall time with more threads (CPU time would add up the
threads).

Per-layer times (PyTorch): a second series of calls with a forward
pre-hook and hook on every module, timed with the same clock; a module's
time is its own (exclusive of its child modules), the median over the
calls, and is matched to the analyzer's layers of that module scope. Module
hooks rather than ``torch.profiler``: they map one to one onto the scopes
the analyzer's layers already carry, need no parsing of profiler events,
and cost ~1 us per module, which the totals (from the calls without hooks)
do not include.

Weights are whatever the model holds; a model on the meta device is
copied and materialised (``to_empty`` + each module's
``reset_parameters``) when its weights fit the memory guard's limit. The
user's model is left as it was (``restore.Snapshot``: eval mode, hooks).
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError


@dataclass
class Measurement:
    """Times in seconds: ``samples`` of whole calls, ``modules`` median own time per module name."""

    runtime: str
    threads: int
    clock: str
    samples: list[float]
    modules: dict[str, float] = field(default_factory=dict)
    per_layer: str = ""
    faults: dict[str, float] = field(
        default_factory=dict
    )  # per timed run: page faults, system time

    @property
    def median_s(self) -> float:
        return statistics.median(self.samples)

    def spread(self) -> dict[str, float]:
        s = sorted(self.samples)
        q = statistics.quantiles(s, n=4) if len(s) >= 2 else [s[0]] * 3
        return {
            "median_s": self.median_s,
            "min_s": s[0],
            "max_s": s[-1],
            "q1_s": q[0],
            "q3_s": q[2],
        }


def clock_for(threads: int) -> tuple[Callable[[], float], str]:
    return (
        (time.thread_time, "thread CPU time") if threads == 1 else (time.perf_counter, "wall time")
    )


def _check_counts(threads: int, repeat: int, warmup: int) -> None:
    for name, v, low in (
        ("--threads", threads, 1),
        ("--repeat", repeat, 1),
        ("--warmup", warmup, 0),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise UsageError(f"{name} must be an integer >= {low}, got {v!r}")


# --- PyTorch ----------------------------------------------------------------------------------------


def _weights_bytes(model: Any) -> int:
    return sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))


def materialised(model: Any, max_memory: Any = None) -> Any:
    """``model`` itself, or a copy with real random weights when it lives on the meta device."""
    from analyzer.plugins.frontends.torch.memory_guard import MemoryLimit, fmt_bytes

    tensors = [*model.parameters(), *model.buffers()]
    if not any(t.is_meta for t in tensors):
        return model
    need, guard = _weights_bytes(model), MemoryLimit(max_memory)
    if guard.limit is not None and need > guard.limit:
        raise AnalysisError(f"measure: the model's weights on the meta device need {fmt_bytes(need)} of real "
                            f"memory, above the memory limit of {guard.describe()}: measure a smaller "
                            f"configuration, or raise --max-memory")  # fmt: skip
    import torch

    real = copy.deepcopy(model).to_empty(device="cpu")
    with torch.no_grad():
        for m in real.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        for _name, t in [*real.named_parameters(), *real.named_buffers()]:
            if not torch.isfinite(t).all():  # left uninitialised by to_empty
                t.normal_(0, 0.02) if t.is_floating_point() else t.zero_()
    return real


def example_inputs(graph: Any) -> list[Any]:
    """Random tensors of the graph's input shapes (integer inputs: zeros, a valid index)."""
    import torch

    out = []
    for name in graph.inputs:
        spec = graph.spec(name)
        dtype = getattr(torch, str(spec.dtype), torch.float32)
        shape = tuple(int(d) for d in spec.shape)
        out.append(
            torch.randn(shape, dtype=dtype)
            if dtype.is_floating_point
            else torch.zeros(shape, dtype=dtype)
        )
    return out


def _call(model: Any, inputs: Any) -> Callable[[], Any]:
    if isinstance(inputs, dict):
        return lambda: model(**inputs)
    if isinstance(inputs, list | tuple):
        return lambda: model(*inputs)
    return lambda: model(inputs)


def _real_inputs(inputs: Any) -> Any:
    """The user's example inputs, with meta tensors replaced by random ones of the same shape."""
    import torch

    def real(t: Any) -> Any:
        if isinstance(t, torch.Tensor) and t.is_meta:
            return (
                torch.randn(t.shape, dtype=t.dtype)
                if t.is_floating_point()
                else torch.zeros(t.shape, dtype=t.dtype)
            )
        return t

    if isinstance(inputs, dict):
        return {k: real(v) for k, v in inputs.items()}
    if isinstance(inputs, list | tuple):
        return type(inputs)(real(v) for v in inputs)
    return real(inputs)


def measure_torch(model: Any, inputs: Any, threads: int = 1, repeat: int = 20, warmup: int = 3,
                  per_layer: bool = True, max_memory: Any = None) -> Measurement:  # fmt: skip
    """Time ``model(inputs)`` eagerly in inference mode; the user's model is restored afterwards."""
    import torch

    from analyzer.plugins.frontends.torch.restore import Snapshot

    _check_counts(threads, repeat, warmup)
    snap = Snapshot(model)
    old = torch.get_num_threads()
    clock, clock_name = clock_for(threads)
    try:
        torch.set_num_threads(threads)
        net = materialised(model, max_memory)
        net.eval()
        call = _call(net, _real_inputs(inputs))
        with torch.inference_mode():
            for _ in range(warmup):
                call()
            samples = []
            r0 = _rusage()
            for _ in range(repeat):
                t0 = clock()
                call()
                samples.append(clock() - t0)
            faults = _faults(r0, _rusage(), repeat)
            modules = _module_times(net, call, repeat, clock) if per_layer else {}
    finally:
        torch.set_num_threads(old)
        snap.restore()
    return Measurement(f"PyTorch {torch.__version__} eager", threads, clock_name, samples, modules,
                       "module hooks (own time, children excluded)" if per_layer else "", faults)  # fmt: skip


def _rusage() -> Any:
    try:
        import resource

        return resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    except (ImportError, OSError):
        return None


def _faults(r0: Any, r1: Any, runs: int) -> dict[str, float]:
    """Page faults and system time per run: fresh pages the allocator maps (glibc returns freed
    memory to the OS when the top of its heap has enough free, and maps it back on the next run)."""
    if r0 is None or r1 is None:
        return {}
    return {
        "page_faults": (r1.ru_minflt - r0.ru_minflt) / runs,
        "system_s": (r1.ru_stime - r0.ru_stime) / runs,
    }


def _module_times(
    net: Any, call: Callable[[], Any], repeat: int, clock: Callable[[], float]
) -> dict[str, float]:
    """Median own time per module over ``repeat`` hooked calls."""
    stack: list[list[float]] = []  # [start, time spent in children]
    own: dict[str, float] = {}
    runs: dict[str, list[float]] = {}

    def pre(name: str) -> Callable[..., None]:
        def hook(*_: Any) -> None:
            stack.append([clock(), 0.0])

        return hook

    def post(name: str) -> Callable[..., None]:
        def hook(*_: Any) -> None:
            start, children = stack.pop()
            total = clock() - start
            own[name] = own.get(name, 0.0) + total - children
            if stack:
                stack[-1][1] += total

        return hook

    handles = []
    for name, m in net.named_modules():
        handles += [m.register_forward_pre_hook(pre(name)), m.register_forward_hook(post(name))]
    try:
        for _ in range(repeat):
            own.clear()
            call()
            for k, v in own.items():
                runs.setdefault(k, []).append(v)
    finally:
        for h in handles:
            h.remove()
    return {k: statistics.median(v) for k, v in runs.items()}


# --- ONNX Runtime -----------------------------------------------------------------------------------


def measure_onnx(path: Path, threads: int = 1, repeat: int = 20, warmup: int = 3,
                 shapes: dict[str, tuple[int, ...]] | None = None) -> Measurement:  # fmt: skip
    """Time an ONNX file in ONNX Runtime (CPU), random inputs of ``shapes`` (the analysed graph's,
    by input name), else of its declared shapes (symbolic: 1)."""
    import numpy as np

    try:
        import onnxruntime as ort
    except ImportError:
        raise AnalysisError(
            "measure: ONNX Runtime is not installed; install it with: pip install onnxruntime"
        ) from None
    _check_counts(threads, repeat, warmup)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    try:
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ORT raises its own types: one line naming the file
        raise AnalysisError(
            f"{path}: ONNX Runtime cannot load it: {str(e).splitlines()[0]}"
        ) from None
    rng = np.random.default_rng(0)
    feed = {}
    for i in sess.get_inputs():
        shape = list((shapes or {}).get(i.name) or [d if isinstance(d, int) and d > 0 else 1 for d in i.shape])
        kind = i.type.removeprefix("tensor(").rstrip(")")
        dtype = {"float": np.float32, "double": np.float64, "float16": np.float16, "int64": np.int64,
                 "int32": np.int32, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}.get(kind, np.float32)  # fmt: skip
        feed[i.name] = (
            rng.standard_normal(shape).astype(dtype)
            if np.issubdtype(dtype, np.floating)
            else np.zeros(shape, dtype)
        )
    clock, clock_name = clock_for(threads)
    for _ in range(warmup):
        sess.run(None, feed)
    samples = []
    for _ in range(repeat):
        t0 = clock()
        sess.run(None, feed)
        samples.append(clock() - t0)
    return Measurement(
        f"ONNX Runtime {ort.__version__} (CPU)", threads, clock_name, samples, {}, ""
    )


# --- measured beside predicted ----------------------------------------------------------------------


def _err(pred: float, meas: float) -> float | None:
    return (pred - meas) / meas if meas > 0 else None


def compare(report: Any, m: Measurement) -> dict[str, Any]:
    """Measured beside predicted, per module scope and in total (``error`` = predicted / measured - 1)."""
    hw = report.hardware[0]
    pred = {row["name"]: float(row["latency_s"]) for row in hw.layers}
    scopes: dict[str, float] = {}
    for layer in report.layers:
        scope = layer.scope or ""
        scopes[scope] = scopes.get(scope, 0.0) + pred.get(layer.name, 0.0)
    layers = []
    if m.modules:
        matched = set()
        for scope, p in scopes.items():
            meas = m.modules.get(scope)
            matched.add(scope)
            layers.append({"name": scope or "(model, outside modules)", "predicted_s": p, "measured_s": meas,
                           "error": _err(p, meas) if meas is not None else None})  # fmt: skip
        rest = sum(v for k, v in m.modules.items() if k not in matched)
        layers.append({"name": "(modules without ops of their own)", "predicted_s": 0.0, "measured_s": rest,
                       "error": None})  # fmt: skip
    predicted = hw.latency_s
    return {
        "model": _model_name(report), "device": hw.device, "runtime": m.runtime, "threads": m.threads, "clock": m.clock,
        "repeat": len(m.samples), "measured": m.spread(), "predicted_s": predicted,
        "error": _err(predicted, m.median_s), "kernel_model": hw.details.get("kernel_model"),
        "per_layer": m.per_layer or "not available for this runtime", "per_run": m.faults, "layers": layers,
    }  # fmt: skip


def _model_name(report: Any) -> str:
    model = report.model
    return str(model.get("name", "model")) if isinstance(model, dict) else str(model)


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1e3:.3f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:+.1f}%"


def render_table(doc: dict[str, Any]) -> str:
    km = doc.get("kernel_model") or {}
    how = (
        "kernel-level model"
        if km.get("used")
        else f"roofline ({km['why']})"
        if km.get("why")
        else "roofline"
    )
    lines = [f"{doc['model']} on {doc['device']}: {doc['runtime']}, {doc['threads']} thread(s), {doc['clock']}, "
             f"median of {doc['repeat']} runs; predicted by the {how}"]  # fmt: skip
    if doc["layers"]:
        width = max(len("layer"), *(len(r["name"]) for r in doc["layers"]))
        lines.append(f"{'layer':<{width}}  {'measured ms':>12}  {'predicted ms':>12}  {'error':>8}")
        for r in doc["layers"]:
            lines.append(f"{r['name']:<{width}}  {_ms(r['measured_s']):>12}  {_ms(r['predicted_s']):>12}  "
                         f"{_pct(r['error']):>8}")  # fmt: skip
    s = doc["measured"]
    lines.append(f"TOTAL measured {_ms(s['median_s'])} ms (min {_ms(s['min_s'])}, max {_ms(s['max_s'])}), "
                 f"predicted {_ms(doc['predicted_s'])} ms, error {_pct(doc['error'])}")  # fmt: skip
    if doc["layers"]:
        lines.append(
            f"per layer: {doc['per_layer']}; their sum includes the hooks' cost, the total does not"
        )
    return "\n".join(lines) + "\n"
