"""Shared by the bench scripts: the median wall time of warm runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> tuple[float, Any]:
    """(median seconds of ``repeat`` runs after ``warmup`` untimed ones, the last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result
