"""The value types of the IR: tensors, parameters and nodes.

A node is one operation with a fixed schema (torch.fx style); results of
passes go in ``node.meta``, never in new fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from analyzer.core import dtypes

Shape = tuple[int, ...]


def numel(shape: Shape) -> int:
    """Number of elements of a tensor of ``shape`` (1 for a scalar)."""
    return math.prod(shape)


class _Sized:
    """Element count (derived once from ``shape``) and byte size, shared by tensors and params."""

    __slots__ = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "numel", numel(self.shape))  # type: ignore[attr-defined]

    @property
    def nbytes(self) -> int:
        return self.numel * dtypes.bits(self.dtype) // 8  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Tensor(_Sized):
    """An activation or constant tensor: produced by a node or fed as a graph input.

    ``constant`` marks literals and folded constants, which are neither
    activations nor parameters. ``numel`` is derived from the shape.
    """

    name: str
    shape: Shape
    dtype: str = "float32"
    constant: bool = False
    numel: int = field(init=False, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Param(_Sized):
    """A parameter tensor of the model, owned by the graph and referenced by nodes.

    ``trainable`` is False for frozen weights and statistics; ``buffer`` marks
    state that is not a parameter in the framework's sense (PyTorch buffers
    such as BatchNorm running statistics). ``role`` says what the tensor is to
    the op that uses it (``weight``, ``bias``, ``scale``, ``shift``, ``mean``,
    ``var``, ``embedding``...); ``bias=False`` analyses drop ``role == "bias"``.
    """

    name: str
    shape: Shape
    dtype: str = "float32"
    trainable: bool = True
    buffer: bool = False
    role: str = "weight"
    numel: int = field(init=False, repr=False, compare=False)


class _Storage:
    """Where a node keeps its ``attrs`` and ``meta``: None when empty (see ``_LazyDict``).

    ``Node``, a slots dataclass, inherits these two slots (it makes none of the same name);
    its ``attrs`` and ``meta`` properties read and write them under the aliases ``_attrs`` and
    ``_meta`` (the slots' own descriptors under a second name: as fast as a plain field).
    """

    __slots__ = ("attrs", "meta")


_Storage._attrs = _Storage.__dict__["attrs"]  # type: ignore[attr-defined]
_Storage._meta = _Storage.__dict__["meta"]  # type: ignore[attr-defined]


@dataclass(slots=True)
class Node(_Storage):
    """One operation.

    ``inputs`` are the op's ordered operands: names of activation tensors,
    parameters or constants (a convolution's weight is an operand like in
    every framework). ``outputs`` are names of the tensors it produces.
    ``attrs`` hold the op's static attributes (see ``docs/ir.md``); the
    attribute ``repeat`` (default 1) says the op runs that many times, as the
    body of a loop does. ``scope`` is the module path of the innermost
    module/layer call the op belongs to (``layer1.0.conv1``; a second call of
    the same module is ``relu@1``); ``source_op`` is the framework's name.

    ``attrs`` and ``meta`` read and write as dicts; an empty one is not stored
    (memory at scale): reading it gives an empty dict (a subclass) that becomes
    the node's own on its first write.
    """

    id: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    scope: str = ""
    source_op: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def repeat(self) -> int:
        attrs = self._attrs  # the stored dict, or None (no attrs)
        return int(attrs.get("repeat", 1)) if attrs else 1


class _LazyDict(dict):  # type: ignore[type-arg]
    """The ``attrs`` or ``meta`` of a node that has none: an empty dict that, on its first
    write, becomes that node's own.

    Most nodes have no meta and many no attrs, and an empty dict per node is 64 bytes (64 MB
    in a graph of a million nodes); so an empty one is not stored, and reading it gives one
    of these. Every way to add a key goes through ``_own`` first.
    """

    __slots__ = ("_node",)
    _slot = ""  # the node's slot it becomes: ``_attrs`` or ``_meta`` (a subclass each)

    def _own(self) -> None:
        try:
            node = self._node
        except AttributeError:  # made by copy/pickle machinery: a dict of no node
            return
        if node is not None:
            self._node = None
            if getattr(node, self._slot) is None:  # nobody wrote through another view since
                setattr(node, self._slot, self)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._own()
        dict.__setitem__(self, key, value)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._own()
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._own()
        dict.update(self, *args, **kwargs)

    def __ior__(self, other: Any) -> _LazyDict:
        self._own()
        return dict.__ior__(self, other)  # type: ignore[return-value]

    def __reduce__(self) -> tuple[Any, ...]:
        return dict, (dict(self),)  # copies and pickles are plain dicts


class _LazyAttrs(_LazyDict):
    __slots__ = ()
    _slot = "_attrs"


class _LazyMeta(_LazyDict):
    __slots__ = ()
    _slot = "_meta"


# A property reading a slot by name costs a quarter of one calling the slot descriptor's
# ``__get__``: attrs are read in hot loops.
def _get_attrs(node: Node) -> dict[str, Any]:
    attrs = node._attrs
    if attrs is None:
        attrs = _LazyAttrs()
        attrs._node = node
    return attrs


def _set_attrs(node: Node, attrs: dict[str, Any]) -> None:
    node._attrs = attrs if attrs else None  # an empty dict is not kept (see _LazyDict)


def _get_meta(node: Node) -> dict[str, Any]:
    meta = node._meta
    if meta is None:
        meta = _LazyMeta()
        meta._node = node
    return meta


def _set_meta(node: Node, meta: dict[str, Any]) -> None:
    node._meta = meta if meta else None


Node.attrs = property(_get_attrs, _set_attrs, doc="The op's static attributes (a dict).")  # type: ignore[assignment,method-assign]
Node.meta = property(_get_meta, _set_meta, doc="Results of passes and frontend flags (a dict).")  # type: ignore[assignment,method-assign]

# ``stored_attrs(node)`` / ``stored_meta(node)``: the node's attrs / meta dict, or None when it
# has none (no empty dict made): a third of the cost of reading ``node.attrs``, for loops over
# every node of a big graph.
stored_attrs = attrgetter("_attrs")
stored_meta = attrgetter("_meta")
