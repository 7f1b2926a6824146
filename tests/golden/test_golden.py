"""Golden IR snapshots: a frontend change shows up as a readable diff.

Each model of ``models.py`` is converted and serialized like ``save_graph``
(``graph_to_dict``) and compared with ``tests/golden/<name>.json``. A
mismatch fails with a unified diff of the two JSON texts. When an IR change
is intended, rewrite the snapshots with ``ANALYZER_UPDATE_GOLDEN=1 pytest
tests/golden`` and review the diff in git like any other change.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from analyzer.core.serialize import graph_from_dict, graph_to_dict
from tests.golden.models import MODELS

HERE = Path(__file__).parent
UPDATE_ENV = "ANALYZER_UPDATE_GOLDEN"


# Graph meta that names the environment, not the model: a framework upgrade or another Keras
# backend (whose IR is the same, tests/plugins/frontends/keras/test_keras_backends.py) is no regression.
ENVIRONMENT_META = ("jax_version", "keras_backend", "torch_version", "keras_version")


def snapshot_doc(graph) -> dict:
    doc = graph_to_dict(graph)
    doc["meta"] = {k: v for k, v in doc["meta"].items() if k not in ENVIRONMENT_META}
    return doc


def snapshot_text(doc: dict) -> str:
    """The snapshot format: indented, sorted keys, a final newline (diffs line by line)."""
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def golden_diff(expected: str, actual: str, name: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True),
        f"tests/golden/{name}.json (golden)", f"{name} (converted now)", n=2,
    )  # fmt: skip
    return "".join(lines)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_ir_matches_golden(name, plugins):
    graph = MODELS[name](plugins)
    actual = snapshot_text(snapshot_doc(graph))
    path = HERE / f"{name}.json"
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_text(actual)
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}; create it with {UPDATE_ENV}=1")
    expected = path.read_text()
    if actual != expected:
        pytest.fail(f"IR of {name} differs from its snapshot ({UPDATE_ENV}=1 rewrites it):\n"
                    + golden_diff(expected, actual, name), pytrace=False)  # fmt: skip


@pytest.mark.parametrize("name", sorted(MODELS))
def test_snapshot_loads_back(name):
    """Each snapshot is a valid saved graph (it round-trips through graph_from_dict)."""
    path = HERE / f"{name}.json"
    if not path.exists():
        pytest.skip(f"no snapshot {path.name}")
    doc = json.loads(path.read_text())
    assert graph_to_dict(graph_from_dict(doc)) == doc


def test_diff_is_readable():
    """A changed field shows as -/+ lines naming the snapshot (the message a regression prints)."""
    before = snapshot_text({"nodes": [{"id": "fc", "op": "linear"}]})
    after = snapshot_text({"nodes": [{"id": "fc", "op": "matmul"}]})
    diff = golden_diff(before, after, "demo")
    assert '-   "op": "linear"' in diff and '+   "op": "matmul"' in diff
    assert diff.startswith("--- tests/golden/demo.json (golden)")
