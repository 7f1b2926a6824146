"""Canonical dtype names and their bit widths.

Every tensor in the IR carries one of these names; frontends map their
framework's dtypes onto them (``torch.float16`` -> ``"float16"``).
"""

from __future__ import annotations

from functools import cache

BITS: dict[str, int] = {
    "float64": 64,
    "float32": 32,
    "tfloat32": 32,  # stored as 32 bits; computed at 19
    "float16": 16,
    "bfloat16": 16,
    "float8_e4m3fn": 8,
    "float8_e5m2": 8,
    "float8_e4m3fnuz": 8,
    "float8_e5m2fnuz": 8,
    "float4_e2m1fn": 4,
    "complex128": 128,
    "complex64": 64,
    "int64": 64,
    "int32": 32,
    "int16": 16,
    "int8": 8,
    "int4": 4,
    "uint64": 64,
    "uint32": 32,
    "uint16": 16,
    "uint8": 8,
    "uint4": 4,
    "bool": 8,  # one byte per element in every framework we read
}

# Aliases frontends commonly produce.
_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "f32": "float32",
    "f16": "float16",
    "bf16": "bfloat16",
    "f64": "float64",
    "long": "int64",
    "int": "int32",
    "qint8": "int8",
    "quint8": "uint8",
    "qint32": "int32",
    "bool_": "bool",
}


@cache
def canonical(name: str) -> str:
    """Return the canonical dtype name for ``name`` (``"torch.float16"`` -> ``"float16"``).

    Raises ValueError for a dtype the analyzer does not know.
    """
    key = str(name).rsplit(".", 1)[-1].lower()
    key = _ALIASES.get(key, key)
    if key not in BITS:
        raise ValueError(f"unknown dtype {name!r}; known: {', '.join(sorted(BITS))}")
    return key


@cache
def bits(dtype: str) -> int:
    """Bit width of one element of ``dtype``."""
    return BITS[canonical(dtype)]


@cache
def is_float(dtype: str) -> bool:
    """True for floating-point dtypes (their arithmetic counts as FLOPs, not OPs)."""
    d = canonical(dtype)
    return d.startswith(("float", "bfloat", "tfloat", "complex"))
