"""docs/sweeps.md shows the worked example's real output: regenerated here, compared, never typed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cli import main
from tests.docs.doc_blocks import check_block, fenced

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "sweeps.md"
COMMAND = "python -m analyzer sweep examples/mobilenet_v2_sweep.toml"


def test_worked_example_output_is_the_tools(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["sweep", "examples/mobilenet_v2_sweep.toml", "--workers", "1"]) == 0
    check_block(DOC, "sweep-example", fenced(capsys.readouterr().out, COMMAND))
