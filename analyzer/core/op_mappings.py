"""Frontend op mappings contributed by plugins (hook ``analyzer_register_op_mappings``).

A plugin maps a framework's own op (``source_op``, as that framework's
frontend names it) onto a canonical op, or onto a handler written against
that frontend's handler signature. Core stores them per framework name and
refuses two plugins mapping the same source op; the frontend of that name
reads its mappings in ``bind_plugins`` and consults them before its own
tables (docs/plugins.md, "Frontend op mappings"). Core never interprets a
source op name: what it means is the frontend's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from analyzer.core.errors import UsageError

Target = (
    str | Callable[..., Any]
)  # a canonical op name, or a handler of the frontend's own signature


@dataclass(frozen=True, slots=True)
class OpMapping:
    framework: str
    source_op: str
    target: Target
    plugin: str  # the plugin that registered it (named in errors)

    def describe(self) -> str:
        target = (
            self.target
            if isinstance(self.target, str)
            else getattr(self.target, "__name__", "a handler")
        )
        return f"{self.framework} op {self.source_op!r} -> {target} (plugin {self.plugin})"


class OpMappings:
    """Every plugin mapping of one plugin set, by framework then source op."""

    def __init__(self) -> None:
        self._by_framework: dict[str, dict[str, OpMapping]] = {}

    def add(
        self, framework: str, source_op: str, target: Target, plugin: str = "registered in code"
    ) -> None:
        if not isinstance(framework, str) or not framework:
            raise UsageError(
                f"plugin {plugin}: an op mapping needs a framework name, got {framework!r}"
            )
        if not isinstance(source_op, str) or not source_op:
            raise UsageError(
                f"plugin {plugin}: a {framework} op mapping needs a source op name, got {source_op!r}"
            )
        if not (isinstance(target, str) and target) and not callable(target):
            raise UsageError(f"plugin {plugin}: {framework} op {source_op!r} must map to a canonical op name "
                             f"or a handler, not {target!r}")  # fmt: skip
        table = self._by_framework.setdefault(framework, {})
        first = table.get(source_op)
        if first is not None:
            raise UsageError(f"{framework} op {source_op!r} is mapped by plugin {first.plugin} and by plugin "
                             f"{plugin}; block one with --block-plugin")  # fmt: skip
        table[source_op] = OpMapping(framework, source_op, target, plugin)

    def for_framework(self, framework: str) -> dict[str, OpMapping]:
        """The mappings for ``framework`` by source op (a copy)."""
        return dict(self._by_framework.get(framework, {}))

    def frameworks(self) -> list[str]:
        return sorted(self._by_framework)

    def __iter__(self) -> Iterator[OpMapping]:
        for table in self._by_framework.values():
            yield from table.values()

    def __len__(self) -> int:
        return sum(len(t) for t in self._by_framework.values())


def refuse_clashes(framework: str, keyed: dict[str, list[OpMapping]]) -> None:
    """For frontends that normalise source-op names: two plugins' names for one op are a clash too."""
    for key, maps in keyed.items():
        plugins = list(dict.fromkeys(m.plugin for m in maps))
        if len(maps) > 1:
            names = " and ".join(f"{m.source_op!r} (plugin {m.plugin})" for m in maps)
            why = "" if len(plugins) > 1 else " twice"
            raise UsageError(
                f"{framework} op {key!r} is mapped{why} by {names}; block one with --block-plugin"
            )


T = TypeVar("T")


class ActiveMappings(Generic[T]):
    """The plugin mappings of the conversion in progress (a context variable: conversions in other
    threads or with other plugin sets do not see them). Frontends consult ``get()`` in their lookups."""

    def __init__(self, name: str) -> None:
        self._var: ContextVar[dict[str, T]] = ContextVar(name, default={})  # noqa: B039 (never mutated)

    def get(self) -> dict[str, T]:
        return self._var.get()

    @contextmanager
    def using(self, mappings: dict[str, T]) -> Iterator[None]:
        token = self._var.set(mappings)
        try:
            yield
        finally:
            self._var.reset(token)
