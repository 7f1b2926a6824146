"""TFLite files: untrusted bytes refused in one line, unsupported ops reported, stored dtypes kept.

Files are made by the TensorFlow converter in the test, then damaged or
checked; expected values come from the Keras weights and hand counts.
"""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("tflite") is None or importlib.util.find_spec("tensorflow") is None:
    pytest.skip("needs the tflite package and TensorFlow's converter", allow_module_level=True)

from analyzer import analyze  # noqa: E402
from analyzer.cli import main  # noqa: E402
from analyzer.core.engine import to_graph  # noqa: E402
from analyzer.core.errors import AnalysisError, AnalyzerError  # noqa: E402
from analyzer.plugins.frontends.tflite import TFLiteModel  # noqa: E402
from tests.plugins.frontends.tflite import models  # noqa: E402


@pytest.fixture(scope="module")
def tiny_int8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tflite") / "tiny_int8.tflite"
    path.write_bytes(models.convert(models.tiny_cnn(), int8=True))
    return path


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b"\x00" * 100, "not a TFLite flatbuffer"),
        (lambda b: b[:3000], "corrupt TFLite file"),
        (lambda b: b[:4] + b"TFL3", "corrupt TFLite file"),
    ],
    ids=["not-tflite", "truncated", "header-only"],
)
def test_bad_file_one_line(
    tiny_int8: Path, tmp_path: Path, capsys: Any, damage: Any, message: str
) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(damage(tiny_int8.read_bytes()))
    assert main(["analyze", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and str(bad) in err


def test_damaged_bytes_never_crash(tiny_int8: Path) -> None:
    data = tiny_int8.read_bytes()
    outcomes = set()
    for seed in range(60):
        rng, b = random.Random(seed), bytearray(data)
        for _ in range(rng.choice((1, 3, 10))):
            b[rng.randrange(8, len(b))] = rng.randrange(256)
        try:
            analyze(TFLiteModel(bytes(b), "fuzz", "fuzz.tflite"))
            outcomes.add("ok")
        except AnalyzerError:
            outcomes.add("refused")
    assert "refused" in outcomes  # anything else raised would have failed the test


def test_weight_larger_than_stored_refused(tiny_int8: Path) -> None:
    """A constant whose shape claims more bytes than its buffer holds is refused, not counted."""
    import flatbuffers  # noqa: F401  (installed with tflite)

    from analyzer.plugins.frontends.tflite.reader import read

    fm = read(tiny_int8.read_bytes(), "x")
    weight = next(t for t in fm.tensors if t.data_bytes and t.dtype == "int8")
    data = bytearray(tiny_int8.read_bytes())
    # the shape vector of that tensor holds int32 dims; find it by its bytes and grow the first dim
    dims = b"".join(d.to_bytes(4, "little") for d in weight.shape)
    at = data.find(len(weight.shape).to_bytes(4, "little") + dims)
    assert at > 0
    data[at + 4 : at + 8] = (weight.shape[0] * 2).to_bytes(4, "little")
    with pytest.raises(AnalysisError, match="stores .* bytes, its shape"):
        analyze(TFLiteModel(bytes(data), "grown", "grown.tflite"))


def test_bytes_accepted_and_meta(tiny_int8: Path) -> None:
    g = to_graph(tiny_int8.read_bytes())
    meta = g.meta["tflite"]
    assert g.framework == "tflite" and meta["operators"] == len(
        {n.meta["tflite_op"] for n in g.nodes()}
    )
    assert (
        all(g.node(n).source_op == "RESHAPE" for n in meta["inplace_ops"]) and meta["inplace_ops"]
    )
    assert set(meta["tensor_index"]) >= {*g.inputs, *g.outputs}


def test_saved_graph_keeps_quantization(tiny_int8: Path, tmp_path: Path, capsys: Any) -> None:
    saved = tmp_path / "g.json"
    assert main(["analyze", str(tiny_int8), "--save-graph", str(saved), "--format", "json"]) == 0
    direct = json.loads(capsys.readouterr().out)["totals"]
    doc = json.loads(saved.read_text())
    assert any(q.get("scheme") == "per-channel" for q in doc["meta"]["quantization"].values())
    assert main(["analyze", str(saved), "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)["totals"]
    assert (again["macs"], again["params"], again["model_size_bytes"]) == (
        direct["macs"], direct["params"], direct["model_size_bytes"])  # fmt: skip


def test_float16_weights_stored_at_16_bits(tmp_path: Path) -> None:
    model = models.tiny_cnn()
    path = tmp_path / "f16.tflite"
    path.write_bytes(models.convert(model, int8=False, float16=True))
    ref = analyze(model).totals
    got = analyze(path)
    g = to_graph(path)
    conv = next(n for n in g.nodes() if n.op == "conv")
    assert g.params[conv.inputs[1]].dtype == "float16"  # the DEQUANTIZE to float32 is folded
    assert g.meta["tflite"]["folded_dequantize"]
    assert got.totals["params"] == ref["params"] and got.totals["macs"] == ref["macs"]
    assert got.totals["model_size_bytes"] == 2 * ref["params"]
    assert got.totals["mac_flops"] == ref["mac_flops"]  # float activations: FLOPs


def test_unsupported_op_reported(tmp_path: Path) -> None:
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((1, 8, 8, 4), tf.float32)])
    def f(x: Any) -> Any:
        return tf.nn.local_response_normalization(tf.nn.relu(x)) * 2.0

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    path = tmp_path / "lrn.tflite"
    path.write_bytes(conv.convert())
    report = analyze(path).to_dict()
    assert [u["source_op"] for u in report["unsupported"]] == ["LOCAL_RESPONSE_NORMALIZATION"]
    gaps = report["completeness"]
    assert gaps["complete"] is False and gaps["quantities"]["macs"]["complete"] is False
    assert gaps["uncounted_params"] == 0  # it stores no weights


@pytest.fixture(scope="module")
def cumsum_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((1, 16), tf.float32)])
    def f(x: Any) -> Any:
        return tf.math.cumsum(tf.nn.relu(x), axis=1) * 2.0

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    path = tmp_path_factory.mktemp("tflite") / "cumsum.tflite"
    path.write_bytes(conv.convert())
    return path


