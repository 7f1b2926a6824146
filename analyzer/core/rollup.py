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

import operator
import re
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzer.core import collector
from analyzer.core.layer_table import Schema
from analyzer.core.metric import Aggregation, Quantity, Ratio, parse_aggregation

if TYPE_CHECKING:
    from analyzer.core.report import LayerRow

_CALL_SUFFIX = re.compile(r"@\d+$")
_CALL_SUFFIXES = re.compile(r"@\d+(?=\.|$)")  # of each part of a dotted path at once


def module_path(row: LayerRow) -> list[str]:
    if not row.scope:
        return [row.name]
    return [_CALL_SUFFIX.sub("", part) for part in row.scope.split(".")]


def shared_keys(rows: Sequence[LayerRow]) -> tuple[str, ...] | None:
    """The quantities of every row in one order, when that is known without a pass over each row's
    keys: the rows' values all view one stored schema (the engine's rows, ``layer_table``); else None."""
    try:
        schemas = set(map(_SCHEMA, map(_VALUES, rows)))
    except AttributeError:  # a row's values that are not a view (a dict: a loaded or hand-made row)
        return None
    if len(schemas) != 1:
        return None
    schema = schemas.pop()
    return schema.keys if type(schema) is Schema else None


def layer_keys(rows: Sequence[LayerRow]) -> dict[str, None]:
    """The quantities of the layer rows, in first-seen order (``shared_keys`` without a pass a
    row where the rows share one schema)."""
    keys = shared_keys(rows)
    if keys is not None:
        return dict.fromkeys(keys)
    present: dict[str, None] = {}
    for row in rows:
        present.update(dict.fromkeys(row.values))
    return present


_VALUES = operator.attrgetter("values")
_SCHEMA = operator.attrgetter("_schema")


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
_KIND = {"sum": _SUM, "max": _MAX, "none": _SKIP}


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


def rollup(rows: list[LayerRow], aggregate: Mapping[str, Aggregation | str], depth: int | None = None,
           column: Callable[[str], list[Any]] | None = None) -> list[ModuleRow]:  # fmt: skip
    """Module rows in depth-first order (parents before children), down to ``depth`` (``module_tree``)."""
    return module_tree(rows, aggregate, depth, column).rows()


def module_tree(rows: list[LayerRow], aggregate: Mapping[str, Aggregation | str], depth: int | None = None,
                column: Callable[[str], Sequence[Any]] | None = None) -> ModuleTree:  # fmt: skip
    """The roll-ups as columns: each module's path, depth, layer count and combined values.

    ``aggregate`` maps quantity -> declaration (``Quantity.aggregate`` or its string form);
    ``column(q)`` gives ``q``'s value of every row in order, None where a row has none
    (``Report.layer_column``, or the reader of ``Report.layer_columns()``, which checks the rows
    once for every column; by default read row by row).
    Linear in the layers, a column at a time (columns of numbers several at a time, ``_Fold``),
    never a dict per value: each layer is folded into its deepest module only, then each module
    into its parent once, children last to first. A float sum therefore adds up in the same order
    whatever the layers' quantities.
    """
    # a tuple a row and a module and lists of them, no cycle among them: the collector would only
    # walk every live object again and again (100k layers: 0.3 s of 0.8)
    with collector.paused():
        return _module_tree(rows, aggregate, depth, column)


