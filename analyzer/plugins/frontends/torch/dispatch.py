"""Capture by a dispatch-level trace: run the model once under a TorchDispatchMode.

The trace runs with autograd's dispatch keys excluded, so composite ops
(``conv2d``, ``linear``, ``scaled_dot_product_attention``, ``einsum``) reach
the mode whole instead of as their decompositions; ops the table does not
know are decomposed there (when PyTorch has a decomposition) and captured
piece by piece. Module scopes come from global module pre/post hooks: the
hooks only name the module being run, every op is captured at the ATen level.

On the meta device (the default) the parameters are swapped for meta
tensors with ``torch.func.functional_call`` for the duration of the call:
nothing is allocated or computed. A real trace (``device="cpu"``) runs the
model's own weights on small inputs; it is the fallback for data-dependent
Python control flow, which a meta tensor cannot decide.

What a meta trace cannot do is decided here, where it happens, not from
error text: an op that reads a value (``aten.item``, ``is_nonzero``...), an
op whose output size depends on values (``nonzero``, ``unique``...) or an
op without a meta kernel (``NotImplementedError`` from the kernel) raises
``NeedsValues`` and is noted in the ``Attempt``, even if the model catches
the exception. A *probe* (``Attempt(probe=True)``) answers value reads with
placeholders instead, to see the shapes beyond them for the memory guard.
A real trace copies a tensor of the ``Snapshot`` before an op writes it in
place, and asks the ``RealGuard`` before each op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakIdKeyDictionary

from analyzer.core.graph import Graph
from analyzer.plugins.frontends.torch.aten_table import lookup
from analyzer.plugins.frontends.torch.call import Call, op_info
from analyzer.plugins.frontends.torch.handlers import unknown
from analyzer.plugins.frontends.torch.inputs import ModelInputs
from analyzer.plugins.frontends.torch.memory_guard import MemoryLimit, fmt_bytes, resident_memory
from analyzer.plugins.frontends.torch.meta_rules import (
    VALUE_READS,
    NeedsValues,
    needs_values_reason,
    placeholder,
)
from analyzer.plugins.frontends.torch.params import ModuleState, dtype_name
from analyzer.plugins.frontends.torch.recorder import Recorder, V
from analyzer.plugins.frontends.torch.restore import Snapshot
from analyzer.plugins.frontends.torch.shortcuts import SHORTCUTS

_META = torch.device("meta")
_Tensor = torch.Tensor
# ops that write an argument their schema does not mark as written (through their decomposition)
_HIDDEN_WRITES = {"batch_norm": ("running_mean", "running_var"),
                  "instance_norm": ("running_mean", "running_var")}  # fmt: skip
_PROBE_READS = 64  # a probe stops after this many placeholder values (a `while` on values)


class MemoryRefused(RuntimeError):
    """The memory guard stopped a real trace before an op (the message is the user's one line)."""


@dataclass
class Attempt:
    """What one dispatch trace saw, kept when it fails: the partial IR and why it stopped."""

    recorder: Recorder | None = None
    needs_values: str | None = None  # the first thing only values decide
    kernel_error: tuple[str, BaseException] | None = None  # (op, error) a meta kernel raised
    probe: bool = False  # answer value reads with placeholders instead of failing
    reads: int = 0


class RealGuard:
    """Checks, before each op of a real trace, that the process stays under the memory limit."""

    def __init__(self, limit: MemoryLimit, name: str):
        self.limit, self.name = limit, name
        self.start = resident_memory()
        self.refused: str | None = None

    def check(self, func: Any, args: Any, kwargs: dict) -> None:
        if self.limit.limit is None:
            return
        try:  # the op's outputs, from its meta kernel: nothing allocated
            margs = _map(_meta_like, args)
            mkwargs = dict(zip(kwargs, _map(_meta_like, kwargs.values()), strict=True))
            if "device" in mkwargs:
                mkwargs["device"] = _META
            outs = _leaves(func(*margs, **mkwargs))
        except Exception:  # no meta kernel: the process growth alone is checked
            outs = []
        new = sum(o.numel() * o.element_size() for o in outs if not o._is_view())
        grown = max(0, resident_memory() - self.start)
        if grown + new > self.limit.limit:
            key = op_info(func)[2]
            shapes = ", ".join("x".join(map(str, o.shape)) for o in outs[:2])
            self.refused = str(self.limit.refuse(
                self.name, f"{fmt_bytes(grown + new)} ({fmt_bytes(grown)} so far, then {key} "
                f"outputs {shapes})", "the real trace was stopped before an op",
            ))  # fmt: skip
            raise MemoryRefused(self.refused)


def _meta_like(t: torch.Tensor) -> torch.Tensor:
    if t.device.type == "meta":
        return t
    return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device=_META)