def test_plugin_op_mapping_onto_a_canonical_op(cumsum_file: Path) -> None:
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.plugins import load_plugins

    class Mapping:
        @hookimpl
        def analyzer_register_op_mappings(self, register: Any) -> None:
            register("tflite", "CUMSUM", "cumsum")

    report = analyze(cumsum_file, plugins=load_plugins(extra=[Mapping()], entry_points=False))
    assert report.unsupported == []
    node = next(n for n in report.graph.nodes() if n.op == "cumsum")
    assert node.source_op == "CUMSUM"
    axis = node.inputs[1]  # every operand: the axis is a constant, not a parameter
    assert report.graph.tensors[axis].constant and report.totals["params"] == 0


def test_plugin_op_mapping_onto_a_handler(cumsum_file: Path) -> None:
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.plugins import load_plugins

    def cumsum(e: Any, op: Any) -> None:  # the TFLite frontend's handler signature: (emitter, op)
        axis = e.values(op.inputs[1])[0] % len(e.shape(op.inputs[0]))
        e.operand(op.inputs[1], "config")
        e.node("cumsum", [e.operand(op.inputs[0])], [e.output(op.outputs[0])], {"axis": axis},
               meta={"mine": True})  # fmt: skip

    class Mapping:
        @hookimpl
        def analyzer_register_op_mappings(self, register: Any) -> None:
            register("tflite", "CUMSUM", cumsum)

    report = analyze(cumsum_file, plugins=load_plugins(extra=[Mapping()], entry_points=False))
    node = next(n for n in report.graph.nodes() if n.op == "cumsum")
    assert node.attrs == {"axis": 1} and node.meta["mine"] and report.unsupported == []


def test_plugin_op_mappings_clash_refused() -> None:
    from analyzer.core.errors import UsageError
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.plugins import load_plugins

    class A:
        @hookimpl
        def analyzer_register_op_mappings(self, register: Any) -> None:
            register("tflite", "MyOp", "relu")

    class B:
        @hookimpl
        def analyzer_register_op_mappings(self, register: Any) -> None:
            register("tflite", "CUSTOM:MyOp", "relu6")

    with pytest.raises(UsageError, match="CUSTOM:MyOp"):
        load_plugins(extra=[A(), B()], entry_points=False)


def test_analysis_imports_no_tensorflow(tiny_int8: Path) -> None:
    """Reading a .tflite file needs the flatbuffer reader only: TensorFlow and Keras stay unimported."""
    import subprocess
    import sys

    code = (
        "import sys, analyzer; r = analyzer.analyze(sys.argv[1], devices=['stm32f746']); "
        "assert r.totals['macs'] > 0; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'tflite_micro') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tiny_int8)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_missing_tflite_package_names_the_extra(tiny_int8: Path, tmp_path: Path) -> None:
    """Without the flatbuffer reader the CLI says which extra to install (exit 1), not 'corrupt file'."""
    import os
    import subprocess
    import sys

    fake = tmp_path / "shadow" / "tflite"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tflite'\", name='tflite')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    out = subprocess.run([sys.executable, "-m", "analyzer", "analyze", str(tiny_int8)],
                         capture_output=True, text=True, env=env)  # fmt: skip
    assert out.returncode == 1
    assert "pip install 'analyzer[tflite]'" in out.stderr and "corrupt" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_table_shows_stock_tflms_arena_for_a_tflite_file(tiny_int8: Path, capsys: Any) -> None:
    """A .tflite file runs on TFLM as it is: the notes give TFLM's own arena beside the analyzer's plan."""
    assert main(["analyze", str(tiny_int8), "--device", "stm32f746"]) == 0
    out = capsys.readouterr().out
    r = analyze(str(tiny_int8), devices=["stm32f746"])
    tflm = r.hardware[0].details["memory"]["arena"]["tflm"]
    from analyzer.plugins.reporters.common import human_bytes

    assert f"stm32f746: stock TFLM's own arena {human_bytes(tflm['arena_bytes'])}" in out
    # a model from a framework is not what TFLM runs (no converter folding, float activations): no such line
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "--device", "stm32f746"]) == 0
    assert "stock TFLM" not in capsys.readouterr().out
