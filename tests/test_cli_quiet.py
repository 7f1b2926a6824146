"""The CLI mutes framework noise on descriptor 2 (analyzer/cli_quiet.py), not its own lines."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SNIPPET = textwrap.dedent(
    """
    import os, sys
    from analyzer.cli_quiet import quiet_frameworks
    with quiet_frameworks():
        os.write(2, b"native noise\\n")       # what TensorFlow's C++ logging does
        print("analyzer: warning: kept", file=sys.stderr, flush=True)
        if sys.argv[1] == "crash":
            import ctypes
            ctypes.string_at(0)                # a segfault in native code
    os.write(2, b"after\\n")
    """
)


def run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SNIPPET, mode], capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_native_noise_is_muted_and_python_stderr_kept() -> None:
    done = run("ok")
    assert done.returncode == 0
    assert done.stderr.splitlines() == ["analyzer: warning: kept", "after"]


def test_a_native_crash_still_shows_its_stack() -> None:
    done = run("crash")
    assert done.returncode != 0
    assert "Segmentation fault" in done.stderr and "string_at" in done.stderr
