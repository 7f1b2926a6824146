"""Per-module roll-ups: ``layer1`` totals its children.

A layer belongs to every module on its scope path (``layer1.0.conv1`` ->
``layer1``, ``layer1.0``, ``layer1.0.conv1``); call suffixes are dropped so
the calls of one module add up (``relu@1`` counts under ``relu``). Layers
without a scope are modules of their own. Quantities whose total is a
maximum (``io_activations``, ``live_activations``) take the maximum over
the module's layers; the others are summed. Non-numeric values are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer.core.report import LayerRow

_CALL_SUFFIX = re.compile(r"@\d+$")


def module_path(row: LayerRow) -> list[str]:
    if not row.scope:
        return [row.name]
    return [_CALL_SUFFIX.sub("", part) for part in row.scope.split(".")]


@dataclass(slots=True)
class ModuleRow:
    path: str
    depth: int
    layers: int = 0
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "depth": self.depth, "layers": self.layers, **self.values}


def rollup(rows: list[LayerRow], aggregate: dict[str, str], depth: int | None = None) -> list[ModuleRow]:
    """Module rows in depth-first order (parents before children), down to ``depth``."""
    modules: dict[str, ModuleRow] = {}
    for row in rows:
        parts = module_path(row)
        for d in range(1, len(parts) + 1):
            if depth is not None and d > depth:
                break
            key = ".".join(parts[:d])
            m = modules.get(key)
            if m is None:
                m = modules[key] = ModuleRow(key, d)
            m.layers += 1
            for q, v in row.values.items():
                if not isinstance(v, int | float) or isinstance(v, bool):
                    continue
                if aggregate.get(q) == "max":
                    m.values[q] = max(m.values.get(q, v), v)
                else:
                    m.values[q] = m.values.get(q, 0) + v
    return list(modules.values())
