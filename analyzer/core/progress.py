"""Progress bars (rich) for work that can take more than a second or two, on stderr.

Shown only when stderr is a terminal (or when asked): a pipe, a file or a
test gets nothing, so output stays byte-for-byte the same.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def enabled(show: bool | None = None) -> bool:
    return sys.stderr.isatty() if show is None else show


def track(items: Iterable[T], total: int | None, description: str, show: bool | None = None) -> Iterator[T]:
    """Yield ``items``, advancing a bar of ``total`` steps labelled ``description`` (transient)."""
    if not enabled(show) or total == 0:
        yield from items
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
