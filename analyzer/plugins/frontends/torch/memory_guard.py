"""The memory guard: refuse a capture path that would allocate more real memory than allowed.

Only the real trace computes on real tensors (the meta trace and
``torch.export`` allocate nothing: export gets uninitialised inputs whose
pages are never touched). Before it starts, the guard adds up what it will
allocate beyond the model's own weights, which are already in memory: the
example inputs it has to create, and the largest activation footprint of
one op (its inputs plus its outputs) seen by the meta attempt. During the
run it checks each op before it runs: the process's growth since the start
plus the op's outputs (their shapes from the op's meta kernel) must stay
under the limit. Either way the refusal is one line that says how to
proceed.

The limit (frontend option ``max_memory``, CLI ``--max-memory``) is a
number of bytes, a size such as ``"8GB"`` / ``"512MiB"``, a share of the
memory available now such as ``"50%"``, or ``"none"``. The default is half
of the memory available when the capture starts (``MemAvailable`` in
``/proc/meminfo``, or psutil where that file does not exist).
"""

from __future__ import annotations

import os
import re
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError

DEFAULT_SHARE = 0.5
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "k": 10**3, "m": 10**6,
          "g": 10**9, "t": 10**12}  # fmt: skip
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*|%)\s*$")


def available_memory() -> int | None:
    """Bytes of memory available to new allocations now (None when the system does not say)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def resident_memory() -> int:
    """The process's resident set size in bytes (0 when unknown)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return 0
    return int(psutil.Process().memory_info().rss)


def fmt_bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


class MemoryLimit:
    """A limit in bytes (None: unlimited) and how it was set, for the messages.

    The value is checked at once (a bad one is a UsageError before any work);
    a share of the available memory is read when the limit is first needed,
    so a capture that never runs real tensors does not read it.
    """

    def __init__(self, value: Any = None):
        self._limit, self._share, self.origin = self._parse(value)

    @property
    def limit(self) -> int | None:
        if self._share is not None:
            free = available_memory()
            self._limit = None if free is None else int(free * self._share)
            self._share = None
        return self._limit

    @staticmethod
    def _parse(value: Any) -> tuple[int | None, float | None, str]:
        """(bytes, share of the available memory, origin): one of the first two, or neither."""
        if value is None:
            return None, DEFAULT_SHARE, "default: half of the memory available"
        if isinstance(value, bool):
            raise UsageError(f"max_memory: expected a size such as 8GB or 50%, got {value!r}")
        if isinstance(value, int | float):
            if value <= 0:
                raise UsageError(f"max_memory must be positive, got {value!r}")
            return int(value), None, "max_memory"
        text = str(value).strip()
        if text.lower() in ("none", "unlimited", "off"):
            return None, None, "max_memory"
        m = _SIZE.match(text)
        if m is None or (m.group(2) != "%" and m.group(2).lower() not in _UNITS):
            raise UsageError(
                f"max_memory: expected bytes, a size such as 8GB or 512MiB, a share such as 50%, "
                f"or none; got {text!r}"
            )
        number, unit = float(m.group(1)), m.group(2)
        if number <= 0:
            raise UsageError(f"max_memory must be positive, got {text!r}")
        if unit == "%":
            return None, number / 100, f"max_memory {text} of the memory available"
        return int(number * _UNITS[unit.lower()]), None, "max_memory"

    def describe(self) -> str:
        return f"{fmt_bytes(self.limit or 0)} ({self.origin})"

    def refuse(self, name: str, need: str, why: str, export_tried: bool = True) -> AnalysisError:
        export = (
            ""
            if export_tried
            else (
                "; --capture export allocates nothing where the model's branches depend on shapes only"
            )
        )
        return AnalysisError(
            f"{name}: {why}, and a real trace would allocate {need}, above the memory limit of "
            f"{self.describe()}: use a smaller input or a batch of 1 (the real trace follows the "
            f"branches of the example inputs), or raise --max-memory (option max_memory){export}"
        )


def tensor_bytes(shape: Any, dtype_bytes: int) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n * dtype_bytes


def largest_op_bytes(graph: Any) -> tuple[int, str]:
    """The most bytes one op of ``graph`` holds at once (its tensor operands and outputs, weights
    excluded: they exist already), and that op's id."""
    from analyzer.core import dtypes

    tensors, best, where = graph.tensors, 0, ""
    for node in graph.nodes():
        total = 0
        for name in (*node.inputs, *node.outputs):
            t = tensors.get(name)
            if t is not None:
                total += tensor_bytes(t.shape, max(1, dtypes.bits(t.dtype) // 8))
        if total > best:
            best, where = total, node.id
    return best, where
