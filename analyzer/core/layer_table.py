"""Per-layer values stored column-wise: one column per quantity, rows as read-only views.

A metric returns ``MetricResult.layers`` as ``{layer: {quantity: value}}``;
the engine turns each into a ``LayerTable`` as the metric finishes, and the
report's rows read every metric's table through one ``RowValues`` view per
layer. At a million layers a dict of some 27 values per row was about
1.2 kB, and every metric's dicts stayed alive until the hardware models ran
(docs/performance.md, "Scale"). Here a column of ints or floats is an
``array`` (8 bytes a value, no Python object per value), any other column
(lists, strings, None, bools) a list.

Rows keep their own keys in their own order: each row points at a
``Schema`` (its key tuple and the columns holding them), and rows of one
key order share it. Values come back with the type they went in with
(``1`` and ``1.0`` stay apart; a float column is C doubles, which hold a
Python float exactly; an int column only takes ints that fit 64 bits).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

__all__ = ["LayerTable", "RowValues", "Schema", "merge_rows"]

_TYPED = {int: "q", float: "d"}  # the only types stored unboxed (bool is not int here: type() is exact)


def _typecode(types: set[type]) -> str | None:
    """The array type code for values of ``types``: one only, int or float; None otherwise."""
    return _TYPED.get(next(iter(types))) if len(types) == 1 else None


class Schema:
    """The keys of a family of rows, in their order, and the column holding each key's values."""

    __slots__ = ("columns", "keys", "ordered")

    def __init__(self, keys: tuple[str, ...], columns: dict[str, Any]):
        self.keys = keys
        self.columns = columns  # key -> column (array or list indexed by row)
        self.ordered = tuple(columns[k] for k in keys)


class RowValues(Mapping[str, Any]):
    """One row's values: a read-only mapping over its table's columns.

    ``dict(row)`` or ``row.as_dict()`` gives a plain dict; everything a
    dict offers for reading works (``[]``, ``get``, ``in``, iteration in
    the row's key order, ``items``, ``==`` with a dict).
    """

    __slots__ = ("_i", "_schema")

    def __init__(self, schema: Schema, i: int):
        self._schema = schema
        self._i = i

    def __getitem__(self, key: str) -> Any:
        return self._schema.columns[key][self._i]

    def get(self, key: str, default: Any = None) -> Any:
        column = self._schema.columns.get(key)
        return default if column is None else column[self._i]

    def __contains__(self, key: object) -> bool:
        return key in self._schema.columns

    def __iter__(self) -> Iterator[str]:
        return iter(self._schema.keys)

    def __len__(self) -> int:
        return len(self._schema.keys)

    def as_dict(self) -> dict[str, Any]:
        i = self._i
        return dict(zip(self._schema.keys, [c[i] for c in self._schema.ordered], strict=True))

    def copy(self) -> dict[str, Any]:
        """A plain dict of the row's values (as ``dict.copy``: yours to change)."""
        return self.as_dict()

    def __or__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        return self.as_dict() | dict(other)

    def __ror__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        return dict(other) | self.as_dict()

    def keys(self):  # type: ignore[override]  # a dict's views: set operations work as on a dict
        return self.as_dict().keys()

    def items(self):  # type: ignore[override]
        return self.as_dict().items()

    def values(self):  # type: ignore[override]
        return self.as_dict().values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.as_dict() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a mapping, as dict: unhashable

    def __repr__(self) -> str:
        return repr(self.as_dict())

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (self.as_dict(),))  # pickles (sweep workers, copies) as the plain dict it reads as


_EMPTY = Schema((), {})
_ALL: list[int] = []  # stands for "every row, in order" in _fill's pieces


