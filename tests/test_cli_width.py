"""On an 80-column terminal the devices and plugins tables fit; a pipe keeps lines whole."""

from __future__ import annotations

import sys

import pytest

from analyzer.cli import main


@pytest.mark.parametrize("argv", [["devices"], ["devices", "show", "stm32f746"], ["plugins"]])
def test_tables_fit_the_terminal(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    table = [ln for ln in lines if ln[:1] in "┃│┏┡└┗"]  # the table's own lines; notes are one line each, unbroken
    assert table and max(len(ln) for ln in table) <= 80


def test_a_pipe_gets_whole_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices"]) == 0
    assert max(len(ln) for ln in capsys.readouterr().out.splitlines()) > 80  # not cut to a terminal's width
