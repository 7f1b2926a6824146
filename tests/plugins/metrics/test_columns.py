"""int_column: per-layer ints as an int64 array where they fit, as they are where one does not."""

from __future__ import annotations

from array import array

from analyzer.plugins.metrics.columns import int_column


def test_ints_become_an_int64_array_and_an_int64_array_stays_itself() -> None:
    column = int_column((1, 2**62, -3))
    assert isinstance(column, array) and column.typecode == "q" and list(column) == [1, 2**62, -3]
    assert int_column(column) is column


def test_an_int_beyond_64_bits_keeps_the_values_as_they_are() -> None:
    values = (1, 2**70)
    assert int_column(values) is values


def test_int_columns_reads_each_column_of_the_rows() -> None:
    from analyzer.plugins.metrics.columns import int_columns

    a, b = int_columns([(1, 2, "x"), (3, 2**70, "y")], 2)
    assert isinstance(a, array) and list(a) == [1, 3]
    assert b == [2, 2**70]  # beyond 64 bits: a list
    assert [list(c) for c in int_columns([], 2)] == [[], []]
