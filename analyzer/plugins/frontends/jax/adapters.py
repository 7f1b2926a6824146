"""Model adapters: every supported model kind as ``fn(params, *inputs)``.

Each adapter returns a ``Capture``: the function to trace, its abstract
parameter pytree, a name and trainability per parameter leaf, the capture
label for ``graph.meta["capture"]`` and the context that marks module calls
while tracing (scopes.py).

- plain functions: ``apply_fn(params, *inputs)`` (or ``fn(*inputs)`` without params);
  a Flax variables dict as ``params`` is split by collection as for linen;
- Flax linen: ``model.apply(variables, *inputs)``; variables initialised
  abstractly with ``jax.eval_shape(model.init, ...)`` when not given;
  ``params`` collection trainable, every other collection (``batch_stats``) not;
- Flax NNX: ``nnx.split`` into ``nnx.Param`` state (trainable) and the rest;
- Equinox: ``eqx.partition`` into arrays (trainable) and static parts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from analyzer.core.recorder import is_shape

from .inputs import abstract_tree, leaf_names, shared_names
from .scopes import CallTracker, ModuleCalls, join_path, linen_scopes


@dataclass
class Capture:
    fn: Callable[..., Any]
    params: Any
    names: list[str]
    trainable: list[bool]
    label: str
    context: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
    module_kinds: dict[str, str] = field(default_factory=dict)  # filled while tracing
    # calls inside one-layer modules (attention) -> that module's call, filled while tracing
    call_outer: dict[str, str] = field(default_factory=dict)


def _names(tree: Any, strip: int = 0) -> list[str]:
    return shared_names(tree, leaf_names(tree, strip))


def function(fn: Callable[..., Any], params: Any, kwargs: dict[str, Any]) -> Capture:
    """A JAX function ``fn(params, *inputs)``; linen modules it applies get scopes too.

    Array leaves of ``params`` are the parameters; other leaves (functions,
    Python numbers, Equinox static parts) are passed through unchanged. When
    ``params`` is a Flax variables dict, only the ``params`` collection is
    trainable (``batch_stats`` and every other collection are state).
    """
    import jax

    tracker = CallTracker()
    if params is None:

        def traced(_p: Any, *args: Any) -> Any:
            return fn(*args, **kwargs)

        return Capture(
            traced,
            (),
            [],
            [],
            "jax.make_jaxpr",
            lambda: linen_context(tracker, made=False),
            tracker.kinds,
            tracker.outer,
        )
    flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    arrays = [i for i, (_, leaf) in enumerate(flat) if is_array(leaf)]
    leaves = [leaf for _, leaf in flat]

    def traced(p: list[Any], *args: Any) -> Any:
        full = list(leaves)
        for i, v in zip(arrays, p, strict=True):
            full[i] = v
        return fn(jax.tree_util.tree_unflatten(treedef, full), *args, **kwargs)

    dynamic = [leaves[i] for i in arrays]
    paths = [join_path(flat[i][0]) or "param" for i in arrays]
    label, trainable = "jax.make_jaxpr", [True] * len(paths)
    if is_variables(params):  # Flax's {'params', 'batch_stats', ...}: named as on the linen path
        label += " (a Flax variables dict: collections other than 'params' non-trainable)"
        trainable = [p.startswith("params.") for p in paths]
        paths = [p.removeprefix("params.") for p in paths]
    return Capture(traced, abstract_tree(dynamic), shared_names(dynamic, paths), trainable, label,
                   lambda: linen_context(tracker, made=False), tracker.kinds, tracker.outer)  # fmt: skip


def is_variables(tree: Any) -> bool:
    """A Flax variables dict: a mapping of collections (mappings) that holds ``params``
    (``{'params': ..., 'batch_stats': ...}``, what ``model.init`` returns and HF Flax
    models pass to ``module.apply``)."""
    return (
        isinstance(tree, Mapping)
        and "params" in tree
        and all(isinstance(k, str) and isinstance(v, Mapping) for k, v in tree.items())
    )


def is_array(x: Any) -> bool:
    """Array-like leaves (jax/numpy arrays, ShapeDtypeStructs): the parameters."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, type)