def _module_tree(rows: list[LayerRow], aggregate: Mapping[str, Aggregation | str], depth: int | None,
                 column: Callable[[str], Sequence[Any]] | None) -> ModuleTree:  # fmt: skip
    # quantity -> _SUM, _MAX or _SKIP (undeclared ones add up): "sum", "max", "none" read at once
    kinds: dict[str, Any] = dict(zip(aggregate, map(_KIND.get, aggregate.values()), strict=True))
    ratios: dict[str, Ratio] = {}
    if None in kinds.values():
        for q, kind in kinds.items():
            if kind is None:
                a = aggregate[q]
                a = a if isinstance(a, Ratio) else parse_aggregation(a)  # (refuses an unknown one)
                if isinstance(a, Ratio):
                    ratios[q] = a
                kinds[q] = _SKIP if isinstance(a, Ratio) else _KIND[a]
    shared = shared_keys(rows)  # every row's keys in one order (the engine's rows): no tuple a row
    if shared is not None and depth is None:  # (the JSON and HTML formats' case)
        paths, depths, parents, leaf = _scope_tree(rows)
        present: list[tuple[str, ...] | dict[str, None]] = [shared] * len(paths)
        key_tuples = {shared: shared}
    else:
        paths, depths, parents, leaf, present, key_tuples = _key_tree(rows, depth, shared)
    n_modules = len(paths)
    counts = [0] * n_modules
    for i in leaf:
        counts[i] += 1
    up = [(k, p) for k, p in zip(range(n_modules - 1, -1, -1), reversed(parents), strict=True) if p >= 0]
    for k, p in up:
        counts[p] += counts[k]
    present_keys = shared if len(key_tuples) == 1 and shared is not None else dict.fromkeys(
        q for keys in key_tuples for q in keys)  # fmt: skip
    quantities = [q for q in present_keys if kinds.get(q, _SUM) != _SKIP]
    if column is None:
        def column(q: str) -> list[Any]:
            return [row.values.get(q) for row in rows]
    combined: dict[str, list[Any]] = {}  # quantity -> its value per module (None: none)
    ints: set[str] = set()  # the quantities whose values are all exact ints (no None)
    sums: tuple[list[str], list[Sequence[Any]]] = ([], [])  # columns of numbers only: folded
    maxima: tuple[list[str], list[Sequence[Any]]] = ([], [])  # several at a time (names, columns)
    group = _FOLD_VALUES // (len(rows) + n_modules + 1)  # columns folded at once (a million rows: two)

    def fold(sums: tuple[list[str], list[Sequence[Any]]], maxima: tuple[list[str], list[Sequence[Any]]]) -> dict[str, list[Any]]:
        if len(rows) >= _NUMPY_FROM:  # many rows: stored ints summed by numpy, a column at a time
            done = _fold_ints(sums, maxima, leaf, depths, parents)
            if done is not None:
                return done
        return _fold(sums, maxima, leaf, up, n_modules)
    for q in quantities:
        col = column(q)
        maximum = kinds.get(q, _SUM) == _MAX
        if type(col) is array:  # a report's stored column: ints or floats, nothing else
            code = col.typecode
            numbers, exact = code == "q" or code == "d", code == "q"
            types = _NUMBERS
        else:
            types = set(map(type, col))
            numbers, exact = bool(types) and types <= _NUMBERS, types == _INT
        if numbers:
            if exact:
                ints.add(q)
            names, columns = maxima if maximum else sums
            names.append(q)
            columns.append(col)
            if len(columns) >= group:
                combined.update(fold(sums, maxima))
                sums, maxima = ([], []), ([], [])
            continue
        if not any(map(_counted, types)):  # text, lists, None (dtype, receptive_field): no value
            continue
        values = _combine_column(col, leaf, up, n_modules, maximum)
        if values.count(None) < n_modules:
            combined[q] = values
    if sums[0] or maxima[0]:
        combined.update(fold(sums, maxima))
    combined = {q: combined[q] for q in quantities if q in combined}  # in the layers' order
    for q, a in ratios.items():
        if a.numerator in combined and a.denominator in combined:
            num, den = combined[a.numerator], combined[a.denominator]
            if a.numerator in ints and a.denominator in ints and 0 not in den:  # n / d each, at once
                combined[q] = list(map(operator.truediv, num, den))
            else:
                combined[q] = [None if n is None or d is None else (n / d if d else 0.0)
                               for n, d in zip(num, den, strict=True)]  # fmt: skip
    return ModuleTree(paths, depths, counts, present, combined, frozenset(ints))


