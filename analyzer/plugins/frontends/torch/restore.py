"""Leave the user's module exactly as it was: a snapshot before the capture, a restore after.

A forward may change its module: torchvision's AnchorGenerator reassigns
``self.cell_anchors`` (on meta tensors during a meta trace), modules cache
tensors on ``self``, BatchNorm in training mode updates its running
statistics in place, the capture itself switches to eval mode. Whatever the
capture path and whether it succeeds, ``Snapshot.restore`` puts back:

- every module's ``__dict__`` entries (by identity; entries added by the
  forward are removed): parameters, buffers and submodules (their dicts),
  plain attributes, ``training``, every hook dict;
- the contents of mutable containers found there (lists, dicts, sets, also
  nested in tuples) and the ``__dict__`` of plain objects found there (a
  cache object), in place, so references the user holds stay valid; the
  same for the example inputs (a ``DynamicCache`` passed in);
- the values of tensors written in place during a real trace: the trace
  copies a tensor of the snapshot (or an example tensor) before the first
  op that writes it (``save``), and ``restore`` copies it back.

Containers and objects are followed 5 levels deep from a module's
``__dict__``; state kept elsewhere (globals, C objects, modules that are not
in the model's tree) is not covered.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from functools import partial
from operator import is_, itemgetter
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

_MAX_DEPTH = 4  # containers nested deeper than this are restored by identity only
# values that hold nothing to restore (the common module attributes): skipped without a call
_ATOMS = frozenset({bool, int, float, complex, str, bytes, type(None)})
_EMPTYABLE = frozenset({dict, OrderedDict, list, set})
_HOOK_NAMES = ("_backward_pre_hooks", "_backward_hooks", "_forward_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
               "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
               "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks")  # fmt: skip
_OWN_NAMES = ("_parameters", "_buffers", "_modules", "_non_persistent_buffers_set")
_HOOK_DICTS, _OWN_DICTS = itemgetter(*_HOOK_NAMES), itemgetter(*_OWN_NAMES)
_STANDARD = frozenset(_HOOK_NAMES + _OWN_NAMES)


def _version(t: Any) -> int:
    """The in-place write counter (inference tensors have none: -1)."""
    return -1 if t.is_inference() else t._version


def _is_stdlib(kind: type) -> bool:
    """Objects of the standard library (a logger, a lock...) share process-wide state: a
    logger's ``manager`` holds every logger. Their ``__dict__`` is not the model's to restore."""
    return kind.__module__.partition(".")[0] in sys.stdlib_module_names


class _Frozen:
    """A mutable container and a copy of its items (containers among them frozen too)."""

    __slots__ = ("obj", "keys", "items", "children")

    def __init__(self, obj: Any, items: Any, children: list[_Frozen]):
        self.obj, self.items, self.children = obj, items, children
        self.keys = list(obj) if isinstance(obj, dict) else None

    def restore(self) -> None:
        obj, items = self.obj, self.items
        if items is None:  # a tuple: immutable itself, only its mutable members can change
            pass
        elif self.keys is not None:  # a dict: items are its values; compared in C
            if not (len(obj) == len(items) and all(map(is_, obj.values(), items))
                    and list(obj) == self.keys):  # fmt: skip
                obj.clear()
                obj.update(zip(self.keys, items, strict=True))
        elif isinstance(obj, list):
            if not (len(obj) == len(items) and all(map(is_, obj, items))):
                obj[:] = items
        elif isinstance(obj, set) and obj != items:
            obj.clear()
            obj.update(items)
        for child in self.children:
            child.restore()


class Snapshot:
    """The state of every module of ``model`` (and the tensors it holds), to restore later."""

    def __init__(self, model: Any):
        import torch

        self._tensor_type = torch.Tensor
        # objects whose __dict__ is not state a forward changes (or is restored on its own)
        self._opaque = (torch.nn.Module, type, FunctionType, MethodType, BuiltinFunctionType,
                        ModuleType, partial)  # fmt: skip
        self.modules: list[tuple[Any, dict[str, Any]]] = []
        self.script_modes: list[tuple[Any, bool]] = []  # TorchScript modules: their training flag
        self.frozen: list[_Frozen] = []
        self.tensors: dict[int, Any] = {}  # id -> tensor held (params and buffers: start_real)
        self.saved: dict[int, tuple[Any, Any]] = {}  # id -> (tensor, copy before the first write)
        self.versions: dict[int, int] = {}
        # set while a real trace runs: only then is a version bump a real write (on meta, Python's
        # in-place operators bump the version of a tensor whose stand-in was written)
        self.real = False
        self._seen: set[int] = set()
        self.empties: list[Any] = []  # empty mutable containers (most hook dicts): to clear
        self.hook_groups: list[tuple[Any, ...]] = []  # each module's hook dicts, all empty
        # nn.Module's own non-empty dicts as (dict, keys, values): parameters, buffers, submodules
        self.flat: list[tuple[Any, list[str], list[Any]]] = []
        stack, seen = [model], {id(model)}
        while stack:  # every module once (a shared one too), as model.modules() but cheaper
            module = stack.pop()
            if isinstance(module, torch.jit.ScriptModule):  # compiled: its state lives in C++, not __dict__
                self._script_module(module)
                continue
            state = module.__dict__.copy()
            self.modules.append((module, state))
            values: Any = state.values()
            try:  # nn.Module's own entries: the hook dicts checked together, in C
                hooks = _HOOK_DICTS(state)
                own = _OWN_DICTS(state)
            except KeyError:  # a module not built by nn.Module.__init__: entry by entry
                children = state.get("_modules") or {}
            else:
                children = own[2]
                if any(hooks):
                    self._own(hooks)
                else:
                    self.hook_groups.append(hooks)
                self._own(own)
                values = [state[k] for k in state.keys() - _STANDARD]
            for child in children.values():
                if child is not None and id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
            for value in values:
                kind = type(value)
                if kind in _ATOMS:
                    continue
                if kind in _EMPTYABLE and not value:  # the hook dicts, mostly
                    self.empties.append(value)
                elif kind is tuple and all(type(v) in _ATOMS for v in value):  # kernel_size...
                    continue
                elif (f := self._visit(value, 0)) is not None:
                    self.frozen.append(f)

    def _script_module(self, module: Any) -> None:
        """A TorchScript module: only its tensors (parameters, buffers) can change under a forward;
        they are watched like any module's (a write is undone from the copy ``start_real`` keeps)."""
        self.script_modes.append((module, module.training))
        for t in (*module.parameters(), *module.buffers()):
            self.tensors[id(t)] = t

    def _own(self, dicts: tuple[Any, ...]) -> None:
        """nn.Module's own dicts and sets: flat, holding tensors, modules, names or hooks (their
        tensors are collected only if a real trace runs: ``start_real``)."""
        for d in dicts:
            if not d:
                self.empties.append(d)
            elif type(d) is set:
                self.frozen.append(_Frozen(d, set(d), []))
            else:
                self.flat.append((d, list(d), list(d.values())))

    def _visit(self, value: Any, depth: int) -> _Frozen | None:
        """Record tensors inside ``value``; freeze it if it is a mutable container (or a plain
        object's ``__dict__``: a cache object such as transformers' ``DynamicCache``)."""
        if isinstance(value, self._tensor_type):
            self.tensors[id(value)] = value
            return None
        if depth > _MAX_DEPTH:
            return None
        if not isinstance(value, dict | list | tuple | set):
            if isinstance(value, self._opaque) or _is_stdlib(type(value)):
                return None
            try:
                value = object.__getattribute__(value, "__dict__")
            except AttributeError:  # slots, C types
                return None
            if type(value) is not dict:
                return None
        if id(value) in self._seen:
            return None
        self._seen.add(id(value))
        is_tuple = isinstance(value, tuple)
        if not value:
            if not is_tuple:
                self.empties.append(value)
            return None
        items: Any
        if isinstance(value, dict):
            items = members = list(value.values())
        elif isinstance(value, set):
            items = members = set(value)
        else:
            items = members = list(value)
        children = []
        tensors, tensor_type = self.tensors, self._tensor_type
        for v in members:
            if type(v) in _ATOMS:
                continue
            if isinstance(v, tensor_type):  # parameters and buffers: no call each
                tensors[id(v)] = v
            elif (f := self._visit(v, depth + 1)) is not None:
                children.append(f)
        if is_tuple and not children:
            return None
        return _Frozen(value, None if is_tuple else items, children)

    def add_inputs(self, inputs: Any) -> None:
        """Also protect the user's example inputs: their tensors from in-place writes, the
        containers and objects holding them (a cache passed in) from changes."""
        if (f := self._visit(inputs, 0)) is not None:
            self.frozen.append(f)

    def start_real(self) -> None:
        """A real trace starts: from now on a version bump is a write (see ``restore``)."""
        tensor_type = self._tensor_type
        for _, _, values in self.flat:  # parameters and buffers
            for v in values:
                if isinstance(v, tensor_type):
                    self.tensors[id(v)] = v
        self.real = True
        self.versions = {i: _version(t) for i, t in self.tensors.items()}

    def save(self, t: Any) -> None:
        """Before an op writes ``t`` in place: keep a copy if ``t`` is one of the snapshot's."""
        if id(t) in self.tensors and id(t) not in self.saved and t.device.type != "meta":
            self.saved[id(t)] = (t, t.detach().clone())

    def restore(self) -> list[Any]:
        """Put everything back; returns the tensors written in place that had no saved copy."""
        import torch

        lost = [t for i, t in self.tensors.items()
                if _version(t) != self.versions[i] and i not in self.saved] if self.real else []  # fmt: skip
        self.real = False
        for module, training in self.script_modes:  # parents first: a child's own flag is set after
            if module.training != training:
                module.train(training)
        for module, state in self.modules:
            current = module.__dict__
            if current.keys() == state.keys() and all(map(is_, current.values(), state.values())):
                continue  # unchanged: the common case, checked in C
            for key in [k for k in current if k not in state]:
                del current[key]
            for key, value in state.items():
                if current.get(key, state) is not value:
                    current[key] = value
        for d, keys, values in self.flat:  # compared in C; rebuilt only if changed
            if not (
                len(d) == len(values) and all(map(is_, d.values(), values)) and list(d) == keys
            ):
                d.clear()
                d.update(zip(keys, values, strict=True))
        for frozen in self.frozen:
            frozen.restore()
        if any(self.empties):  # a cache filled... (checked in C)
            for empty in self.empties:
                empty.clear()
        if any(map(any, self.hook_groups)):  # a hook registered during the capture
            for group in self.hook_groups:
                for hooks in group:
                    hooks.clear()
        if self.saved:
            for t, copy in self.saved.values():
                # an inference tensor is written in inference mode (PyTorch refuses it otherwise)
                with torch.inference_mode() if t.is_inference() else torch.no_grad():
                    t.copy_(copy)
            self.saved.clear()
        return lost