_WRITES: dict[Any, tuple[tuple[int, str], ...]] = {}


def _written(func: Any, key: str) -> tuple[tuple[int, str], ...]:
    """(position, name) of the arguments ``func`` writes in place, cached."""
    w = _WRITES.get(func)
    if w is None:
        hidden = _HIDDEN_WRITES.get(key, ())
        w = _WRITES[func] = tuple(
            (i, a.name) for i, a in enumerate(func._schema.arguments)
            if (a.alias_info is not None and a.alias_info.is_write) or a.name in hidden
        )  # fmt: skip
    return w


def _map(f: Any, values: Any) -> Any:
    """``f`` over the tensors of ATen arguments (tensors, lists of tensors, scalars): a fast tree_map."""
    out = []
    for a in values:
        if isinstance(a, _Tensor):
            a = f(a)
        elif type(a) is list or type(a) is tuple:
            a = type(a)([f(x) if isinstance(x, _Tensor) else x for x in a])
        out.append(a)
    return out


def _leaves(out: Any) -> list[torch.Tensor]:
    if isinstance(out, _Tensor):
        return [out]
    if type(out) is list or type(out) is tuple:
        return [t for t in out if isinstance(t, _Tensor)]
    return [t for t in tree_leaves(out) if isinstance(t, _Tensor)]


class _Scopes:
    """Module scopes from global forward hooks: ``layer1.0.relu``, ``relu@1`` for a second call."""

    def __init__(self, names: dict[int, str]):
        self.names = names
        self.calls: dict[str, int] = {}
        self.stack: list[str] = [""]

    def pre(self, module: Any, args: Any) -> None:
        name = self.names.get(id(module))
        if name is None:  # a module outside the model's tree: its ops belong to the caller
            self.stack.append(self.stack[-1])
            return
        k = self.calls.get(name, 0)
        self.calls[name] = k + 1
        self.stack.append(f"{name}@{k}" if k and name else name)

    def post(self, module: Any, args: Any, output: Any) -> None:
        if len(self.stack) > 1:
            self.stack.pop()


class _Capture(TorchDispatchMode):
    def __init__(
        self, rec: Recorder, scopes: _Scopes, meta: bool, attempt: Attempt,
        snapshot: Snapshot | None, guard: RealGuard | None,
    ):  # fmt: skip
        super().__init__()
        self.rec = rec
        self.scopes = scopes
        self.meta = meta
        self.attempt = attempt
        self.snapshot = snapshot
        self.guard = guard
        # tensor -> V. Meta tensors cost nothing, so they are kept alive (their ids stay unique); a
        # real trace holds them weakly so that activations are freed as the model runs
        self.values: dict[int, tuple[torch.Tensor, V]] = {}
        self.weak: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._moved: dict[int, torch.Tensor] = {}

    def bind(self, t: torch.Tensor, v: V) -> None:
        if self.meta:
            self.values[id(t)] = (t, v)
        else:
            self.weak[t] = v

    def lookup(self, t: torch.Tensor) -> V | None:
        if not self.meta:
            return self.weak.get(t)
        hit = self.values.get(id(t))
        return hit[1] if hit is not None and hit[0] is t else None

    def value(self, t: torch.Tensor) -> Any:
        v = self.lookup(t)
        if v is not None:
            return v
        if t.dim() == 0 and t.device.type != "meta":  # a wrapped Python scalar
            return t.item()
        v = self.rec.constant(tuple(t.shape), dtype_name(t.dtype))  # a tensor captured from outside
        self.bind(t, v)
        return v

    def _save_written(self, func: Any, key: str, args: tuple, kwargs: dict) -> None:
        for i, name in _written(func, key):
            value = args[i] if i < len(args) else kwargs.get(name)
            for t in value if isinstance(value, list | tuple) else (value,):
                if isinstance(t, _Tensor):
                    self.snapshot.save(t)  # type: ignore[union-attr]

    def _to_meta(self, t: torch.Tensor) -> torch.Tensor:
        if t.device.type == "meta" or t.dim() == 0:
            return t
        m = self._moved.get(id(t))
        if m is None:
            m = self._moved[id(t)] = torch.empty_strided(
                t.shape, t.stride(), dtype=t.dtype, device=_META
            )
            self.bind(m, self.value(t))
        return m

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = kwargs or {}
        key = op_info(func)[0]
        handler = lookup(key)
        if handler is None:
            with self:  # decompose what the table does not know, capturing the pieces
                result = func.decompose(*args, **kwargs)
            if result is not NotImplemented:
                return result
            handler = unknown
        if self.meta:
            args = _map(self._to_meta, args)
            kwargs = dict(zip(kwargs, _map(self._to_meta, kwargs.values()), strict=True))
            if "device" in kwargs:  # factory functions: make the new tensor on meta too
                kwargs = {**kwargs, "device": _META}
            shortcut = SHORTCUTS.get(key)
            try:
                out = shortcut(args, kwargs) if shortcut is not None else None
                if out is None:
                    out = func(*args, **kwargs)
            except Exception as e:
                reason = needs_values_reason(key, func, e)
                if reason is None:  # the model's error, or a meta kernel stricter than the CPU's
                    self.attempt.kernel_error = (op_info(func)[2], e)
                    raise
                if self.attempt.needs_values is None:
                    self.attempt.needs_values = reason
                if (self.attempt.probe and key in VALUE_READS
                        and self.attempt.reads < _PROBE_READS):  # fmt: skip
                    self.attempt.reads += 1
                    return placeholder(key, args[0])
                raise NeedsValues(reason) from e
        else:
            if self.snapshot is not None:
                self._save_written(func, key, args, kwargs)
            if self.guard is not None:
                self.guard.check(func, args, kwargs)
            out = func(*args, **kwargs)
        vargs = _map(self.value, args)
        vkwargs = (
            dict(zip(kwargs, _map(self.value, kwargs.values()), strict=True)) if kwargs else kwargs
        )
        outs = _leaves(out)
        out_vs = [V(tuple(t.shape), dtype_name(t.dtype)) for t in outs]
        self.rec.scope = self.scopes.stack[-1]
        handler(self.rec, Call(func, vargs, vkwargs, out_vs))
        for t, v in zip(outs, out_vs, strict=True):
            self.bind(t, v)
        return out


