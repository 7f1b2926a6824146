"""Choosing a capture path, falling back when it cannot capture the model, leaving the model as it was.

Paths (``frontend_options={"capture": ...}``, CLI ``--capture``), and what each can do:

- ``meta`` (default): dispatch trace on meta tensors. Measured on ResNet-50
  (docs/frontends/torch.md) it is ~30x faster than ``torch.export`` and
  needs no weights. It cannot decide what only values decide; the dispatch
  trace says when that happened (``Attempt.needs_values``: a value read by
  Python, an op whose output size depends on values, an op without a meta
  kernel), and then the real trace takes over. It also takes over to check
  any other error a meta kernel raised (``Attempt.kernel_error``): the
  model's own (a shape mismatch: the real trace fails alike) or a meta
  kernel stricter than the CPU one (the real trace succeeds). An error the
  model's Python code raises is its own (Python sees the same shapes on real
  tensors): reported at once.
- ``export``: ``torch.export``; stricter than eager PyTorch (data-dependent
  guards, unsupported Python), so any failure of it falls back to ``meta``
  (then ``real``, by the meta rules).
- ``real``: dispatch trace running the model's own weights on deterministic
  inputs of the given shapes (or the tensors given): the fallback for
  data-dependent control flow. Impossible for weights on the meta device or
  fake; refused by the memory guard (``memory_guard``) above ``max_memory``.

When every path fails, the one-line error names each path tried and why it
failed; the exceptions are chained (an ``ExceptionGroup``), so ``--debug``
prints each traceback. The path used is ``graph.meta["capture"]``; each
failed attempt is a warning.

Modules are analysed in eval mode unless ``train_mode=True`` (the module's
own flags are kept); ``graph.meta["mode"]`` says which. Whatever happens,
the module is restored (``restore.Snapshot``) before ``convert`` returns.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensor

from analyzer.core.errors import AnalysisError, AnalyzerError, UsageError
from analyzer.core.graph import Graph
from analyzer.plugins.frontends.torch import dispatch
from analyzer.plugins.frontends.torch.export import export_model, program_to_graph
from analyzer.plugins.frontends.torch.inputs import adopt_model_dtype, model_inputs
from analyzer.plugins.frontends.torch.memory_guard import MemoryLimit, fmt_bytes, largest_op_bytes
from analyzer.plugins.frontends.torch.params import ModuleState, module_state
from analyzer.plugins.frontends.torch.restore import Snapshot

CAPTURES = {"meta": ("meta", "real"), "export": ("export", "meta", "real"), "real": ("real",)}


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"


def _python_value_read(e: BaseException) -> str | None:
    """Value reads outside the dispatcher (no ATen op to see them): tolist(), numpy(), and
    the fake-tensor exceptions PyTorch raises for data-dependent output shapes."""
    from torch._subclasses import fake_tensor

    data_dependent = (
        fake_tensor.DataDependentOutputException,
        fake_tensor.DynamicOutputShapeException,
    )
    if isinstance(e, data_dependent):
        return f"an output size depends on values ({type(e).__name__})"
    text = str(e)
    if isinstance(e, NotImplementedError) and "copy out of meta tensor" in text:
        return "Python copies a tensor's values out (tolist(), .cpu() data...)"
    if isinstance(e, RuntimeError) and "unallocated storage" in text:  # tolist() on meta
        return "Python copies a tensor's values out (tolist())"
    if isinstance(e, TypeError) and "meta" in text and "numpy" in text:
        return "Python reads a tensor's values (numpy())"
    return None


def _raised_by(e: BaseException, cause: BaseException) -> bool:
    """Is ``e`` the kernel's error, or one the model raised while handling it?"""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        if e is cause:
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return False


def convert_program(ep: Any, inputs: Any) -> Graph:
    """An ExportedProgram (``.pt2``) as given: its inputs are fixed by the export."""
    if inputs is not None:
        given = model_inputs(inputs, "meta").tensors()
        fixed = [tuple(s.meta["val"].shape) for s in ep.graph.nodes if s.op == "placeholder"
                 and s.name in ep.graph_signature.user_inputs]  # fmt: skip
        if [tuple(t.shape) for t in given] != fixed:
            raise UsageError(
                f"the exported program takes inputs of shapes {fixed}; re-export it for other shapes"
            )
    return program_to_graph(ep, "exported_program")


def mode_of(model: Any) -> str:
    """``eval``, ``train``, or ``mixed`` (some submodules in each) for an nn.Module."""
    flags = {m.training for m in model.modules()}
    return "mixed" if len(flags) > 1 else "train" if flags.pop() else "eval"


