"""Layer scopes from jaxpr name stacks.

Every equation carries a name stack (``jax.named_scope`` entries). Module
libraries differ: Flax linen pushes the module *name* (``Dense_0``, not
its path, and the same name for every call), NNX pushes nothing, Equinox
pushes the layer class (``eqx.nn.Linear``). So while a model is traced the
frontend wraps every module call in a marker scope carrying the module's
path and a call serial; an equation's scope is the path in its innermost
marker, the k-th call numbered ``@k`` (``block.Dense_0@1``). Functions traced without markers (plain JAX) use
their own named scopes, ``/`` turned into ``.``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

MARKER = "analyzer.call:"


def scope_of(entries: Iterable[Any]) -> str:
    """The dotted scope of a name stack (a sequence of jax Scope/Transform entries)."""
    names = [e.name for e in entries if type(e).__name__ == "Scope"]
    marked = [n for n in names if n.startswith(MARKER)]
    if marked:
        return marked[-1][len(MARKER) :]
    return ".".join(p for n in names for p in n.replace("/", ".").split(".") if p)


CALL_SEP = "\x1f"  # between a module path and the serial number of its call, in markers


class CallTracker:
    """Marks module calls while tracing: ``path + CALL_SEP + serial``.

    Serial numbers are unique per trace; ``number_calls`` turns them into
    ``@k`` in the order calls appear in the final graph, so calls made in
    traces the jaxpr does not keep (Flax traces some bodies twice) leave no
    gaps. A method calling another method of the module already running
    is part of the same call.
    """

    def __init__(self) -> None:
        self.serial = 0
        self.stack: list[tuple[str, str]] = []  # (path, marker) of the calls running
        self.kinds: dict[str, str] = {}  # marker -> module class name
        self.outer: dict[str, str] = {}  # marker of a call inside a one-layer module -> its marker
        self._absorbing: set[str] = set()

    @contextlib.contextmanager
    def call(self, path: str, kind: str = "", one_layer: bool = False) -> Iterator[None]:
        """Mark a call of the module at ``path``; ``one_layer``: the module is one layer
        (attention, docs/ir.md), so the calls it makes are part of its layer."""
        import jax

        if self.stack and self.stack[-1][0] == path:
            yield
            return
        name = f"{path}{CALL_SEP}{self.serial}"
        self.serial += 1
        if kind:
            self.kinds[name] = kind
        parent = self.stack[-1][1] if self.stack else None
        if parent is not None and parent in self._absorbing:
            self.outer[name] = self.outer.get(parent, parent)
            self._absorbing.add(name)
        elif one_layer:
            self._absorbing.add(name)
        self.stack.append((path, name))
        try:
            with jax.named_scope(MARKER + name):
                yield
        finally:
            self.stack.pop()


def is_one_layer(module: Any) -> bool:
    """Attention modules of Flax (linen, NNX) and Equinox are one layer, as PyTorch's
    MultiheadAttention is: their query/key/value/output sub-modules are part of it."""
    return any(
        c.__name__ in _ATTENTION and c.__module__.split(".")[0] in ("flax", "equinox")
        for c in type(module).__mro__
    )


_ATTENTION = frozenset({"MultiHeadDotProductAttention", "MultiHeadAttention", "MultiheadAttention"})


def number_calls(nodes: Iterable[Any], outer: dict[str, str] | None = None) -> dict[str, str]:
    """Rewrite node scopes from markers to layer scopes, in execution order.

    The k-th call (k >= 1) of a module path that has nodes in the graph gets
    ``@k`` on its last component (docs/ir.md). Numbering the final nodes
    leaves no gaps for calls whose ops were folded away (calls with only
    ``constant`` nodes are not numbered) or that only appear in a trace the jaxpr
    does not keep. Calls inside a one-layer module
    (``outer``: marker -> that module's marker) take its scope. Returns
    marker -> layer scope for the calls that are layers.
    """
    outer = outer or {}
    nodes = list(nodes)
    names: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for n in nodes:
        raw = outer.get(n.scope, n.scope)
        if CALL_SEP in raw and raw not in names and n.op != "constant":
            path = raw.split(CALL_SEP)[0]
            names[raw] = f"{path}@{counts[path]}" if counts[path] else path
            counts[path] += 1
    for n in nodes:
        raw = outer.get(n.scope, n.scope)
        if CALL_SEP in raw:
            # folded constants of a call with no work (a lifted scan's first trace) are no
            # call of their own: they take the module's path
            n.scope = names.get(raw) or raw.split(CALL_SEP)[0]
    return names


def join_path(keys: Iterable[Any]) -> str:
    """A pytree / module-graph path as ``a.b.0``."""
    parts = []
    for k in keys:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr) and not isinstance(k, str | int):
                k = getattr(k, attr)
                break
        parts.append(str(k))
    return ".".join(parts)


@contextlib.contextmanager
def linen_scopes(tracker: CallTracker) -> Iterator[None]:
    """Mark every Flax linen module method call with the module's path."""
    import sys

    if "flax.linen" not in sys.modules:
        yield
        return
    import flax.linen as nn

    def interceptor(next_fun: Callable, args: tuple, kwargs: dict, context: Any) -> Any:
        module = context.module
        if context.method_name == "setup" or module.scope is None:
            return next_fun(*args, **kwargs)
        with tracker.call(".".join(module.path), type(module).__name__, is_one_layer(module)):
            return next_fun(*args, **kwargs)

    with nn.intercept_methods(interceptor):
        yield


class ModuleCalls:
    """Call markers for module libraries without a call hook (NNX, Equinox).

    ``patched(classes)`` wraps ``__call__`` of those classes (restored on
    exit); ``register(pairs)`` records, from inside the traced function,
    the module objects the model was rebuilt into and their paths.

    A module rebuilt inside the model is a new object: a scanned layer made by
    ``eqx.combine`` from a slice of stacked weights, ``nnx.scan``'s per-step module,
    ``eqx.filter_vmap(self.layer)``. Such a copy takes the path of the registered
    module of its class and structure (``structure``: Equinox's pytree structure,
    NNX's graph definition; equal for a stacked layer and one step of it) when
    exactly one has them, and its sub-modules (``children``) the paths below; an
    ambiguous copy keeps the caller's scope.
    """

    def __init__(
        self,
        base: type,
        structure: Callable[[Any], Any] | None = None,
        children: Callable[[Any, str], Iterable[tuple[str, Any]]] | None = None,
    ) -> None:
        self.base = base
        self.tracker = CallTracker()
        self.structure = structure
        self.children = children
        self._paths: dict[int, tuple[Any, str]] = {}  # id -> (module, path); keeps modules alive
        self._by_structure: dict[Any, list[str]] | None = None

    def register(self, pairs: Iterable[tuple[str, Any]]) -> None:
        self._paths = {id(m): (m, path) for path, m in pairs}
        self._by_structure = None

    def _key(self, module: Any) -> Any:
        try:
            return type(module), self.structure(module)  # type: ignore[misc]
        except Exception:  # unhashable or unflattenable: no match
            return None

    def _copy_path(self, module: Any) -> str | None:
        """The path of the one registered module ``module`` is a copy of, or None."""
        if self.structure is None or self.children is None:
            return None
        if self._by_structure is None:
            index: dict[Any, list[str]] = {}
            for m, path in self._paths.values():
                key = self._key(m)
                if key is not None:
                    index.setdefault(key, []).append(path)
            self._by_structure = index
        key = self._key(module)
        paths = self._by_structure.get(key, []) if key is not None else []
        if len(paths) != 1:
            return None
        for sub_path, sub in self.children(module, paths[0]):
            self._paths.setdefault(id(sub), (sub, sub_path))
        return paths[0]

    @contextlib.contextmanager
    def patched(self, classes: Iterable[type]) -> Iterator[None]:
        originals: dict[type, Any] = {}
        for cls in classes:
            for klass in cls.__mro__:
                if (
                    klass is not self.base
                    and issubclass(klass, self.base)
                    and "__call__" in vars(klass)
                ):
                    originals.setdefault(klass, vars(klass)["__call__"])
        try:
            for klass, orig in originals.items():
                type.__setattr__(klass, "__call__", self._wrap(orig))
            yield
        finally:
            for klass, orig in originals.items():
                type.__setattr__(klass, "__call__", orig)

    def _wrap(self, orig: Callable) -> Callable:
        def __call__(module: Any, *args: Any, **kwargs: Any) -> Any:
            entry = self._paths.get(id(module))
            if entry is not None and entry[0] is module:
                path: str | None = entry[1]
            else:
                path = self._copy_path(module)
            if path is None:
                return orig(module, *args, **kwargs)
            with self.tracker.call(path, type(module).__name__, is_one_layer(module)):
                return orig(module, *args, **kwargs)

        return __call__
