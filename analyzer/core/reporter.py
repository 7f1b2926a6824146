"""The reporter contract: render a Report or a Comparison as text in one format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer.core.compare import Comparison
    from analyzer.core.report import Report


class Reporter(ABC):
    """One output format (``--format NAME``).

    ``render_report`` and ``render_comparison`` return the whole document as
    a string; ``color`` asks for terminal colors (only the table format uses
    them) and ``width`` is the terminal width, or None for unlimited.
    ``depth``, when given, asks for per-module roll-ups down to that depth
    (``Report.modules(depth)``) instead of one row per layer. The CLI writes
    a report from ``iter_report``, which a format whose documents grow large
    overrides to produce its text in pieces.
    """

    name: str = ""
    suffix: str = ".txt"

    @abstractmethod
    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None
    ) -> str: ...

    def iter_report(self, report: Report, **options: Any) -> Iterable[str]:
        """``render_report(report, **options)`` in pieces, written as they come (``--format json``
        writes a million-layer report without holding its text). Default: the whole string at once."""
        return (self.render_report(report, **options),)

    @abstractmethod
    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None
    ) -> str:
        """The comparison document; ``depth`` (optional to accept: the CLI passes it only under
        ``compare --depth``, after checking the signature) asks for module roll-ups."""
        ...
