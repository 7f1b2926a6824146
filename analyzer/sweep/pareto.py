"""The Pareto front and the top K of a sweep, per device.

Only rows that fit (``fits`` is not False) and have no error compete. A row
is on the front when no other row of its device is at least as good on every
objective and better on one. The default objectives are ``latency_s:min``
and ``macs:max``: the analyzer knows no accuracy, so MACs stand for capacity
(the usual proxy in architecture search); a sweep file can name others
(``params:max``, ``peak_activation_bytes:min``...).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

Objective = tuple[str, str]  # (column, "min" | "max")


def candidates(rows: Sequence[dict[str, Any]], objectives: Sequence[Objective]) -> list[dict[str, Any]]:
    """Rows that may compete: no error, not known not to fit, every objective present."""
    return [r for r in rows if not r.get("error") and r.get("fits") is not False
            and all(isinstance(r.get(c), int | float) for c, _ in objectives)]  # fmt: skip


def front(rows: Sequence[dict[str, Any]], objectives: Sequence[Objective]) -> list[dict[str, Any]]:
    """The non-dominated rows among ``rows`` (all of one device), by the first objective."""
    pts = candidates(rows, objectives)

    def signed(row: dict[str, Any]) -> tuple[float, ...]:  # smaller is better on every axis
        return tuple(row[c] if sense == "min" else -row[c] for c, sense in objectives)

    values = [signed(r) for r in pts]
    if any(x != x for v in values for x in v):  # NaN: no order to sort by; compare every pair
        keep = [i for i, v in enumerate(values) if not any(_dominates(w, v) for w in values)]
        return sorted((pts[i] for i in keep), key=signed)
    # A dominator is lexicographically smaller, and dominance is transitive: in sorted order a
    # point is dominated exactly when a point already kept dominates it (n x front, not n x n).
    kept: list[tuple[float, ...]] = []
    out = []
    for i in sorted(range(len(values)), key=values.__getitem__):  # stable: ties keep row order
        v = values[i]
        if not any(_dominates(w, v) for w in kept):
            kept.append(v)
            out.append(pts[i])
    # equal points are all kept once each (duplicates of one configuration at the same figures)
    return out


def _dominates(w: tuple[float, ...], v: tuple[float, ...]) -> bool:
    """``w`` at least as good as ``v`` on every objective and better on one (smaller is better)."""
    return w != v and all(a <= b for a, b in zip(w, v, strict=True))


def by_device(rows: Sequence[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row.get("device")].append(row)
    return dict(groups)


def fronts(rows: Sequence[dict[str, Any]], objectives: Sequence[Objective]) -> dict[Any, list[dict[str, Any]]]:
    """The front of each device."""
    return {device: front(group, objectives) for device, group in by_device(rows).items()}


def top(rows: Sequence[dict[str, Any]], k: int, objectives: Sequence[Objective]) -> dict[Any, list[dict[str, Any]]]:
    """The K best rows per device by the first objective (ties by the next ones)."""
    out = {}
    for device, group in by_device(rows).items():
        pts = candidates(group, objectives)
        out[device] = sorted(pts, key=lambda r: tuple(r[c] if s == "min" else -r[c] for c, s in objectives))[:k]
    return out
