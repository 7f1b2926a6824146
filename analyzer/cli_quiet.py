"""Framework log noise off for one CLI command (``--debug`` keeps it).

TensorFlow writes C++ log lines (oneDNN banners, "All log messages before
absl::InitializeLog()...") straight to file descriptor 2 while it loads,
before ``TF_CPP_MIN_LOG_LEVEL`` is read by absl, so no setting silences
them: the command runs with descriptor 2 pointed at the null device while
Python's ``sys.stderr`` keeps writing to the real stderr, where the
analyzer's one-line errors and warnings go. Python warnings and the log
records of the frameworks' Python loggers (absl, TensorFlow, JAX, torch)
below ERROR are dropped too.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

FRAMEWORK_LOGGERS = ("absl", "tensorflow", "keras", "jax", "flax", "torch", "h5py")


@contextmanager
def quiet_frameworks(enabled: bool = True) -> Iterator[None]:
    """Silence framework output while the block runs; restore everything after."""
    if not enabled:
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    loggers = [logging.getLogger(n) for n in FRAMEWORK_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), _native_stderr_muted():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _python_stderr_on_fd2() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False  # a captured stream (pytest's capsys): Python writes never reach fd 2


@contextmanager
def _native_stderr_muted() -> Iterator[None]:
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no descriptor 2 (a detached process): nothing to mute
        yield
        return
    old_stderr = sys.stderr
    swap = _python_stderr_on_fd2()
    if swap:
        old_stderr.flush()
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=old_stderr.encoding,
                               errors="backslashreplace")  # fmt: skip
    os.dup2(devnull, 2)
    os.close(devnull)
    # a crash in native code (a segfault) still prints its Python stack on the real stderr
    handler_was_on = faulthandler.is_enabled()
    if swap:
        faulthandler.enable(file=sys.stderr)
    try:
        yield
    finally:
        if swap:
            faulthandler.disable()
            if handler_was_on:
                faulthandler.enable(file=old_stderr)
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = old_stderr
        os.dup2(saved, 2)
        os.close(saved)
