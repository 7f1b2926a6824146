"""Python's cycle collector paused over work that allocates much and forms no cycle.

An analysis, a roll-up or a page of a large model allocates millions of
small tuples, lists and dicts that reference counting frees as they go;
each generation-2 collection meanwhile walks every object alive, the whole
graph and report included, again and again (a quarter of a 100k-node
analysis; docs/performance.md). Cycles made meanwhile are collected once
the collector is back on.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off inside the block, back on after (left alone if already off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
