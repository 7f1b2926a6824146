"""Helpers for metrics that give their per-layer values column-wise (``MetricContext.columns``)."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from operator import itemgetter


def int_column(values: Sequence[int]) -> Sequence[int]:
    """``values`` as a column for ``ctx.columns``: an int64 array (stored as it is, 8 bytes a
    value), or the values themselves where one does not fit 64 bits."""
    if isinstance(values, array) and values.typecode == "q":
        return values
    try:
        return array("q", values)
    except OverflowError:
        return values


def int_columns(rows: Sequence[Sequence[int]], width: int) -> list[Sequence[int]]:
    """The first ``width`` columns of ``rows`` (tuples of ints, one per layer), each an
    ``int_column``: built column by column, no transposed copy of the rows in between."""
    return [_int_column_of(rows, i) for i in range(width)]


def _int_column_of(rows: Sequence[Sequence[int]], i: int) -> Sequence[int]:
    try:
        return array("q", map(itemgetter(i), rows))
    except OverflowError:
        return [row[i] for row in rows]
