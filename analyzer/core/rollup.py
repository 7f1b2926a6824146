"""Per-module roll-ups: ``layer1`` totals its children.

A layer belongs to every module on its scope path (``layer1.0.conv1`` ->
``layer1``, ``layer1.0``, ``layer1.0.conv1``); call suffixes are dropped so
the calls of one module add up (``relu@1`` counts under ``relu``). Layers
without a scope are modules of their own. Each quantity combines as its
``Quantity.aggregate`` declares (``combine``): summed, the maximum
(``io_activations``), a ratio of two combined quantities
(``arithmetic_intensity`` = ops / memory_bytes) or left out (``none``).
Compare's aligned rows use the same ``combine``. Non-numeric values are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzer.core.metric import Aggregation, Quantity, Ratio, parse_aggregation

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


def aggregations(quantities: Mapping[str, Mapping[str, Any]]) -> dict[str, Aggregation]:
    """``Report.quantities`` (``{"aggregate": "sum" | "max" | "none" | "ratio:a/b"}``) -> declarations."""
    return {q: parse_aggregation(str(info.get("aggregate", "sum"))) for q, info in quantities.items()}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _accumulate(acc: dict[str, Any], values: Mapping[str, Any], aggregate: Mapping[str, Aggregation]) -> None:
    """Fold one layer's values into ``acc`` (sums and maxima; ratios are formed by ``_ratios``)."""
    for q, v in values.items():
        how = aggregate.get(q, "sum")  # undeclared quantities (older reports) add up
        if how == "none" or isinstance(how, Ratio) or not _number(v):
            continue
        if how == "max":
            acc[q] = max(acc.get(q, v), v)
        else:
            acc[q] = acc.get(q, 0) + v


def _ratios(acc: dict[str, Any], aggregate: Mapping[str, Aggregation], present: Iterable[str]) -> None:
    for q in present:
        how = aggregate.get(q)
        if isinstance(how, Ratio) and how.numerator in acc and how.denominator in acc:
            den = acc[how.denominator]
            acc[q] = acc[how.numerator] / den if den else 0.0


def combine(rows: Iterable[Mapping[str, Any]], aggregate: Mapping[str, Aggregation]) -> dict[str, Any]:
    """The values of a group of layers, each quantity combined as it declares."""
    acc: dict[str, Any] = {}
    present: dict[str, None] = {}
    for values in rows:
        present.update(dict.fromkeys(values))
        _accumulate(acc, values, aggregate)
    _ratios(acc, aggregate, present)
    return {q: acc[q] for q in present if q in acc}


def rollup(rows: list[LayerRow], aggregate: Mapping[str, Aggregation | str], depth: int | None = None) -> list[ModuleRow]:
    """Module rows in depth-first order (parents before children), down to ``depth``.

    ``aggregate`` maps quantity -> declaration (``Quantity.aggregate`` or its string form).
    """
    how = {q: a if isinstance(a, Ratio) else parse_aggregation(a) for q, a in aggregate.items()}
    modules: dict[str, ModuleRow] = {}
    present: dict[str, dict[str, None]] = {}
    for row in rows:
        parts = module_path(row)
        for d in range(1, len(parts) + 1):
            if depth is not None and d > depth:
                break
            key = ".".join(parts[:d])
            m = modules.get(key)
            if m is None:
                m = modules[key] = ModuleRow(key, d)
                present[key] = {}
            m.layers += 1
            present[key].update(dict.fromkeys(row.values))
            _accumulate(m.values, row.values, how)
    for key, m in modules.items():
        _ratios(m.values, how, present[key])
        m.values = {q: m.values[q] for q in present[key] if q in m.values}
    return list(modules.values())


def derive_ratio_totals(totals: dict[str, Any], quantities: Iterable[Quantity]) -> None:
    """Fill the model total of each ratio quantity its metric left out, from its parts' totals."""
    for q in quantities:
        how = q.aggregate
        if isinstance(how, Ratio) and q.name not in totals and how.numerator in totals and how.denominator in totals:
            num, den = totals[how.numerator], totals[how.denominator]
            if _number(num) and _number(den):
                totals[q.name] = num / den if den else 0.0
