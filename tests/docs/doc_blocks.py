"""Blocks of a Markdown doc that hold the tool's real output, checked by a test.

A block sits between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``. A test
produces the block's text by running the tool and calls :func:`check_block`,
which fails when the doc drifted; with ``ANALYZER_UPDATE_DOCS=1`` it rewrites
the block instead, so a doc is regenerated, never typed by hand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

UPDATE_ENV = "ANALYZER_UPDATE_DOCS"


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- {re.escape(name)}:begin -->\n)(.*?)(<!-- {re.escape(name)}:end -->)", re.S
    )


def block_names(text: str, prefix: str = "") -> list[str]:
    """The names of the blocks in ``text`` that start with ``prefix``, in order."""
    return [n for n in re.findall(r"<!-- (\S+):begin -->", text) if n.startswith(prefix)]


def fenced(body: str, command: str = "", lang: str = "") -> str:
    """``body`` in a fenced code block, after ``$ command`` when one is given."""
    body = body if not body or body.endswith("\n") else body + "\n"
    return f"```{lang}\n" + (f"$ {command}\n" if command else "") + body + "```\n"


def check_block(
    doc: Path, name: str, block: str, normalise: Callable[[str], str] | None = None
) -> None:
    """Assert the doc's block ``name`` is ``block`` (after ``normalise`` on both sides, for
    figures that vary between runs); rewrite it instead when ``ANALYZER_UPDATE_DOCS=1``."""
    text = doc.read_text()
    match = block_pattern(name).search(text)
    assert match, f"{doc.name} lost its {name} markers"
    if os.environ.get(UPDATE_ENV) == "1":
        if match.group(2) != block:
            doc.write_text(text[: match.start(2)] + block + text[match.end(2) :])
        return
    norm = normalise or (lambda s: s)
    assert norm(match.group(2)) == norm(block), (
        f"{doc.name}'s {name} block drifted from the tool's output: rerun with {UPDATE_ENV}=1\n"
        f"--- doc\n{match.group(2)}--- tool\n{block}"
    )
