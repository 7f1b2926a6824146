"""Shared fixtures: a fresh plugin set per test (no global plugin state)."""

from __future__ import annotations

import pytest

from analyzer.core.plugins import PluginSet, load_plugins


@pytest.fixture
def plugins() -> PluginSet:
    return load_plugins()
