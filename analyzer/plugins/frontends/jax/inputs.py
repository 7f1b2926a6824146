"""Inputs and parameter pytrees as abstract values (``jax.ShapeDtypeStruct``).

Nothing here keeps or creates real arrays: arrays given by the user only
lend their shape and dtype.
"""

from __future__ import annotations

from typing import Any

from analyzer.core.errors import UsageError
from analyzer.core.frontend import shape_inputs
from analyzer.core.ir import Tensor
from analyzer.core.recorder import is_shape

from .scopes import join_path

_JNP_DTYPE = {"tfloat32": "float32"}


def abstract(x: Any) -> Any:
    """One leaf as a ShapeDtypeStruct (arrays, Tensor specs, shapes, Python scalars)."""
    import jax
    import jax.numpy as jnp

    if isinstance(x, jax.ShapeDtypeStruct):
        return x
    if isinstance(x, Tensor):
        return jax.ShapeDtypeStruct(x.shape, jnp.dtype(_JNP_DTYPE.get(x.dtype, x.dtype)))
    if is_shape(x):
        return jax.ShapeDtypeStruct(tuple(x), jnp.float32)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return jax.ShapeDtypeStruct(tuple(x.shape), x.dtype)
    return jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x))


def abstract_tree(tree: Any) -> Any:
    import jax

    return jax.tree_util.tree_map(
        abstract, tree, is_leaf=lambda x: isinstance(x, Tensor) or is_shape(x)
    )


def abstract_inputs(inputs: Any) -> tuple[tuple[Any, ...], list[str]]:
    """Positional arguments as abstract pytrees, and a name per leaf.

    ``inputs``: a shape, a ``Tensor`` spec, an array or ShapeDtypeStruct, or
    a tuple/list of those (one per positional argument; each may be a pytree).
    """
    import jax

    if inputs is None:
        raise UsageError(
            "the jax frontend needs the model's inputs: arrays, jax.ShapeDtypeStructs or shapes (--input-shape)"
        )
    specs = shape_inputs(inputs)
    if specs is not None:
        return tuple(abstract(t) for t in specs), [t.name for t in specs]
    items = list(inputs) if isinstance(inputs, tuple | list) else [inputs]
    args = tuple(abstract_tree(a) for a in items)
    names = []
    for i, arg in enumerate(args):
        leaves = jax.tree_util.tree_flatten_with_path(arg)[0]
        for path, _ in leaves:
            base = "input" if len(args) == 1 else f"input{i}"
            names.append(".".join(filter(None, (base, join_path(path)))))
    return args, names


def leaf_names(tree: Any, strip: int = 0) -> list[str]:
    """Dotted path of every leaf of ``tree`` (without its first ``strip`` keys)."""
    import jax

    return [
        join_path(path[strip:]) or "param"
        for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]
    ]


def shared_names(tree: Any, names: list[str]) -> list[str]:
    """``names`` with leaves that are one array object (tied weights) renamed to the first."""
    import jax

    first: dict[int, str] = {}
    out = []
    for leaf, name in zip(jax.tree_util.tree_leaves(tree), names, strict=True):
        if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
            name = first.setdefault(id(leaf), name)
        out.append(name)
    return out
