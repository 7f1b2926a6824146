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
    t = type(v)
    return t is int or t is float or (isinstance(v, int | float) and t is not bool)


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


_SUM, _MAX, _SKIP = 0, 1, 2


def _kinds(aggregate: Mapping[str, Aggregation]) -> dict[str, int]:
    """How ``_fold`` treats each declared quantity (undeclared ones add up)."""
    return {q: _MAX if how == "max" else _SKIP if how == "none" or isinstance(how, Ratio) else _SUM
            for q, how in aggregate.items()}  # fmt: skip


def _fold(acc: dict[str, Any], values: Mapping[str, Any], plan: tuple[tuple[str, int], ...]) -> None:
    """``_accumulate`` of the quantities ``plan`` lists (``_plan``): the roll-ups' inner loop."""
    get = acc.get
    for q, kind in plan:
        v = values[q]
        t = type(v)
        if t is not int and t is not float and (not isinstance(v, int | float) or t is bool):
            continue
        if kind == _SUM:
            acc[q] = get(q, 0) + v
        else:
            old = get(q, v)
            acc[q] = v if v > old else old


def _plan(keys: tuple[str, ...], kinds: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """The (quantity, _SUM or _MAX) pairs ``_fold`` folds, for values with these keys in this order."""
    return tuple((q, k) for q in keys if (k := kinds.get(q, _SUM)) != _SKIP)


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
    Linear in the layers: each layer is folded into its deepest module only, and each
    module into its parent once (sums and maxima are associative), not into every ancestor.
    """
    how = {q: a if isinstance(a, Ratio) else parse_aggregation(a) for q, a in aggregate.items()}
    kinds = _kinds(how)
    modules: dict[str, ModuleRow] = {}
    parents: dict[str, str | None] = {}
    # quantities of each module's layers in first-seen order: the layers' shared key tuple while
    # they all carry the same one (most modules: no dict of its own), else a merged dict
    present: dict[str, tuple[str, ...] | dict[str, None]] = {}
    plans: dict[tuple[str, ...], tuple[tuple[str, int], ...]] = {}  # per distinct key order
    key_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}  # one object per distinct key order
    for row in rows:
        values = row.values
        keys = tuple(values)
        keys = key_tuples.setdefault(keys, keys)
        parts = _module_parts(row)
        if depth is not None and len(parts) > depth:
            parts = parts[:depth]
        key = None
        for part in parts:
            parent = key
            key = part if parent is None else f"{parent}.{part}"
            if key not in modules:
                modules[key] = ModuleRow(key, 1 if parent is None else modules[parent].depth + 1)
                parents[key] = parent
                present[key] = keys
                continue
            seen = present[key]
            if seen is not keys:  # most layers carry the same quantities in the same order
                if type(seen) is tuple:
                    seen = present[key] = dict.fromkeys(seen)
                seen.update(dict.fromkeys(keys))  # type: ignore[union-attr]
        assert key is not None  # a layer's path has at least its own name
        m = modules[key]
        m.layers += 1
        plan = plans.get(keys)
        if plan is None:
            plan = plans[keys] = _plan(keys, kinds)
        if m.values:
            _fold(m.values, values, plan)
        else:  # the module's first layer (most modules have one): its numbers as they are
            m.values = {q: v for q, _ in plan if _number(v := values[q])}
    for key in reversed(modules):  # children were created after their parents: folded first
        parent = parents[key]
        if parent is not None:
            m, p = modules[key], modules[parent]
            p.layers += m.layers
            keys = tuple(m.values)
            plan = plans.get(keys)
            if plan is None:
                plan = plans[keys] = _plan(keys, kinds)
            _fold(p.values, m.values, plan)
    ratios = {q: a for q, a in how.items() if isinstance(a, Ratio)}
    for key, m in modules.items():
        order = present[key]
        _ratios(m.values, ratios, [q for q in ratios if q in order])
        m.values = {q: m.values[q] for q in order if q in m.values}
    return list(modules.values())


def _module_parts(row: LayerRow) -> list[str]:
    """``module_path`` without the regular expression where no call suffix can be."""
    if not row.scope:
        return [row.name]
    if "@" not in row.scope:
        return row.scope.split(".")
    return module_path(row)


def derive_ratio_totals(totals: dict[str, Any], quantities: Iterable[Quantity]) -> None:
    """Fill the model total of each ratio quantity its metric left out, from its parts' totals."""
    for q in quantities:
        how = q.aggregate
        if isinstance(how, Ratio) and q.name not in totals and how.numerator in totals and how.denominator in totals:
            num, den = totals[how.numerator], totals[how.denominator]
            if _number(num) and _number(den):
                totals[q.name] = num / den if den else 0.0