def convert(
    model: Any, inputs: Any, capture: str = "meta", *, max_memory: Any = None,
    train_mode: bool = False,
) -> Graph:  # fmt: skip
    if capture not in CAPTURES:
        raise UsageError(
            f"unknown capture {capture!r} for PyTorch; choose one of: {', '.join(CAPTURES)}"
        )
    if isinstance(model, torch.export.ExportedProgram):
        return convert_program(model, inputs)
    model = getattr(model, "_orig_mod", model)  # torch.compile's wrapper
    is_module = isinstance(model, torch.nn.Module)
    if not is_module and not callable(model):
        raise AnalysisError(
            f"the torch frontend takes an nn.Module or a callable, not {type(model).__name__}"
        )
    limit = MemoryLimit(max_memory)
    if is_module:
        inputs = adopt_model_dtype(inputs, model)
    if not is_module:
        return _Attempts(model, inputs, capture, limit, None, train_mode).run()
    snapshot = Snapshot(model)
    snapshot.add_inputs(inputs)
    attempts: _Attempts | None = None
    try:
        attempts = _Attempts(model, inputs, capture, limit, snapshot, train_mode)
        mode = mode_of(model)
        graph = attempts.run()
    finally:
        lost = snapshot.restore() + (attempts.lost if attempts else [])
    graph.meta["mode"] = mode
    if lost:
        graph.meta["warnings"].append(
            f"{len(lost)} tensor(s) of the model or its inputs were written in place by the "
            "capture and could not be restored"
        )
    return graph


