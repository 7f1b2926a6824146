"""docs/plugin-reference.md is generated from the hookspecs and the public types; it must match the code."""

from __future__ import annotations

import os
from pathlib import Path

from analyzer.core import hookspecs
from analyzer.core.plugin_reference import PUBLIC_TYPES, render

DOC = Path(__file__).parents[2] / "docs" / "plugin-reference.md"


def test_reference_is_generated_from_the_code() -> None:
    text = render()
    if os.environ.get("ANALYZER_UPDATE_DOCS") == "1":
        DOC.write_text(text)
    assert DOC.read_text() == text, "docs/plugin-reference.md drifted: rerun with ANALYZER_UPDATE_DOCS=1"


def test_every_hook_and_public_type_is_in_it() -> None:
    text = render()
    for name in (n for n in vars(hookspecs) if n.startswith("analyzer_")):
        assert f"### `{name}(" in text, name
    for _module, names in PUBLIC_TYPES:
        for name in names:
            assert f"### `{name}` (" in text, name
    # every type the reference lists has a docstring to show
    assert "### `DeviceSpec` (analyzer.core.devices)\n\nOne device file" in text
