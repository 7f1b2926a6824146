"""Every hook is documented (docstring and docs/plugins.md) and exercised by a test (datasette-style)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from analyzer.core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [name for name, fn in vars(hookspecs).items() if name.startswith("analyzer_") and inspect.isfunction(fn)]


def test_there_are_hooks():
    assert len(HOOKS) >= 7


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_docstring(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook))
    assert doc and len(doc) > 40


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_in_plugin_docs(hook):
    assert f"`{hook}(" in (ROOT / "docs" / "plugins.md").read_text()


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_used_by_a_builtin_or_a_test(hook):
    texts = [p.read_text() for p in (ROOT / "analyzer" / "plugins").rglob("*.py")]
    texts += [p.read_text() for p in (ROOT / "tests").rglob("test_*.py") if p.name != "test_hookspecs.py"]
    assert any(f"def {hook}(" in t or f"{hook}=" in t for t in texts), f"{hook} has no implementation or test"
