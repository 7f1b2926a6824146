"""One ATen call as the op table sees it: arguments bound to their schema names.

The capture paths give positional and keyword arguments the way the
framework passed them; handlers read them by name (``c["weight"]``), so the
same handler serves a dispatch trace and a ``torch.export`` graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from analyzer.plugins.frontends.torch.recorder import V

_SCHEMAS: dict[Any, tuple[str, str, str, tuple[tuple[str, Any], ...]]] = {}
_NO_DEFAULT = object()


def op_info(func: Any) -> tuple[str, str, str, tuple[tuple[str, Any], ...]]:
    """(table key, overload, source_op, ((arg name, default), ...)) of an OpOverload, cached."""
    info = _SCHEMAS.get(func)
    if info is None:
        schema = func._schema
        ns, _, name = schema.name.partition("::")
        key = name if ns == "aten" else schema.name
        overload = schema.overload_name or "default"
        args = tuple(
            (a.name, a.default_value if a.has_default_value() else _NO_DEFAULT)
            for a in schema.arguments
        )
        info = _SCHEMAS[func] = (key, overload, f"{ns}.{name}.{overload}", args)
    return info


class Call:
    """An ATen call with ``V`` values in place of tensors and ``outs`` to be named."""

    __slots__ = ("op", "overload", "source", "bound", "outs")

    def __init__(self, func: Any, args: tuple, kwargs: dict, outs: list[V]):
        self.op, self.overload, self.source, schema = op_info(func)
        bound: dict[str, Any] = {}
        n = len(args)
        for i, (name, default) in enumerate(schema):
            if i < n:
                bound[name] = args[i]
            elif name in kwargs:
                bound[name] = kwargs[name]
            elif default is not _NO_DEFAULT:
                bound[name] = default
        self.bound = bound
        self.outs = outs

    def __getitem__(self, name: str) -> Any:
        return self.bound[name]

    def get(self, name: str, default: Any = None) -> Any:
        value = self.bound.get(name, default)
        return default if value is None else value

    def tensors(self) -> Iterator[V]:
        """Every tensor argument, in schema order (lists of tensors flattened)."""
        for value in self.bound.values():
            if isinstance(value, V):
                yield value
            elif isinstance(value, list | tuple):
                yield from (v for v in value if isinstance(v, V))

    def first(self) -> V:
        return next(self.tensors())