def linen(model: Any, args: tuple[Any, ...], variables: Any, kwargs: dict[str, Any]) -> Capture:
    import jax

    label = "flax.linen: jax.make_jaxpr(model.apply)"
    init_key, dropout_key = prng_keys()
    made = variables is None
    if made:
        rngs = {"params": init_key, "dropout": dropout_key}
        with quick_param_check(made=True):
            variables = jax.eval_shape(lambda *a: model.init(rngs, *a, **kwargs), *args)
        label += ", variables from jax.eval_shape(model.init)"
    elif not (isinstance(variables, Mapping) and "params" in variables):
        variables = {"params": variables}
    tracker = CallTracker()

    # a dropout stream, so that models traced in training mode run too (a closed-over
    # constant: no node unless a dropout uses it)
    call_kwargs = {"rngs": {"dropout": dropout_key}, **kwargs}

    def traced(v: Any, *a: Any) -> Any:
        return model.apply(v, *a, **call_kwargs)

    full = leaf_names(variables)
    names = [n.removeprefix("params.") for n in full]
    trainable = [n.startswith("params.") for n in full]

    return Capture(traced, abstract_tree(variables), shared_names(variables, names), trainable, label,
                   lambda: linen_context(tracker, made), tracker.kinds, tracker.outer)  # fmt: skip


@contextlib.contextmanager
def linen_context(tracker: CallTracker, made: bool) -> Iterator[None]:
    """While tracing: linen module calls marked, and the quick parameter check below
    (for linen modules applied inside plain functions too, when Flax is loaded)."""
    import sys

    with contextlib.ExitStack() as stack:
        stack.enter_context(linen_scopes(tracker))
        if "flax.core.scope" in sys.modules:
            stack.enter_context(quick_param_check(made))
        yield


@contextlib.contextmanager
def quick_param_check(made: bool) -> Iterator[None]:
    """Flax's ``apply`` re-traces every parameter's initializer (``jax.eval_shape``) to check
    the given variables' shapes, and ``init`` traces it to make the variable: over half of
    tracing a linen model. While the frontend traces:

    - apply: a variable passes at once when the frontend made it (``made``: right by
      construction) or when it is one array of the shape the module asks its initializer
      for (``self.param(name, init, shape, ...)``, as every Flax layer calls it);
    - init (under ``jax.eval_shape``, values never computed): a parameter made by one of
      JAX's own initializers (``jax.nn.initializers``, Flax's defaults), called as
      ``init(key, shape[, dtype])``, is ``jnp.zeros(shape, dtype)``, the shape and dtype
      those initializers return.

    Anything else, a mismatch included, goes through Flax's own code and raises its errors.
    """
    from flax.core import meta
    from flax.core.scope import Scope

    original = Scope.param

    def param(
        self: Any, name: str, init_fn: Any, *init_args: Any, unbox: bool = True, **init_kwargs: Any
    ) -> Any:
        shape = init_args[0] if init_args else None
        if self.has_variable("params", name):
            value = self.get_variable("params", name)
            if made or _has_shape(meta.unbox(value), shape):
                self.reserve(name, "params")
                return meta.unbox(value) if unbox else value
        elif (
            made and self.is_mutable_collection("params") and not init_kwargs
            and len(init_args) <= 2 and _is_param_shape(shape)
            and getattr(init_fn, "__module__", "") in _JAX_INITIALIZERS
        ):  # fmt: skip
            import jax.numpy as jnp

            self.reserve(name, "params")
            value = jnp.zeros(shape, init_args[1] if len(init_args) > 1 else None)
            self.put_variable("params", name, value)
            return value
        return original(self, name, init_fn, *init_args, unbox=unbox, **init_kwargs)

    Scope.param = param
    try:
        yield
    finally:
        Scope.param = original


_JAX_INITIALIZERS = frozenset({"jax._src.nn.initializers", "jax.nn.initializers"})


