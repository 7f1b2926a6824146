"""The README's example output is what its first command prints (a new user compares the two first)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example_lines_are_printed_by_its_command() -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.findall(r"```sh\n(.+?)\n```", readme)[0].split("python -m analyzer ", 1)[1]
    example = re.search(r"## Example\n.*?```text\n(.+?)\n```", readme, re.S).group(1)
    env = dict(os.environ, COLUMNS="200")
    out = subprocess.run(
        [sys.executable, "-m", "analyzer", *shlex.split(command)],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    printed = {line.rstrip() for line in out.splitlines()}
    missing = [line for line in example.splitlines() if line.rstrip() not in printed]
    assert not missing, "\n".join(missing)
