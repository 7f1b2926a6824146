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
  nested in tuples), in place, so references the user holds stay valid;
- the values of tensors written in place during a real trace: the trace
  copies a tensor of the snapshot before the first op that writes it
  (``save``), and ``restore`` copies it back.

Only modules reachable from the model and containers reachable from their
``__dict__`` are covered; state kept elsewhere (globals, arbitrary objects
that mutate themselves) is not.
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 4  # containers nested deeper than this are restored by identity only


def _version(t: Any) -> int:
    """The in-place write counter (inference tensors have none: -1)."""
    return -1 if t.is_inference() else t._version


class _Frozen:
    """A mutable container and a copy of its items (containers among them frozen too)."""

    __slots__ = ("obj", "items", "children")

    def __init__(self, obj: Any, items: Any, children: list[_Frozen]):
        self.obj, self.items, self.children = obj, items, children

    def restore(self) -> None:
        obj, items = self.obj, self.items
        if items is None:  # a tuple: immutable itself, only its mutable members can change
            pass
        elif isinstance(obj, dict):
            now = list(obj.items())
            if len(now) != len(items) or any(
                a is not c or b is not d for (a, b), (c, d) in zip(now, items, strict=True)
            ):
                obj.clear()
                obj.update(items)
        elif isinstance(obj, list):
            if len(obj) != len(items) or any(a is not b for a, b in zip(obj, items, strict=True)):
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
        self.modules: list[tuple[Any, dict[str, Any]]] = []
        self.frozen: list[_Frozen] = []
        self.tensors: dict[int, Any] = {}  # id -> every tensor the modules hold
        self.saved: dict[int, tuple[Any, Any]] = {}  # id -> (tensor, copy before the first write)
        self.versions: dict[int, int] = {}
        # set while a real trace runs: only then is a version bump a real write (on meta, Python's
        # in-place operators bump the version of a tensor whose stand-in was written)
        self.real = False
        self._seen: set[int] = set()
        for module in model.modules():
            state = dict(module.__dict__)
            self.modules.append((module, state))
            for value in state.values():
                self._visit(value, 0)
        self.versions = {i: _version(t) for i, t in self.tensors.items()}

    def _visit(self, value: Any, depth: int) -> _Frozen | None:
        """Record tensors inside ``value``; freeze it if it is a mutable container."""
        if isinstance(value, self._tensor_type):
            self.tensors[id(value)] = value
            return None
        kind = type(value)
        if not (kind is dict or kind is list or kind is tuple or kind is set
                or isinstance(value, dict | list | tuple | set)):  # fmt: skip
            return None
        if depth > _MAX_DEPTH or id(value) in self._seen:
            return None
        self._seen.add(id(value))
        items: Any
        if isinstance(value, dict):
            items = list(value.items())
            members = [v for _, v in items]
        elif isinstance(value, set):
            items = set(value)
            members = list(items)
        else:
            items = list(value)
            members = items
        children = [f for v in members if (f := self._visit(v, depth + 1)) is not None]
        if isinstance(value, tuple) and not children:
            return None
        frozen = _Frozen(value, None if isinstance(value, tuple) else items, children)
        if depth == 0:
            self.frozen.append(frozen)
        return frozen

    def add_tensors(self, tensors: Any) -> None:
        """Also protect these tensors (the user's example inputs) from in-place writes."""
        for t in tensors:
            self.tensors[id(t)] = t
            self.versions[id(t)] = _version(t)

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
        for module, state in self.modules:
            current = module.__dict__
            for key in [k for k in current if k not in state]:
                del current[key]
            for key, value in state.items():
                if current.get(key, state) is not value:
                    current[key] = value
        for frozen in self.frozen:
            frozen.restore()
        if self.saved:
            with torch.no_grad():
                for t, copy in self.saved.values():
                    t.copy_(copy)
            self.saved.clear()
        self.versions = {i: _version(t) for i, t in self.tensors.items()}
        return lost