def _key_tree(rows: list[LayerRow], depth: int | None, shared: tuple[str, ...] | None) -> tuple[Any, ...]:
    """The modules of ``rows`` (paths, depths, parents, each row's deepest module) and the
    quantities of each module's layers, rows of any keys, down to ``depth``."""
    index: dict[str, int] = {}  # module path -> position
    paths: list[str] = []
    depths: list[int] = []
    parents: list[int] = []  # -1: a top-level module
    leaf: list[int] = []  # each row's deepest module
    # quantities of each module's layers in first-seen order: the layers' shared key tuple while
    # they all carry the same one (most modules: no dict of its own), else a merged dict
    present: list[tuple[str, ...] | dict[str, None]] = []
    key_tuples: dict[tuple[str, ...], tuple[str, ...]] = {shared: shared} if shared is not None else {}
    keys = shared
    plain: dict[str, str] = {}  # a scope with call suffixes -> the module path it names
    for row in rows:
        if shared is None:
            keys = tuple(row.values)
            keys = key_tuples.setdefault(keys, keys)
        scope = row.scope
        if scope:
            if "@" in scope:  # relu@1 counts under relu
                path = plain.get(scope)
                if path is None:
                    path = plain[scope] = _CALL_SUFFIXES.sub("", scope)
                scope = path
            if depth is None:  # the scope is the module's path
                i = index.get(scope)
                if i is None:  # a new module under a known one whose layers all carry these keys
                    head, dot, _ = scope.rpartition(".")
                    at = index.get(head) if dot else None
                    if at is not None and present[at] is keys:  # (then so do the modules above it)
                        index[scope] = i = len(paths)
                        paths.append(scope)
                        depths.append(depths[at] + 1)
                        parents.append(at)
                        present.append(keys)  # type: ignore[arg-type]
                        leaf.append(i)
                        continue
                elif present[i] is keys:  # a known module whose layers all carry these keys
                    leaf.append(i)
                    continue
            parts = scope.split(".")
            if depth is not None and len(parts) > depth:
                parts = parts[:depth]
        else:
            parts = [row.name]
        key = None
        at = -1
        for part in parts:
            key = part if key is None else f"{key}.{part}"
            i = index.get(key)
            if i is None:
                index[key] = i = len(paths)
                paths.append(key)
                depths.append(1 if at < 0 else depths[at] + 1)
                parents.append(at)
                present.append(keys)  # type: ignore[arg-type]
            else:
                seen = present[i]
                if seen is not keys:  # most layers carry the same quantities in the same order
                    if type(seen) is tuple:
                        seen = present[i] = dict.fromkeys(seen)
                    seen.update(dict.fromkeys(keys))  # type: ignore[union-attr, arg-type]
            at = i
        leaf.append(at)
    return paths, depths, parents, leaf, present, key_tuples


def _scope_tree(rows: list[LayerRow]) -> tuple[list[str], list[int], list[int], list[int]]:
    """``_key_tree`` of rows that all carry the same quantities, no depth limit: paths, depths,
    parents and each row's deepest module, nothing to merge (a million rows: one dict look-up
    a row that opens no module, two for one that opens a module under a known one)."""
    index: dict[str, int] = {}
    paths: list[str] = []
    depths: list[int] = []
    parents: list[int] = []
    leaf: list[int] = []
    add_path, add_depth, add_parent, add_leaf = paths.append, depths.append, parents.append, leaf.append
    plain: dict[str, str] = {}  # a scope with call suffixes -> the module path it names
    for row in rows:
        scope = row.scope
        if scope:
            if "@" in scope:  # relu@1 counts under relu
                path = plain.get(scope)
                if path is None:
                    path = plain[scope] = _CALL_SUFFIXES.sub("", scope)
                scope = path
            i = index.get(scope)
            if i is not None:
                add_leaf(i)
                continue
            head, dot, _ = scope.rpartition(".")
            at = index.get(head) if dot else None
            if at is not None:  # a new module under a known one
                index[scope] = i = len(paths)
                add_path(scope)
                add_depth(depths[at] + 1)
                add_parent(at)
                add_leaf(i)
                continue
            parts = scope.split(".")
        else:
            parts = [row.name]
        key = None
        at = -1
        for part in parts:
            key = part if key is None else f"{key}.{part}"
            i = index.get(key)
            if i is None:
                index[key] = i = len(paths)
                add_path(key)
                add_depth(1 if at < 0 else depths[at] + 1)
                add_parent(at)
            at = i
        add_leaf(at)
    return paths, depths, parents, leaf