class LayerTable(Mapping[str, RowValues]):
    """One metric's per-layer values: ``{layer name: RowValues}``, read-only.

    Built by ``LayerTable.build`` from the metric's dict of dicts. Layer
    names outside ``index`` (a metric reporting a name the grouping does
    not have) are kept as given.
    """

    __slots__ = ("_extra", "_index", "_names", "_schema_of", "_schemas")

    def __init__(self, index: dict[str, int], names: list[str], schema_of: array, schemas: list[Schema],
                 extra: dict[str, Mapping[str, Any]]):  # fmt: skip
        self._index = index  # layer name -> row; shared by every table of one analysis
        self._names = names  # the names this table holds, in the metric's order
        self._schema_of = schema_of  # row -> 1 + index into _schemas, 0 where the metric has no values
        self._schemas = schemas
        self._extra = extra

    @classmethod
    def build(cls, rows: Mapping[str, Mapping[str, Any]], index: dict[str, int]) -> LayerTable:
        """The table of ``rows`` (``{layer: {quantity: value}}``) over the layers of ``index``."""
        n = len(index)
        fast = _uniform(rows, index)
        if fast is not None:
            return fast
        schema_ids: dict[tuple[str, ...], int] = {}
        positions: list[list[int]] = []  # per schema: the rows that have it
        tuples: list[list[tuple[Any, ...]]] = []  # per schema: each row's values in key order
        schema_of = array("I", bytes(4 * n))
        extra: dict[str, Mapping[str, Any]] = {}
        names = []
        get = index.get
        for name, values in rows.items():
            i = get(name)
            if i is None:
                extra[name] = values
                names.append(name)
                continue
            keys = tuple(values)
            sid = schema_ids.get(keys)
            if sid is None:
                sid = schema_ids[keys] = len(schema_ids) + 1
                positions.append([])
                tuples.append([])
            if schema_of[i]:  # the same layer twice (a Mapping cannot, but a custom rows object might)
                raise ValueError(f"layer {name!r} has two rows")
            schema_of[i] = sid
            positions[sid - 1].append(i)
            tuples[sid - 1].append(tuple(values.values()))
            names.append(name)
        columns = _columns(list(schema_ids), positions, tuples, n)
        schemas = [Schema(keys, {k: columns[k] for k in keys}) for keys in schema_ids]
        return cls(index, names, schema_of, schemas, extra)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[Any]], index: dict[str, int]) -> LayerTable:
        """The table of ``columns`` (``{quantity: one value per layer of index, in its order}``):
        every layer has every key, in ``columns``' order. No row is ever a dict: the cheap way for a
        metric to report values of every layer (``MetricContext.columns``)."""
        n = len(index)
        stored: dict[str, Any] = {}
        for key, values in columns.items():
            if len(values) != n:
                raise ValueError(f"column {key!r} has {len(values)} values for {n} layers")
            if isinstance(values, array):
                stored[key] = values
                continue
            stored[key] = _fill([(_ALL, tuple(values))], n, _typecode(set(map(type, values))))
        schema_of = array("I", [1]) * n if stored else array("I", bytes(4 * n))
        schemas = [Schema(tuple(stored), stored)] if stored else []
        return cls(index, list(index) if stored else [], schema_of, schemas, {})

    def __getitem__(self, name: str) -> RowValues:
        i = self._index.get(name)
        sid = self._schema_of[i] if i is not None else 0
        if sid:
            return RowValues(self._schemas[sid - 1], i)  # type: ignore[arg-type]
        if name in self._extra:
            return self._extra[name]  # type: ignore[return-value]
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        i = self._index.get(name)
        if i is not None:
            sid = self._schema_of[i]
            return RowValues(self._schemas[sid - 1], i) if sid else self._extra.get(name, default)
        return self._extra.get(name, default)

    def __contains__(self, name: object) -> bool:
        i = self._index.get(name)  # type: ignore[call-overload]
        return bool(self._schema_of[i]) if i is not None else name in self._extra

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def schema(self, i: int) -> Schema:
        """Row ``i``'s schema (an empty one where the metric has no values for that layer)."""
        sid = self._schema_of[i]
        return self._schemas[sid - 1] if sid else _EMPTY

    def column(self, key: str, default: Any = None) -> list[Any]:
        """``key``'s value for every layer of the index, in its order (``default`` where there is none)."""
        if len(self._schemas) == 1 and not self._extra and len(self._names) == len(self._index):
            column = self._schemas[0].columns.get(key)  # one key order over every layer: the column itself
            return list(column) if column is not None else [default] * len(self._index)
        out = [default] * len(self._index)
        for i, sid in enumerate(self._schema_of):
            if sid:
                column = self._schemas[sid - 1].columns.get(key)
                if column is not None:
                    out[i] = column[i]
        return out

    def __repr__(self) -> str:
        return f"LayerTable({len(self)} layers, {len(self._schemas)} key orders)"


