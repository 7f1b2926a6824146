"""The MCU answer checked against TensorFlow Lite Micro itself (issue 18, point 4).

Four int8 models of TinyML size (tests/plugins/frontends/tflite/mcu_models.py)
are built in Keras with random weights and converted in the test; TFLM's
Python interpreter (``tflite_micro``) allocates each one, and its
``print_allocations()`` (captured at the file-descriptor level: TFLM writes
from C) gives the arena it used, head (activations and scratch) and tail
(persistent). The smallest arena that allocates is found by bisection. The
analyzer's prediction of TFLM's arena (``analyzer.plugins.hardware.tflm``)
must be within 5% of both; its own planner's figures (graph order, and
in-place depthwise + reordering) are what a better runtime could reach.

``python -m tests.plugins.hardware.test_tflm_arena`` prints the table of
docs/hardware.md ("TFLM's own arena").
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

NEEDS = ("tflite", "tensorflow", "tflite_micro")
MISSING = [m for m in NEEDS if importlib.util.find_spec(m) is None]
if MISSING and __name__ != "__main__":
    pytest.skip(
        f"needs {', '.join(MISSING)} (tflite-micro's Python interpreter)", allow_module_level=True
    )

TOLERANCE = 0.05
DEVICE = "stm32f746"  # any MCU device: the arena does not depend on it


@contextlib.contextmanager
def captured_fd(fd: int = 2) -> Iterator[list[str]]:
    """Everything written to ``fd`` (by C code too) while inside; the text lands in the yielded list."""
    out: list[str] = []
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        sys.stderr.flush()
        os.dup2(tmp.fileno(), fd)
        try:
            yield out
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))


def tflm_measure(model: bytes) -> dict[str, int]:
    """TFLM's own figures for ``model``: arena total, head, tail, and the smallest arena that allocates."""
    from tflite_micro.python.tflite_micro import runtime

    def allocates(size: int) -> bool:
        try:
            runtime.Interpreter.from_bytes(model, arena_size=size)
        except RuntimeError:
            return False
        return True

    with captured_fd() as text:
        interp = runtime.Interpreter.from_bytes(model, arena_size=8 * 2**20)
        interp.print_allocations()
        lo, hi = 0, 8 * 2**20  # lo fails, hi allocates
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if allocates(mid) else (mid, hi)
    found = dict(re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text[0]))
    measured = {k: int(v) for k, v in found.items()}
    measured["smallest"] = hi
    return measured


def analyzer_figures(path: Path) -> dict[str, int]:
    """The analyzer's prediction of TFLM's arena, and its own planner's arenas."""
    from analyzer import analyze

    out: dict[str, int] = {}
    for key, opts in (
        ("graph_order", {}),
        ("improved", {"inplace_depthwise": True, "reorder": True}),
    ):
        report = analyze(path, devices=[DEVICE], hardware=opts)
        arena = report.to_dict()["hardware"][0]["details"]["memory"]["arena"]
        out[key] = arena["arena_bytes"]
        tflm = arena["tflm"]
    out.update(
        predicted=tflm["arena_bytes"],
        predicted_head=tflm["head_bytes"],
        predicted_tail=tflm["tail_bytes"],
    )
    out["refused"] = len(tflm["refused"])
    return out


@pytest.fixture(scope="session")
def mcu_file(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.plugins.frontends.tflite import models

    root = tmp_path_factory.mktemp("tflm")

    def get(name: str) -> Path:
        path = root / f"{name}.tflite"
        if not path.exists():
            path.write_bytes(models.convert(_build(name), int8=True))
        return path

    return get


MODELS = ("person_detection", "kws_dscnn", "resnet8", "mobilenet_v2_035")
# beyond MCU size: attention's BATCH_MATMUL keeps persistent copies of its operands
EXTRA = ("examples.transformer",)


def _build(name: str) -> Any:
    from tests.plugins.frontends.tflite import mcu_models, models

    if name.startswith("examples."):
        return models.example(name.split(".", 1)[1])
    return mcu_models.MCU_MODELS[name]()


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS + EXTRA)
def test_predicted_arena_matches_tflm(mcu_file: Any, name: str) -> None:
    path = mcu_file(name)
    measured = tflm_measure(path.read_bytes())
    got = analyzer_figures(path)
    assert measured["smallest"] <= measured["total"] + 16  # TFLM's report is what it needs
    assert not got["refused"]
    for key in ("total", "smallest"):
        assert got["predicted"] == pytest.approx(measured[key], rel=TOLERANCE), key
    assert got["predicted_head"] == pytest.approx(measured["head"], rel=TOLERANCE)
    assert got["predicted_tail"] == pytest.approx(measured["tail"], rel=TOLERANCE)
    # the analyzer's own plan (views, in-place activations, fused layers) never needs more than TFLM's head
    assert got["improved"] <= got["graph_order"] <= measured["head"]


def test_int16_activations_match_tflm(tmp_path: Path) -> None:
    """int16 activations: twice the bytes in the head, and int16 SOFTMAX's lookup tables in the tail."""
    from tests.plugins.frontends.tflite import models

    path = tmp_path / "tiny_i16.tflite"
    path.write_bytes(models.convert(models.tiny_cnn(), int8=False, int16=True))
    measured = tflm_measure(path.read_bytes())
    got = analyzer_figures(path)
    assert got["predicted"] == pytest.approx(measured["total"], rel=TOLERANCE)
    assert got["predicted_head"] == pytest.approx(measured["head"], rel=TOLERANCE)
    assert got["predicted_tail"] == pytest.approx(measured["tail"], rel=TOLERANCE)


@pytest.mark.parametrize("kind", ["float16", "hybrid"])
def test_refused_files_are_flagged(tmp_path: Path, kind: str) -> None:
    """Files this TFLM will not prepare: it raises, and the prediction says why instead of a silent size."""
    import tensorflow as tf
    from tflite_micro.python.tflite_micro import runtime

    from analyzer.core.engine import to_graph
    from analyzer.plugins.hardware.tflm import tflm_arena
    from tests.plugins.frontends.tflite import models

    model = models.tiny_cnn()
    if kind == "float16":
        data = models.convert(model, int8=False, float16=True)
    else:  # dynamic-range quantization: int8 weights, float activations
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        data = conv.convert()
    with captured_fd(), pytest.raises(RuntimeError):
        runtime.Interpreter.from_bytes(data, arena_size=8 * 2**20)
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(data)
    refused = tflm_arena(to_graph(path)).refused
    assert len(refused) == 1 and ("float16" if kind == "float16" else "hybrid") in refused[0]


def table() -> str:
    """The markdown table of docs/hardware.md."""
    from tests.plugins.frontends.tflite import models

    rows = [
        "| model | TFLM arena (head + tail) | smallest arena that allocates | predicted (head + tail) | error "
        "| analyzer arena, graph order | in-place depthwise + reorder |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS + EXTRA:
            path = Path(tmp) / f"{name}.tflite"
            # the converter prints its SavedModel export: keep stdout for the table
            with contextlib.redirect_stdout(sys.stderr):
                path.write_bytes(models.convert(_build(name), int8=True))
            m, g = tflm_measure(path.read_bytes()), analyzer_figures(path)
            err = 100 * (g["predicted"] / m["total"] - 1)
            rows.append(
                f"| {name} | {m['total']:,} ({m['head']:,} + {m['tail']:,}) | {m['smallest']:,} "
                f"| {g['predicted']:,} ({g['predicted_head']:,} + {g['predicted_tail']:,}) | {err:+.2f}% "
                f"| {g['graph_order']:,} | {g['improved']:,} |"
            )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