@dataclass(slots=True)
class ModuleTree:
    """The module rows of ``module_tree`` as columns: ``combined[q][k]`` is module ``k``'s value of
    ``q`` (None: it has none); ``present[k]`` the quantities of its layers in first-seen order."""

    paths: list[str]
    depths: list[int]
    counts: list[int]
    present: list[tuple[str, ...] | dict[str, None]]
    combined: dict[str, list[Any]]
    ints: frozenset[str] = frozenset()  # quantities known to be exact ints for every module (no None)

    def rows(self) -> list[ModuleRow]:
        """One ``ModuleRow`` a module, its values in its layers' order."""
        combined, n_modules = self.combined, len(self.paths)
        shown: dict[int, tuple[list[str], list[tuple[Any, ...]]]] = {}
        modules = []
        for k, order in enumerate(self.present):
            plan = shown.get(id(order))
            if plan is None:  # each module's values in this order: the columns turned into rows at once
                qs = [q for q in order if q in combined]
                plan = shown[id(order)] = (qs, list(zip(*(combined[q] for q in qs), strict=True)) or [()] * n_modules)
            qs, by_module = plan
            vals = by_module[k]
            if None in vals:
                values = {q: v for q, v in zip(qs, vals, strict=True) if v is not None}
            else:
                values = dict(zip(qs, vals, strict=True))
            modules.append(ModuleRow(self.paths[k], self.depths[k], self.counts[k], values))
        return modules

    def column(self, q: str) -> list[Any]:
        """``q``'s value of each module as ``rows()`` holds it (None where its row has none)."""
        values = self.combined.get(q)
        if values is None:
            return [None] * len(self.paths)
        has = {id(order): q in order for order in {id(o): o for o in self.present}.values()}
        if all(has.values()):
            return values
        return [v if has[id(order)] else None for v, order in zip(values, self.present, strict=True)]

    def uniform(self) -> list[str] | None:
        """The quantities of every module's row, when all have the same in the same order (their
        ``to_dict()`` then share one shape: the columns can be written as they are), else None."""
        present = self.present
        if len(set(map(id, present))) != 1:  # one key order, the same object for every module
            return None
        qs = [q for q in present[0] if q in self.combined]
        if any(None in self.combined[q] for q in qs if q not in self.ints):
            return None
        return qs


def _counted(t: type) -> bool:
    """Whether values of type ``t`` are combined (``_combine_column``: numbers, not booleans)."""
    return t is int or t is float or (t is not bool and issubclass(t, int | float))


_NUMBERS = frozenset((int, float))
_INT = {int}


def _fold(sums: tuple[list[str], list[Sequence[Any]]], maxima: tuple[list[str], list[Sequence[Any]]],
          leaf: list[int], up: list[tuple[int, int]], n_modules: int) -> dict[str, list[Any]]:  # fmt: skip
    """Columns of numbers combined per module several at a time: each row's values as a tuple (its
    sums, its maxima) folded into its deepest module in row order, then each module's into its
    parent's, children last to first (``up``): ``_combine_column``'s operations in its order, on
    a tuple of columns at a time (one ``map`` a step), the sums and the maxima in one pass."""
    if not sums[0] or not maxima[0]:  # one kind: one tuple a row
        (names, columns), op = (sums, operator.add) if sums[0] else (maxima, max)
        acc: list[Any] = [None] * n_modules
        for j, values in zip(leaf, zip(*columns, strict=True), strict=True):
            a = acc[j]
            acc[j] = values if a is None else tuple(map(op, a, values))
        for k, p in up:
            a = acc[p]
            acc[p] = acc[k] if a is None else tuple(map(op, a, acc[k]))
        return dict(zip(names, map(list, zip(*acc, strict=True)), strict=True))
    add = operator.add
    acc_sum: list[Any] = [None] * n_modules
    acc_max: list[Any] = [None] * n_modules
    for j, s, m in zip(leaf, zip(*sums[1], strict=True), zip(*maxima[1], strict=True), strict=True):
        a = acc_sum[j]
        if a is None:
            acc_sum[j], acc_max[j] = s, m
        else:
            acc_sum[j], acc_max[j] = tuple(map(add, a, s)), tuple(map(max, acc_max[j], m))
    for k, p in up:
        a = acc_sum[p]
        if a is None:
            acc_sum[p], acc_max[p] = acc_sum[k], acc_max[k]
        else:
            acc_sum[p], acc_max[p] = tuple(map(add, a, acc_sum[k])), tuple(map(max, acc_max[p], acc_max[k]))
    out = dict(zip(sums[0], map(list, zip(*acc_sum, strict=True)), strict=True))
    out.update(zip(maxima[0], map(list, zip(*acc_max, strict=True)), strict=True))
    return out


