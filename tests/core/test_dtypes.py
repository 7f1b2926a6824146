"""Canonical dtypes, bit widths and float detection (analyzer.core.dtypes)."""

from __future__ import annotations

import pytest

from analyzer.core import dtypes
from analyzer.core.ir import Param, Tensor


@pytest.mark.parametrize(
    ("name", "canonical", "bits"),
    [
        ("float32", "float32", 32),
        ("torch.float16", "float16", 16),
        ("half", "float16", 16),
        ("bf16", "bfloat16", 16),
        ("double", "float64", 64),
        ("long", "int64", 64),
        ("int", "int32", 32),
        ("qint8", "int8", 8),
        ("quint8", "uint8", 8),
        ("int4", "int4", 4),
        ("bool_", "bool", 8),  # one byte per element
        ("FLOAT8_E4M3FN", "float8_e4m3fn", 8),
        ("tfloat32", "tfloat32", 32),
        ("complex64", "complex64", 64),
    ],
)
def test_canonical_and_bits(name, canonical, bits) -> None:
    assert dtypes.canonical(name) == canonical
    assert dtypes.bits(name) == bits


@pytest.mark.parametrize(
    "name", ["float32", "bfloat16", "float8_e5m2", "tfloat32", "complex128", "f16"]
)
def test_is_float(name) -> None:
    assert dtypes.is_float(name)


@pytest.mark.parametrize("name", ["int8", "uint8", "int64", "bool", "int4", "qint8"])
def test_not_float(name) -> None:
    assert not dtypes.is_float(name)


def test_unknown_dtype() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'float42'; known: .*bfloat16"):
        dtypes.canonical("float42")


def test_nbytes() -> None:
    assert Tensor("t", (2, 3), "float16").nbytes == 12  # 6 * 2
    assert Param("p", (4, 4), "int8").nbytes == 16
    assert Tensor("s", ()).numel == 1  # a scalar has one element
