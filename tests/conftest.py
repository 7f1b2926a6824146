"""Shared fixtures: a fresh plugin set per test (no global plugin state).

The suite runs with the built-in plugins only: ``ANALYZER_LOAD_PLUGINS`` is
the empty allow-list (docs/plugins.md), so a third-party plugin installed in
the same environment cannot change the project's own numbers, and a user's
``ANALYZER_BLOCK_PLUGINS`` cannot remove a built-in. Set here, at import, so
it holds during collection and for the subprocesses tests start; a test that
needs an entry-point plugin names it (``monkeypatch.setenv(LOAD_ENV, "tiny")``).
"""

from __future__ import annotations

import os

import pytest

from analyzer.core.plugins import BLOCK_ENV, LOAD_ENV, PluginSet, load_plugins

os.environ[LOAD_ENV] = ""
os.environ.pop(BLOCK_ENV, None)


@pytest.fixture
def plugins() -> PluginSet:
    return load_plugins()