def _fold_ints(sums: tuple[list[str], list[Sequence[Any]]], maxima: tuple[list[str], list[Sequence[Any]]],
               leaf: list[int], depths: list[int], parents: list[int]) -> dict[str, list[Any]] | None:  # fmt: skip
    """``_fold``'s sums and maxima by numpy when every column is a stored column of ints whose sums
    fit 64 bits (exact ints: any order adds up the same); None otherwise. Each row's value goes to
    its deepest module, then each level of modules, deepest first, into its parents."""
    columns = [*sums[1], *maxima[1]]
    if not all(type(c) is array and c.typecode == "q" for c in columns):
        return None
    import numpy as np  # (a core dependency; imported only for many rows: it takes ~0.1 s)

    n = len(leaf)
    values = [np.frombuffer(c, dtype=np.int64) for c in columns]
    for v in values[: len(sums[1])]:  # every partial sum stays within n times the largest value
        if v.size and max(int(v.max()), -int(v.min())) * n >= 2**63:
            return None
    rows = np.asarray(leaf, dtype=np.intp)
    depth, parent = np.asarray(depths), np.asarray(parents, dtype=np.intp)
    levels = [(kids, parent[kids]) for d in range(int(depth.max(initial=1)), 1, -1)
              if (kids := np.flatnonzero(depth == d)).size]  # fmt: skip
    out: dict[str, list[Any]] = {}
    for j, (q, v) in enumerate(zip([*sums[0], *maxima[0]], values, strict=True)):
        if j < len(sums[0]):
            ufunc, acc = np.add, np.zeros(len(depths), dtype=np.int64)
        else:
            ufunc, acc = np.maximum, np.full(len(depths), np.iinfo(np.int64).min, dtype=np.int64)
        ufunc.at(acc, rows, v)
        for kids, to in levels:
            ufunc.at(acc, to, acc[kids])
        out[q] = acc.tolist()
    return out


_NUMPY_FROM = 50_000  # rows; below, folding in Python costs less than importing numpy
_FOLD_VALUES = 4_000_000  # values of the columns folded at once (a million layers: two columns)


def _combine_column(values: list[Any], leaf: list[int], up: list[tuple[int, int]], n_modules: int,
                    maximum: bool) -> list[Any]:  # fmt: skip
    """One quantity's value per module: the numbers of each row folded into its deepest module in
    row order, then each module into its parent (``up``: children last to first). None: no number."""
    acc: list[Any] = [None] * n_modules
    if maximum:
        for j, v in zip(leaf, values, strict=True):
            t = type(v)
            if t is int or t is float or (t is not bool and isinstance(v, int | float)):
                a = acc[j]
                if a is None or v > a:
                    acc[j] = v
        for k, p in up:
            v = acc[k]
            if v is not None:
                a = acc[p]
                if a is None or v > a:
                    acc[p] = v
        return acc
    for j, v in zip(leaf, values, strict=True):
        t = type(v)
        if t is int or t is float or (t is not bool and isinstance(v, int | float)):
            a = acc[j]
            acc[j] = v if a is None else a + v
    for k, p in up:
        v = acc[k]
        if v is not None:
            a = acc[p]
            acc[p] = v if a is None else a + v
    return acc


def derive_ratio_totals(totals: dict[str, Any], quantities: Iterable[Quantity]) -> None:
    """Fill the model total of each ratio quantity its metric left out, from its parts' totals."""
    for q in quantities:
        how = q.aggregate
        if isinstance(how, Ratio) and q.name not in totals and how.numerator in totals and how.denominator in totals:
            num, den = totals[how.numerator], totals[how.denominator]
            if _number(num) and _number(den):
                totals[q.name] = num / den if den else 0.0
