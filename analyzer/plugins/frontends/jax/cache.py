"""Traces reused across analyses of the same model, as ``jax.jit`` reuses its own.

Tracing is nearly all of a JAX analysis (the walk and the passes are a few
milliseconds). Analysing the same model object again on inputs and parameters
of the same shapes, dtypes and structure, with the same call options, reuses
the first trace (the closed jaxpr and what was recorded while tracing: names,
trainability, module calls); the graph is rebuilt from it, so callers never
share a Graph.

The key follows ``jax.jit``'s caching contract: the model's identity (a module,
a function, or the object a bound method belongs to), the abstract values of
array leaves, the values of other (hashable) leaves, the call keyword
arguments, the 64-bit mode, and for Flax NNX modules their graph definition
(NNX modules are mutable: ``model.eval()`` changes it). A function that reads
mutable global state is reused as ``jax.jit`` would reuse it; pass
``frontend_options={"cache": False}`` to trace afresh. Entries hold only a weak
reference to the model and are dropped when it is garbage-collected (a jaxpr
may hold large closed-over constants); the cache keeps the last ``SIZE`` traces.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

SIZE = 16

_entries: OrderedDict[Hashable, tuple[Any, Any, Any]] = OrderedDict()


def owner_of(model: Any) -> tuple[Any, Any]:
    """(object whose lifetime the trace depends on, the function itself if bound)."""
    owner = getattr(model, "__self__", None)
    if owner is not None and hasattr(model, "__func__"):
        return owner, model.__func__
    return model, None


def signature(tree: Any) -> Hashable | None:
    """A hashable description of a pytree as a trace sees it; None when a leaf is not
    hashable (no caching then)."""
    import jax

    leaves, treedef = jax.tree_util.tree_flatten(tree)
    parts: list[Hashable] = [treedef]
    for leaf in leaves:
        if hasattr(leaf, "shape") and hasattr(leaf, "dtype") and not isinstance(leaf, type):
            parts.append(
                (tuple(leaf.shape), str(leaf.dtype), bool(getattr(leaf, "weak_type", False)))
            )
            continue
        try:
            hash(leaf)
        except TypeError:
            return None
        parts.append((type(leaf), leaf))
    return tuple(parts)


def key(kind: str, model: Any, args: Any, params: Any, kwargs: dict[str, Any]) -> Hashable | None:
    """The cache key of one analysis, or None when it cannot be cached."""
    import jax

    owner, func = owner_of(model)
    try:
        weakref.ref(owner)
    except TypeError:
        return None
    parts = [signature(args), signature(params), signature(kwargs)]
    if any(p is None for p in parts):
        return None
    extra: Hashable = None
    if kind == "nnx":
        from flax import nnx

        extra = nnx.graphdef(model)
    return (kind, id(owner), func, *parts, extra, bool(jax.config.jax_enable_x64))


def get(k: Hashable | None, model: Any) -> tuple[Any, Any] | None:
    """(closed jaxpr, capture) traced before for ``k``, if ``model`` is still that object."""
    if k is None or k not in _entries:
        return None
    ref, closed, capture = _entries[k]
    if ref() is not owner_of(model)[0]:  # the object died and its id was reused
        del _entries[k]
        return None
    _entries.move_to_end(k)
    return closed, capture


def put(k: Hashable | None, model: Any, closed: Any, capture: Any) -> None:
    if k is None:
        return
    # the entry goes when the model does: a jaxpr may hold large closed-over constants
    ref = weakref.ref(owner_of(model)[0], lambda _: _entries.pop(k, None))
    _entries[k] = (ref, closed, capture)
    while len(_entries) > SIZE:
        _entries.popitem(last=False)


def clear() -> None:
    _entries.clear()
