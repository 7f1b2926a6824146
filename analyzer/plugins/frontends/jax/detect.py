"""Is an object a JAX model? Decided without importing jax, flax or equinox.

Module instances are recognised by the modules their classes come from;
a jitted function by its type; a plain Python function taking arguments when
the globals and closure it refers to come from jax/flax/equinox (and not
from torch or TensorFlow, whose frontends take their own functions).
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any

_JAX_ROOTS = frozenset({"jax", "jaxlib", "flax", "equinox"})
_OTHER_ROOTS = frozenset({"torch", "tensorflow", "keras", "tf_keras"})


def model_kind(obj: Any) -> str | None:
    """``"linen"``, ``"nnx"``, ``"equinox"``, ``"linen_apply"``, ``"function"`` or None."""
    mro = [(getattr(c, "__module__", ""), c.__qualname__) for c in type(obj).__mro__]
    if ("flax.linen.module", "Module") in mro:
        return "linen"
    if ("flax.nnx.module", "Module") in mro:
        return "nnx"
    if any(m.startswith("equinox.") and q == "Module" for m, q in mro):
        return "equinox"
    owner = getattr(obj, "__self__", None)
    if (
        owner is not None
        and getattr(obj, "__name__", "") == "apply"
        and model_kind(owner) == "linen"
    ):
        return "linen_apply"
    if not callable(obj) or not _takes_arguments(obj):
        return None  # a zero-argument function is a SPEC factory, not a model
    if isinstance(obj, functools.partial):
        return "function" if model_kind(obj.func) is not None else None
    if _root(type(obj).__module__) in _JAX_ROOTS:
        return "function"  # jax.jit-wrapped and other jax callables
    if isinstance(obj, types.FunctionType) and _refers_to_jax(obj):
        return "function"
    return None


def _takes_arguments(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def _root(module: Any) -> str:
    return module.split(".")[0] if isinstance(module, str) else ""


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _code_names(c)
    return names


def _origin(value: Any) -> str:
    if isinstance(value, types.ModuleType):
        return _root(value.__name__)
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return _root(getattr(value, "__module__", None))
    return _root(type(value).__module__)


def _refers_to_jax(fn: types.FunctionType) -> bool:
    g = fn.__globals__
    values = [g[n] for n in _code_names(fn.__code__) if n in g]
    for cell in fn.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell
            continue
    roots = {_origin(v) for v in values}
    return bool(roots & _JAX_ROOTS) and not roots & _OTHER_ROOTS
