"""Values in the HTML report: each quantity's numbers formatted by its display metadata.

``show(value, info)`` renders one value as its quantity's ``format`` asks
(``info`` is an entry of ``Report.quantities``); ``formatter(info)`` is the
same without the per-value dispatch, for a column of thousands of cells.
"""

from __future__ import annotations

import base64
import functools
import html
import math
import sys
from array import array
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from analyzer.plugins.reporters import common


def esc(text: Any) -> str:
    """Text safe in HTML content and attribute values (``html.escape(str(text))``)."""
    s = text if type(text) is str else str(text)
    if "&" in s or "<" in s or ">" in s or '"' in s or "'" in s:  # most text has none: as it is
        return html.escape(s, quote=True)
    return s


_escape_cached = functools.lru_cache(maxsize=1024)(esc)  # a column of texts repeats a few words


def is_number(v: Any) -> bool:
    """An int or float, not a bool."""
    return (
        type(v) is int
        or type(v) is float
        or (isinstance(v, int | float) and not isinstance(v, bool))
    )


def finite(v: Any) -> Any:
    """``v``, or None for NaN and infinities (JSON has no spelling for them)."""
    return v if not isinstance(v, float) or math.isfinite(v) else None


_bytes = functools.lru_cache(maxsize=4096)(common.human_bytes)  # repeated blocks repeat their sizes


@functools.lru_cache(maxsize=4096)
def _binary_bytes(v: float) -> str:
    return common.human_bytes(v, binary=True)


def exact(v: Any) -> str:
    """A count exactly, with thousands separators (the formatter of ``count`` and ``int``)."""
    return f"{v:,}" if type(v) is int else common.fmt(v)


@functools.cache
def _formatter(how: str, digits: int, readable: bool, binary: bool) -> Callable[[Any], str]:
    if how == "bytes":
        return _binary_bytes if binary else _bytes
    if how in ("count", "int"):
        return common.human if readable and how == "count" else exact
    info = {"format": how, "digits": digits}
    return lambda v: common.show(v, info, compact=readable)


def formatter(
    info: dict[str, Any] | None = None, readable: bool = False, binary: bool = False
) -> Callable[[Any], str]:
    """The function rendering numbers of this quantity: ``common.show`` (the text formats' rules)
    chosen once per column, with exact counts and byte sizes on fast paths; ``binary``: KiB/MiB/GiB."""
    info = info or {}
    return _formatter(format_of(info), int(info.get("digits", 4)), readable, binary)


def format_of(info: dict[str, Any]) -> str:
    """The quantity's ``format``: declared, else ``bytes`` for a byte unit, else ``count``."""
    return str(info.get("format") or ("bytes" if info.get("unit") in ("byte", "bytes", "B") else "count"))


def show(value: Any, info: dict[str, Any] | None = None, readable: bool = False) -> str:
    """A value as its quantity's ``format`` says, as in every text format (``common.show``).

    Counts are exact (``4,089,184,256``), or with an SI prefix when ``readable`` (``4.1G``);
    bytes as kB/MB/GB; seconds and joules with m/µ/n prefixes; a per-dim list as ``11x11``.
    """
    if not is_number(value):
        return common.show(value, info or {})
    return formatter(info, readable)(value)


def cell(v: Any, fmt: Callable[[Any], str], mark: str | None) -> str:
    """A numeric table cell, formatted (numbers need no escaping); the raw value in ``data-v`` for
    sorting unless the text reads back as it (exact integers: the script drops the separators)."""
    t = type(v)
    if t is int and fmt is exact and not mark:
        return f"<td>{v:,}</td>"
    if t is int or (t is float and math.isfinite(v)):
        text = fmt(v)
        return f'<td data-v="{v}">{common.marked(text, mark) if mark else text}</td>'
    if v is None:
        return "<td>-</td>"
    if t is str and not mark:  # dtype, bound: text as it is
        return f"<td>{_escape_cached(v)}</td>"
    text = show(v) if not is_number(v) else fmt(v)
    text = esc(common.marked(text, mark) if mark else text)
    if isinstance(v, list) and v and all(type(x) is int or type(x) is float for x in v):
        return f'<td data-v="{max(v)}">{text}</td>'  # a per-dim value (receptive field) sorts by its largest
    return f"<td>{text}</td>"


