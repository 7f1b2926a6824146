"""The README's two commands: CI runs the test command verbatim; the main job runs here."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from analyzer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_has_exactly_two_commands():
    assert len(_commands()) == 2


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    (declared,) = re.findall(r"^TEST_COMMAND='(.+)'$", ci, flags=re.M)
    assert declared == _commands()[1]
    assert 'bash -c "$TEST_COMMAND"' in ci


def test_readme_main_job_runs_and_prints_what_the_readme_shows(capsys):
    from tests.docs.doc_blocks import check_block, fenced

    main_job = _commands()[0]
    args = shlex.split(main_job.split("python -m analyzer ", 1)[1])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "stm32f746" in out and "3,504,872" in out
    check_block(ROOT / "README.md", "readme-example", fenced(out, lang="text"))  # ANALYZER_UPDATE_DOCS=1 rewrites
