"""The reporter contract: render a Report or a Comparison as text in one format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.core.compare import Comparison
    from analyzer.core.report import Report


class Reporter(ABC):
    """One output format (``--format NAME``).

    ``render_report`` and ``render_comparison`` return the whole document as
    a string; ``color`` asks for terminal colors (only the table format uses
    them) and ``width`` is the terminal width, or None for unlimited.
    ``depth``, when given, asks for per-module roll-ups down to that depth
    (``Report.modules(depth)``) instead of one row per layer.
    """

    name: str = ""
    suffix: str = ".txt"

    @abstractmethod
    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None
    ) -> str: ...

    @abstractmethod
    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None
    ) -> str:
        """The comparison document; ``depth`` (optional to accept: the CLI passes it only under
        ``compare --depth``, after checking the signature) asks for module roll-ups."""
        ...
