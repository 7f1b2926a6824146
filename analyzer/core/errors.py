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


class GraphError(ValueError):
    """The graph is malformed (raised by ``Graph.validate``, the mutators and the shape rules).

    A ValueError, not an AnalyzerError: the engine and the file frontends
    turn it into an ``AnalysisError`` that names where the graph came from.
    """


# Top-level module of a framework -> the extra of pyproject.toml that installs it.
FRAMEWORK_EXTRAS = {
    "torch": "torch", "tensorflow": "tensorflow", "keras": "keras",
    "jax": "jax", "jaxlib": "jax", "flax": "jax", "equinox": "jax",
    "tflite": "tflite", "onnx": "onnx",
}  # fmt: skip


def missing_framework(exc: BaseException | None) -> tuple[str, str] | None:
    """``(module, hint)`` when ``exc`` or its causes is a framework that is not installed.

    The hint names the extra to install: ``torch is not installed; install it
    with: pip install 'analyzer[torch]'``.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            root = exc.name.split(".")[0]
            extra = FRAMEWORK_EXTRAS.get(root)
            if extra is not None:
                hint = f"{root} is not installed; install it with: pip install 'analyzer[{extra}]'"
                if root == "tensorflow":  # Keras's default backend; Keras 3 runs without it too
                    hint += " (or run Keras on another backend: KERAS_BACKEND=jax or torch)"
                return root, hint
        exc = exc.__cause__ or exc.__context__
    return None