def label_of(q: str, info: dict[str, Any]) -> str:
    """The quantity's display label (its key when it declares none)."""
    return str(info.get("label") or q)


def group_of(info: dict[str, Any]) -> str:
    """The quantity's column group (its metric when it declares none)."""
    return str(info.get("group") or info.get("metric") or "other")


# --- table columns ---------------------------------------------------------------
def value_cells(values: list[Any], fmt: Any, key: str, marks: list[dict[str, str]] | None) -> list[str]:
    """The ``<td>`` of each value of one quantity (``cell``); ``marks``: each row's incomplete values."""
    if marks is not None:
        return [cell(v, fmt, m.get(key)) for v, m in zip(values, marks, strict=True)]
    types = set(map(type, values))
    if types == {int} or (types == {float} and (total := sum(values)) - total == 0):  # finite numbers
        if fmt is exact and types == {int}:  # exact integers (most columns): one format each
            return list(map(_EXACT_CELL, values))
        return [f'<td data-v="{v}">{fmt(v)}</td>' for v in values]
    # exact integers and shapes (receptive field) inline: a function call per cell is most of the time
    return [f"<td>{v:,}</td>" if type(v) is int and fmt is exact else _shape_cell(v) if type(v) is list
            else cell(v, fmt, None) for v in values]  # fmt: skip


_EXACT_CELL = "<td>{:,}</td>".format
_COUNT = "{:,}".format


def _shape_cell(v: list[Any]) -> str:
    """``cell`` of a per-dim value (receptive field: ``11x11``, sorted by its largest)."""
    if v and set(map(type, v)) == {int}:
        return f'<td data-v="{max(v)}">{"x".join(map(_COUNT, v))}</td>'
    return cell(v, exact, None)


# --- columns the page's script writes ------------------------------------------------
# The formats report.js writes exactly as ``cell`` does (its ``cells``): numbers it holds exactly
# (integers within 2**53) and formats without an exponent (toFixed: below 1e21; 1e-90 and above,
# where toFixed's 100 decimals reach the significant digits).
SCRIPT_FORMATS = frozenset({"count", "int", "bytes", "float", "ratio", "seconds", "joules", "rate", "text"})
_SAFE_INT = 2**53
_FLOAT_MAX, _FLOAT_MIN = 1e21, 1e-90  # toFixed writes no exponent below the one; 100 decimals reach the other
_TEXT = {str, type(None)}
_INT = {int}


def script_column(values: Sequence[Any], info: dict[str, Any], binary: bool = False,
                  marks: list[dict[str, str]] | None = None, key: str = "") -> list[Any]:  # fmt: skip
    """One table column for the page's script (report.js ``resolve`` and ``cells``), when the
    script writes every cell as ``value_cells`` does:

    - ``["q" | "d", kind, format, digits, base64]``: a stored column of int64 or float64 (the
      report's own, ``layer_table``), its bytes as they are: no number written one by one;
    - ``["v", kind, format, digits, values]``: a list (kind ``i``: integers, ``r``: floats,
      ``s``: no number but text, None or per-dim lists);
    - else ``["h", cells]``, the cells written here (marks, NaN, huge numbers, bools, mixed ints
      and floats, other formats and objects: rare).

    A list, not a dict: a column's few fields cost less to write."""
    how = format_of(info)
    digits = info.get("digits", 4)
    if (how in SCRIPT_FORMATS and type(digits) is int and digits >= 1
            and (marks is None or not any(m.get(key) for m in marks))):  # fmt: skip
        if type(values) is array and values.typecode in _BYTES_OF:
            # int64: exact counts of any size (BigInt); other formats take a number, as Python's float()
            if values.typecode == "q" and (how in _EXACT or _ints_fit(values)) or values.typecode == "d" and _floats_fit(values):
                return [values.typecode, _BYTES_OF[values.typecode], how, digits, little_endian_base64(values)]
        else:
            types = set(map(type, values))
            kind = ("i" if _ints_fit(values) else None) if types == _INT else _script_kind(values, types)
            if kind is not None:
                return ["v", kind, how, digits, values if type(values) is list else list(values)]
    return ["h", value_cells(values, formatter(info, binary=binary), key, marks)]


_BYTES_OF = {"q": "i", "d": "r"}  # a stored column's array type -> its kind
_EXACT = frozenset({"count", "int"})