def _uniform(rows: Mapping[str, Mapping[str, Any]], index: dict[str, int]) -> LayerTable | None:
    """The table, built with C-level loops, when ``rows`` has every layer of ``index`` in its order
    and every row the same keys in the same order (what most metrics give); None otherwise."""
    n = len(index)
    if len(rows) != n or not n or type(rows) is not dict or list(rows) != list(index):
        return None
    orders = set(map(tuple, rows.values()))
    if len(orders) != 1:
        return None
    keys = orders.pop()
    if not keys:  # every row empty: present, with no values (the general path keeps that)
        return None
    try:
        per_row = list(map(tuple, map(dict.values, rows.values())))  # type: ignore[arg-type]
    except TypeError:  # a row that is not a dict
        return None
    return LayerTable.from_columns(dict(zip(keys, zip(*per_row, strict=True), strict=True)), index)


def _columns(schemas: list[tuple[str, ...]], positions: list[list[int]], tuples: list[list[tuple[Any, ...]]],
             n: int) -> dict[str, Any]:  # fmt: skip
    """Each key's column over ``n`` rows, typed where every value the key has is an int or a float."""
    parts: dict[str, list[tuple[list[int], tuple[Any, ...]]]] = {}  # key -> [(rows, values)]
    for keys, rows, values in zip(schemas, positions, tuples, strict=True):
        for key, column in zip(keys, zip(*values, strict=True), strict=True):
            parts.setdefault(key, []).append((rows, column))
    columns: dict[str, Any] = {}
    for key, pieces in parts.items():
        types: set[type] = set()
        for _, values in pieces:
            types.update(map(type, values))
        columns[key] = _fill(pieces, n, _typecode(types))
    return columns


def _fill(pieces: list[tuple[list[int], tuple[Any, ...]]], n: int, code: str | None) -> Any:
    rows = pieces[0][0]
    whole = len(pieces) == 1 and (rows is _ALL or (len(rows) == n and rows == list(range(n))))  # every row, in order
    if code is not None:
        try:
            if whole:
                return array(code, pieces[0][1])
            column = array(code, bytes(8 * n))
            for rows, values in pieces:
                for i, v in zip(rows, values, strict=True):
                    column[i] = v
            return column
        except OverflowError:  # an int beyond 64 bits: kept as Python ints
            pass
    if whole:
        return list(pieces[0][1])
    out: list[Any] = [None] * n
    for rows, values in pieces:
        for i, v in zip(rows, values, strict=True):
            out[i] = v
    return out


def merge_rows(tables: list[LayerTable], n: int, positions: Iterable[int] = ()) -> list[RowValues | Mapping[str, Any]]:
    """One view per row over every table's values, in table order (the report's layer values).

    A key two tables have (only possible for keys no quantity declares)
    keeps its first place and takes the later table's value, as merging
    the dicts in order did. ``positions`` (``range(n)`` if empty) may be the
    layer index's own ints, so that a million rows hold no new int each.
    """
    if not tables:
        return [_EMPTY_ROW] * n
    merged: dict[tuple[int, ...], Schema] = {}
    out: list[RowValues | Mapping[str, Any]] = []
    for i, sids in zip(positions or range(n), zip(*(t._schema_of for t in tables), strict=True), strict=True):
        schema = merged.get(sids)
        if schema is None:
            columns: dict[str, Any] = {}
            for t in tables:
                columns.update(t.schema(i).columns)
            keys = tuple(dict.fromkeys(k for t in tables for k in t.schema(i).keys))
            schema = merged[sids] = Schema(keys, columns)
        out.append(RowValues(schema, i))
    return out


_EMPTY_ROW = RowValues(_EMPTY, 0)
