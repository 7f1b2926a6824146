"""Errors the CLI turns into one-line messages and exit codes.

``UsageError`` (exit 2): the request is wrong (bad SPEC syntax, unknown
option, unknown device). ``AnalysisError`` (exit 1): the request is fine
but the model could not be loaded or analyzed. Anything else is a bug and
is reported as an analysis error with a hint to use ``--debug``.
"""

from __future__ import annotations


class AnalyzerError(Exception):
    """Base class of the analyzer's own errors; ``str(e)`` is one line for the user."""

    exit_code = 1


class UsageError(AnalyzerError):
    exit_code = 2


class AnalysisError(AnalyzerError):
    exit_code = 1


class UnsupportedOpsError(AnalysisError):
    """Raised under ``strict=True`` when the graph has ops without formulas."""