def little_endian_base64(values: array) -> str:
    """An array's items as little-endian bytes, base64 (report.js ``decode``)."""
    if sys.byteorder != "little":
        values = array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values).decode("ascii")


def script_columns(columns: Sequence[tuple[str, Sequence[Any], dict[str, Any]]], binary: bool = False,
                   marks: list[dict[str, str]] | None = None) -> list[list[Any]]:  # fmt: skip
    """``script_column`` of each (key, values, info); a column equal to an earlier one of its
    kind becomes ``["=", kind, format, digits, its index]``, one holding a single value
    ``["k", kind, format, digits, value]`` (report.js ``resolve``): fewer values to write and to
    read (zeros, ops = flops...). Stored columns compare by their bytes; lists of floats are not
    compared (0.0 == -0.0, which read apart)."""
    specs: list[list[Any]] = []
    earlier: dict[Any, int] = {}  # a column's kind and bytes (stored), or kind, first and last value -> index
    listed: dict[tuple[Any, ...], list[tuple[int, Sequence[Any]]]] = {}
    for key, values, info in columns:
        spec = script_column(values, info, binary, marks, key)
        specs.append(spec)
        if spec[0] == "h" or not values:
            continue
        if spec[0] in _BYTES_OF:
            raw = values.tobytes()  # type: ignore[attr-defined]
            if raw == raw[:8] * len(values) and abs(values[0]) <= _SAFE_INT:  # (a JSON number holds it)
                spec[0], spec[4] = "k", values[0]
            elif (spec[1], raw) in earlier:
                spec[0], spec[4] = "=", earlier[(spec[1], raw)]
            else:
                earlier[(spec[1], raw)] = len(specs) - 1
            continue
        first = values[0]
        if spec[1] == "r":
            continue
        if values.count(first) == len(values):
            spec[0], spec[4] = "k", first
        elif type(first) is not list:
            sig = (spec[1], first, values[-1])
            same = next((j for j, seen in listed.get(sig, ()) if seen == values), None)
            if same is None:
                listed.setdefault(sig, []).append((len(specs) - 1, values))
            else:
                spec[0], spec[4] = "=", same
    return specs


def _script_kind(values: list[Any], types: set[type]) -> str | None:
    """``"i"`` (integers, besides text and None), ``"r"`` (floats), ``"s"`` (no number: text,
    None, per-dim lists), or None where the script could not write a value as Python does;
    ``types``: the values' types."""
    if types == _INT:
        return "i" if _ints_fit(values) else None
    if types == {float}:
        return "r" if _floats_fit(values) else None
    numbers = types - _TEXT
    if not numbers:
        return "s"
    if numbers == {int}:
        ints = [v for v in values if type(v) is int]
        return "i" if _ints_fit(ints) else None
    if numbers == {float}:
        return "r" if _floats_fit([v for v in values if type(v) is float]) else None
    if numbers == {list}:  # per-dim values (receptive field): non-empty lists of integers
        lists = [v for v in values if type(v) is list] if types - {list} else values
        dims = list(chain.from_iterable(lists))
        if all(lists) and set(map(type, dims)) == {int} and _ints_fit(dims):
            return "s"
    return None


def script_holds(v: Any) -> bool:
    """One int or float the page's script holds and writes as Python does (a column's test:
    ``_ints_fit``, ``_floats_fit``)."""
    t = type(v)
    if t is int:
        return -_SAFE_INT <= v <= _SAFE_INT
    if t is float:
        size = abs(v)
        return size < _FLOAT_MAX and (size >= _FLOAT_MIN or v == 0)  # (a NaN fails both)
    return False


def _ints_fit(values: list[int]) -> bool:
    """Every int within 2**53 in size: a JavaScript number holds it exactly."""
    return min(values) >= -_SAFE_INT and max(values) <= _SAFE_INT


def _floats_fit(values: list[float]) -> bool:
    """Every float finite, below 1e21 and, unless 0, at least 1e-90 in size."""
    if (total := sum(values)) - total != 0:  # a NaN or an infinity (or a sum beyond the largest float)
        return False
    sizes = list(map(abs, values))
    return max(sizes) < _FLOAT_MAX and min(filter(None, sizes), default=1.0) >= _FLOAT_MIN
