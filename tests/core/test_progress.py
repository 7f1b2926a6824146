"""Progress bars: on a terminal they draw on stderr; anywhere else nothing is written."""

from __future__ import annotations

import sys

import pytest

from analyzer.core.progress import track


def test_silent_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(track(range(5), 5, "work")) == [0, 1, 2, 3, 4]
    assert capsys.readouterr() == ("", "")


def test_draws_on_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert list(track(iter(range(3)), 3, "calibrating")) == [0, 1, 2]
    out, err = capsys.readouterr()
    assert out == "" and "calibrating" in err
