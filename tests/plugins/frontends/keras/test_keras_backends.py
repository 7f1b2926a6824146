"""The same Keras models give the same IR under the TensorFlow, JAX and PyTorch backends.

The backend is fixed when keras is imported, so each backend runs in its own
process (``probe.py graphs``) and the JSON graphs are compared.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer import analyze_graph
from analyzer.core.serialize import graph_from_dict

pytestmark = [pytest.mark.keras, pytest.mark.slow]
PROBE = Path(__file__).with_name("probe.py")
BACKENDS = {
    "tensorflow": "tensorflow",
    "jax": "jax",
    "torch": "torch",
}  # backend -> module it needs


def needs(*modules: str) -> None:
    """Skip, naming what is missing, unless every module is installed (found, not imported:
    the backend is fixed when keras is first imported)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (not installed)")


@pytest.fixture(scope="module")
def graphs() -> dict[str, dict]:
    needs("keras", *BACKENDS.values())
    out = {}
    for backend in BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        proc = subprocess.run(
            [sys.executable, str(PROBE)], capture_output=True, text=True, env=env, timeout=600
        )
        assert proc.returncode == 0, f"{backend}: {proc.stderr[-3000:]}"
        out[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def test_three_backends_give_the_same_ir(graphs):
    reference = graphs["tensorflow"]
    assert set(reference) == {
        "cnn", "sequence", "multi_io", "shared", "subclassed", "positions", "tuple_none",
        "masked_attention",
    }  # fmt: skip
    for backend in ("jax", "torch"):
        for model, doc in reference.items():
            assert graphs[backend][model] == doc, f"{model} differs under {backend}"


def test_backend_graphs_are_complete(graphs):
    for model, doc in graphs["tensorflow"].items():
        report = analyze_graph(graph_from_dict(doc))
        assert not report.unsupported, model
        assert report.totals["macs"] > 0, model
    shared = analyze_graph(graph_from_dict(graphs["torch"]["shared"]))
    assert (shared.totals["params"], shared.totals["macs"]) == (272, 512)


def test_torch_backend_keras_model_is_detected_as_keras():
    """On the torch backend a Keras layer is also an nn.Module: detection must still pick Keras."""
    needs("keras", "torch")  # torch alone is not enough: the subprocess imports keras
    code = (
        "import keras, torch, analyzer, analyzer.core.plugins as p\n"
        "m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])\n"
        "assert not p.load_plugins().frontends['torch'].accepts(m)\n"
        "r = analyzer.analyze(m)\n"
        "print(r.model['framework'], r.totals['params'])\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["keras", "36"]