def _is_param_shape(shape: Any) -> bool:
    """A tuple of ints, ``()`` included (a scalar parameter): what ``_has_shape`` compares."""
    return isinstance(shape, tuple) and is_shape(shape, empty=True)


def _has_shape(value: Any, shape: Any) -> bool:
    """Is ``value`` one array of shape ``shape`` (a tuple of ints)?"""
    import jax

    leaves = jax.tree_util.tree_leaves(value)
    one = len(leaves) == 1
    return _is_param_shape(shape) and one and tuple(getattr(leaves[0], "shape", ())) == shape


@functools.cache
def prng_keys() -> tuple[Any, Any]:
    """The keys handed to linen's ``init`` and ``dropout`` streams, made once per process
    (making a key runs, and after ``jax.clear_caches()`` compiles, a computation)."""
    import jax

    return jax.random.key(0), jax.random.key(1)


def nnx(model: Any, kwargs: dict[str, Any]) -> Capture:
    import jax
    from flax import nnx as fnnx

    # RNG keys and counters (nnx.Rngs, and Dropout's own stream) are not weights: closed
    # over as constants, they add no parameter and no node unless a random op uses them
    graphdef, params, rng_state, rest = fnnx.split(model, fnnx.Param, fnnx.RngState, ...)

    def children(module: Any, path: str) -> Iterator[tuple[str, Any]]:
        for p, m in fnnx.iter_graph(module):
            if isinstance(m, fnnx.Module) and p:
                yield (join_path((path, *p)) if path else join_path(p)), m

    calls = ModuleCalls(fnnx.Module, fnnx.graphdef, children)
    classes = {type(m) for _, m in fnnx.iter_graph(model) if isinstance(m, fnnx.Module)}

    def traced(state: Any, *a: Any) -> Any:
        # fresh RNG variables inside the trace, so that the call may advance their counters
        rngs = jax.tree_util.tree_map(lambda x: x, rng_state)
        m = fnnx.merge(graphdef, state[0], rngs, state[1])
        calls.register(
            (join_path(p), mod) for p, mod in fnnx.iter_graph(m) if isinstance(mod, fnnx.Module)
        )
        return m(*a, **kwargs)

    state = (params, rest)
    # leaves are Variable values: drop the state index and the trailing ".value"
    names = [n.removesuffix(".value") for n in leaf_names(state, strip=1)]
    trainable = [True] * len(leaf_names(params)) + [False] * len(leaf_names(rest))
    return Capture(traced, abstract_tree(state), shared_names(state, names), trainable,
                   "flax.nnx: nnx.split + jax.make_jaxpr", lambda: calls.patched(classes), calls.tracker.kinds,
                   calls.tracker.outer)  # fmt: skip


def equinox(model: Any, kwargs: dict[str, Any]) -> Capture:
    import equinox as eqx
    import jax

    params, static = eqx.partition(model, is_array)
    calls = ModuleCalls(
        eqx.Module,
        jax.tree_util.tree_structure,
        lambda m, path: eqx_modules(m, tuple(path.split(".")) if path else ()),
    )
    classes = {type(m) for _, m in eqx_modules(model)}

    def traced(p: Any, *a: Any) -> Any:
        m = eqx.combine(p, static)
        calls.register(eqx_modules(m))
        return m(*a, **kwargs)

    names = _names(params)
    return Capture(traced, abstract_tree(params), names, [True] * len(names),
                   "equinox: eqx.partition + jax.make_jaxpr", lambda: calls.patched(classes), calls.tracker.kinds,
                   calls.tracker.outer)  # fmt: skip


def eqx_modules(root: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(path, module) for every Equinox module in the tree under ``root``."""
    import equinox as eqx

    if isinstance(root, eqx.Module):
        yield ".".join(path), root
        for f in dataclasses.fields(root):
            yield from eqx_modules(getattr(root, f.name, None), (*path, f.name))
    elif isinstance(root, list | tuple):
        for i, x in enumerate(root):
            yield from eqx_modules(x, (*path, str(i)))
    elif isinstance(root, dict):
        for k, x in root.items():
            yield from eqx_modules(x, (*path, str(k)))
