"""Helpers for metrics that give their per-layer values column-wise (``MetricContext.columns``)."""

from __future__ import annotations

from array import array
from collections.abc import Sequence


def int_column(values: Sequence[int]) -> Sequence[int]:
    """``values`` as a column for ``ctx.columns``: an int64 array (stored as it is, 8 bytes a
    value), or the values themselves where one does not fit 64 bits."""
    if isinstance(values, array) and values.typecode == "q":
        return values
    try:
        return array("q", values)
    except OverflowError:
        return values
