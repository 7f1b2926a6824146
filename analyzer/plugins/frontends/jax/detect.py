"""Is an object a JAX model? Decided without importing jax, flax or equinox.

Module instances are recognised by the modules their classes come from;
a jitted function by its type; a plain Python function taking arguments when
the globals and closure it refers to come from jax/flax/equinox (and not
from torch or TensorFlow, whose frontends take their own functions).
"""

from __future__ import annotations

import functools
import inspect
import sys
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
    if not callable(obj) or not takes_arguments(obj):
        return None  # a zero-argument function is a SPEC factory, not a model
    if isinstance(obj, functools.partial):
        return "function" if model_kind(obj.func) is not None else None
    if _root(type(obj).__module__) in _JAX_ROOTS:
        return "function"  # jax.jit-wrapped and other jax callables
    if isinstance(obj, types.FunctionType) and _refers_to_jax(obj):
        return "function"
    return None


def takes_arguments(fn: Any) -> bool:
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
    """The package a referenced value comes from: a class defined in the user's script
    (``class CNN(nn.Module)``) and its instances come from their framework base class."""
    if isinstance(value, types.ModuleType):
        return _root(value.__name__)
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType):
        return _root(getattr(value, "__module__", None))
    cls = value if isinstance(value, type) else type(value)
    roots = [_root(getattr(c, "__module__", None)) for c in getattr(cls, "__mro__", (cls,))]
    return next((r for r in roots if r in _JAX_ROOTS or r in _OTHER_ROOTS), roots[0])


def params_are_jax(params: Any) -> bool:
    """True when every leaf of the ``params`` pytree is a JAX array or ``jax.ShapeDtypeStruct``.

    Such parameters make a plain function a JAX model whatever its code refers to
    (``def apply_fn(variables, x): return model.apply(variables, x)``). Without jax
    imported no leaf can be a JAX array, so jax is never imported here.
    """
    jax = sys.modules.get("jax")
    if jax is None or params is None:
        return False
    leaves = jax.tree_util.tree_leaves(params)
    return bool(leaves) and all(isinstance(x, jax.Array | jax.ShapeDtypeStruct) for x in leaves)


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
