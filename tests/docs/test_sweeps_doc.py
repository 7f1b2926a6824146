"""docs/sweeps.md shows the worked example's real output: regenerated here, compared, never typed by hand."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from analyzer.cli import main

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "sweeps.md"
BLOCK = re.compile(r"(<!-- sweep-example:begin -->\n)(.*?)(<!-- sweep-example:end -->)", re.S)
COMMAND = "python -m analyzer sweep examples/mobilenet_v2_sweep.toml"


def test_worked_example_output_is_the_tools(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["sweep", "examples/mobilenet_v2_sweep.toml", "--workers", "1"]) == 0
    output = capsys.readouterr().out
    block = f"```\n$ {COMMAND}\n{output}```\n"
    text = DOC.read_text()
    match = BLOCK.search(text)
    assert match, "docs/sweeps.md lost its sweep-example markers"
    if os.environ.get("ANALYZER_UPDATE_DOCS") == "1":
        DOC.write_text(text[: match.start(2)] + block + text[match.end(2) :])
        return
    assert match.group(2) == block, "docs/sweeps.md's example output drifted: rerun with ANALYZER_UPDATE_DOCS=1"