class _Attempts:
    """The paths of one capture tried in order, each failure kept with why it happened."""

    def __init__(self, model: Any, inputs: Any, capture: str, limit: MemoryLimit,
                 snapshot: Snapshot | None, train_mode: bool):  # fmt: skip
        self.model, self.inputs, self.capture, self.limit = model, inputs, capture, limit
        self.snapshot, self.train_mode = snapshot, train_mode
        self.lost: list[Any] = []  # tensors written in place that could not be restored
        self._prepare()
        self.is_module = snapshot is not None
        self.name = type(model).__name__ if self.is_module else getattr(model, "__name__", "model")
        self.state = (module_state(model) if self.is_module
                      else ModuleState([], set(), {}, {}, {}, {}))  # fmt: skip
        self.on_meta = any(
            t.device.type == "meta" or isinstance(t, FakeTensor)
            for t in self.state.tensors.values()
        )
        self.failures: list[tuple[str, str, BaseException | None]] = []  # (path, why, error)
        self.meta_attempt: dispatch.Attempt | None = None
        self.guard: dispatch.RealGuard | None = None
        self.confirming = False  # the real trace checks an error a meta kernel raised
        self._meta_error = ""

    def _prepare(self) -> None:
        if self.snapshot is not None and not self.train_mode:
            self.model.eval()

    def _reset(self) -> None:
        """Between two attempts: the model as the user gave it, then prepared again."""
        if self.snapshot is not None:
            self.lost += self.snapshot.restore()
            self._prepare()

    def run(self) -> Graph:
        plan = CAPTURES[self.capture]
        warnings: list[str] = []
        for i, path in enumerate(plan):
            if path == "export" and not self.is_module:
                self.failures.append((path, "torch.export needs an nn.Module", None))
                continue
            if path == "real" and self.on_meta:
                self.failures.append((path, "impossible: the weights are on the meta device (or "
                                      "fake), so no real trace can run (give the model real weights "
                                      "or make its control flow depend on shapes only)", None))  # fmt: skip
                break
            try:
                graph = self._run(path)
            except AnalyzerError as e:
                if not (path == "real" and self.confirming):
                    raise
                # the memory guard refused to tell a model error from a strict meta kernel:
                # the meta error stands, first
                self.failures.append((path, f"not tried: {e}", None))
                break
            except Exception as e:
                self._reset()  # a failed forward may have left the model half-changed
                verdict = self._verdict(path, e)
                if verdict is None:  # the model's own error: every other path would fail alike
                    self.failures.append((path, f"{_one_line(e)} (an error of the model, not "
                                          "retried on another path)", e))  # fmt: skip
                    break
                if path == "real" and self.confirming and verdict == self._meta_error:
                    verdict = "the same error (an error of the model)"
                self.failures.append((path, verdict, e))
                continue
            warnings += [f"{p} capture failed ({why})" for p, why, _ in self.failures]
            if i:
                graph.meta["capture"] = graph.meta["capture"].removesuffix(")") + ", fallback)"
                warnings.append(f"captured with {graph.meta['capture']}"
                                + ("; data-dependent branches follow the example inputs" if path == "real" else ""))  # fmt: skip
            if path == "meta" and self.meta_attempt and self.meta_attempt.needs_values:
                warnings.append(f"the model caught a failed value read on meta tensors "
                                f"({self.meta_attempt.needs_values}); its fallback branch was traced")  # fmt: skip
            graph.meta["warnings"] = warnings + list(graph.meta.get("warnings", []))
            return graph
        raise self._failed()

    def _verdict(self, path: str, e: BaseException) -> str | None:
        """Why ``path`` failed when another path may succeed; None when no other path can."""
        if self.guard is not None and self.guard.refused:  # whatever the model made of it
            raise AnalysisError(self.guard.refused) from e
        if path == "meta":
            reason = (self.meta_attempt and self.meta_attempt.needs_values) or _python_value_read(e)
            if reason is not None:
                return f"needs tensor values: {reason}"
            kernel = self.meta_attempt.kernel_error if self.meta_attempt else None
            if kernel is None or not _raised_by(e, kernel[1]) or self.on_meta:
                return None  # raised by the model's Python code, which sees the same shapes
            # raised by a meta kernel: the model's error, or a kernel stricter than the CPU's
            # (dtype support...); a real trace tells which
            self.confirming, self._meta_error = True, _one_line(e)
            return f"{_one_line(e)} (in {kernel[0]} on meta tensors)"
        return _one_line(e)  # export: stricter than eager; real: the last path

    def _failed(self) -> AnalysisError:
        parts = [f"{path} capture failed: {why}" if e is not None or path == "export"
                 else f"{path} capture {why}" for path, why, e in self.failures]  # fmt: skip
        errors = [e for _, _, e in self.failures if isinstance(e, Exception)]
        err = AnalysisError(f"{self.name}: " + "; ".join(parts))
        if len(errors) == 1:
            err.__cause__ = errors[0]
        elif errors:  # --debug prints every path's traceback
            err.__cause__ = ExceptionGroup("the error of each capture path", errors)
        return err

    def _run(self, path: str) -> Graph:
        model, state, name = self.model, self.state, self.name
        if path == "meta":
            self.meta_attempt = dispatch.Attempt()
            ins = model_inputs(self.inputs, "meta")
            return dispatch.trace(model, ins, state, name, meta=True, attempt=self.meta_attempt)
        if path == "real":
            self._check_memory()
            guard = self.guard = dispatch.RealGuard(self.limit, name)
            ins = model_inputs(self.inputs, "cpu")
            graph = dispatch.trace(model, ins, state, name, meta=False, snapshot=self.snapshot,
                                   guard=guard)  # fmt: skip
            if guard.refused:  # the model caught the refusal and went on (or raised another error)
                raise AnalysisError(guard.refused)
            return graph
        # export: fake tensors throughout; inputs it must be given as real tensors stay
        # uninitialised (their pages are never touched)
        ins = model_inputs(self.inputs, "meta" if self.on_meta else "cpu", fill=False)
        names = [ins.names.get(id(t), f"input{i}") for i, t in enumerate(ins.tensors())]
        ep = export_model(model, ins)
        return program_to_graph(ep, name, names, state)

    def _check_memory(self) -> None:
        """Refuse a real trace whose known allocations alone pass the limit, before any."""
        if self.limit.limit is None:
            return
        ins = model_inputs(self.inputs, "meta")
        stand_ins = {id(t) for t in ins._moved.values()}  # the user's own tensors exist already
        created = sum(t.numel() * t.element_size() for t in ins.tensors() if id(t) not in stand_ins)
        probe = dispatch.Attempt(probe=True)  # the shapes past value reads, along one branch
        with contextlib.suppress(Exception):  # what it recorded before stopping still counts
            dispatch.trace(self.model, ins, self.state, self.name, meta=True, attempt=probe)
        self._reset()  # the probe ran the forward: undo what it changed
        acts, op = largest_op_bytes(probe.recorder.graph) if probe.recorder else (0, "")
        need = created + acts
        if need > self.limit.limit and self.confirming:
            raise AnalysisError(f"a real trace would allocate at least {fmt_bytes(need)}, above "
                                f"the memory limit of {self.limit.describe()}")  # fmt: skip
        if need > self.limit.limit:
            why = next((f"the meta trace {w}" for p, w, _ in self.failures if p == "meta"),
                       "a real trace was asked for")  # fmt: skip
            parts = f"inputs {fmt_bytes(created)}" if created else ""
            if acts:
                parts += (" + " if parts else "") + f"{fmt_bytes(acts)} at op {op}"
            tried = self.capture != "meta"
            raise self.limit.refuse(self.name, f"at least {fmt_bytes(need)} ({parts})", why, tried)