def _meta_state(state: ModuleState) -> dict[str, torch.Tensor]:
    """Meta stand-ins for every parameter and buffer name (tied names share one tensor)."""
    made: dict[str, torch.Tensor] = {}
    for name, t in state.tensors.items():
        m = torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device=_META)
        made[name] = (
            torch.nn.Parameter(m, requires_grad=t.requires_grad)
            if isinstance(t, torch.nn.Parameter)
            else m
        )
    return {alias: made[canonical] for alias, canonical in state.aliases.items()}


def trace(
    model: Any, inputs: ModelInputs, state: ModuleState, name: str, *, meta: bool = True,
    attempt: Attempt | None = None, snapshot: Snapshot | None = None, guard: RealGuard | None = None,
) -> Graph:  # fmt: skip
    """Run ``model`` on ``inputs`` under the capture mode and return the IR graph.

    ``attempt`` receives the recorder (the partial IR if the trace fails) and
    why a meta trace needed values; a real trace saves the ``snapshot``'s
    tensors before writing them and asks ``guard`` before each op.
    """
    rec = Recorder(name, state.params, state.explicit)
    if snapshot is not None and not meta:
        snapshot.start_real()
    attempt = attempt if attempt is not None else Attempt()
    attempt.recorder = rec
    scopes = _Scopes(state.modules)
    mode = _Capture(rec, scopes, meta, attempt, snapshot, guard)
    swap = meta and any(t.device.type != "meta" for t in state.tensors.values())
    tensors = _meta_state(state) if swap else state.tensors
    for alias, canonical in state.aliases.items():
        if alias == canonical:
            mode.bind(tensors[alias], rec.param(canonical))
    for t in inputs.tensors():
        if mode.lookup(t) is None:  # a tensor passed twice is one input
            name = inputs.names.get(id(t), f"input{len(rec.graph.inputs)}")
            mode.bind(t, rec.input(name, tuple(t.shape), dtype_name(t.dtype)))

    pre = torch.nn.modules.module.register_module_forward_pre_hook(scopes.pre)
    post = torch.nn.modules.module.register_module_forward_hook(scopes.post)
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # fused MHA kernels would hide attention's parts
    try:
        with torch._C._AutoDispatchBelowAutograd(), mode:
            if swap:
                out = torch.func.functional_call(
                    model, tensors, tuple(inputs.args), inputs.kwargs, strict=False
                )
            else:
                out = model(*inputs.args, **inputs.kwargs)
    finally:
        pre.remove()
        post.remove()
        torch.backends.mha.set_fastpath_enabled(fastpath)

    results = []
    for t in _leaves(out):
        v = mode.value(t)
        results.append(v if isinstance(v, V) else rec.constant((), dtype_name(t.dtype)))
    graph = rec.finish(results)
    graph.meta["capture"] = "torch.dispatch(meta)" if meta else "torch.dispatch(real)"
    graph.meta.setdefault("warnings", [])
    return graph
