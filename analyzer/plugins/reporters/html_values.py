"""Values in the HTML report: each quantity's numbers formatted by its display metadata.

``show(value, info)`` renders one value as its quantity's ``format`` asks
(``info`` is an entry of ``Report.quantities``); ``formatter(info)`` is the
same without the per-value dispatch, for a column of thousands of cells.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable
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
    how = info.get("format") or ("bytes" if info.get("unit") in ("byte", "bytes", "B") else "count")
    return _formatter(str(how), int(info.get("digits", 4)), readable, binary)


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
