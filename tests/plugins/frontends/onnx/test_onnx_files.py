"""Reading .onnx files: external data never read, content detection, bad files, the lazy import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402

import analyzer  # noqa: E402
from analyzer.cli import main  # noqa: E402
from tests.plugins.frontends.onnx.onnx_models import model, tensor  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]


def cnn() -> onnx.ModelProto:
    nodes = [helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["h"], name="/conv/Conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"], name="/relu/Relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="/pool/GlobalAveragePool"),
             helper.make_node("Flatten", ["p"], ["f"], name="/Flatten"),
             helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1, name="/fc/Gemm")]  # fmt: skip
    inits = [tensor("conv.weight", (64, 3, 3, 3)), tensor("conv.bias", (64,)),
             tensor("fc.weight", (10, 64)), tensor("fc.bias", (10,))]  # fmt: skip
    return model(nodes, [("x", ["batch", 3, 16, 16])], ["y"], inits)


def totals(report: analyzer.Report) -> dict:
    keys = ("params", "model_size_bytes", "macs", "total_activations", "peak_activations")
    return {k: report.totals[k] for k in keys}


@pytest.fixture
def cnn_file(tmp_path) -> Path:
    path = tmp_path / "cnn.onnx"
    onnx.save(cnn(), str(path))
    return path


def test_file_and_model_object_agree(cnn_file):
    from_file = analyzer.analyze(cnn_file, (2, 3, 16, 16))
    from_object = analyzer.analyze(cnn(), (2, 3, 16, 16))
    assert totals(from_file) == totals(from_object)
    assert from_file.model["name"] == "cnn" and from_file.model["framework"] == "onnx"
    assert [r.name for r in from_file.layers if r.params] == ["conv", "fc"]


def test_external_data_is_never_read(tmp_path, cnn_file):
    """Weights in a side file: shapes come from the tensor headers; the data file may even be gone."""
    path = tmp_path / "ext" / "cnn.onnx"
    path.parent.mkdir()
    onnx.save(cnn(), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location="cnn.weights", size_threshold=0)  # fmt: skip
    data = path.parent / "cnn.weights"
    assert (
        data.stat().st_size >= 4 * (64 * 27 + 64 + 640 + 10)
        and path.stat().st_size < data.stat().st_size
    )
    data.write_bytes(b"")  # truncated: a reader of the weights would fail
    assert totals(analyzer.analyze(path, (1, 3, 16, 16))) == totals(
        analyzer.analyze(cnn_file, (1, 3, 16, 16))
    )
    data.unlink()
    assert totals(analyzer.analyze(path, (1, 3, 16, 16)))["params"] == 64 * 27 + 64 + 640 + 10


def test_detected_by_content_without_suffix(tmp_path, capsys):
    path = tmp_path / "exported_model"
    onnx.save(cnn(), str(path))
    assert main(["analyze", str(path), "--input-shape", "1,3,16,16", "--format", "json"]) == 0
    assert '"framework": "onnx"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not a valid ONNX file"), (b"\x00\xff garbage \x01" * 10, "not a valid ONNX file"),
     (b"hello, I am a text file\n", "not a valid ONNX file")],
)  # fmt: skip
def test_bad_file_is_one_line_exit_1(tmp_path, capsys, content, message):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    assert main(["analyze", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and str(path) in err and "\n" not in err


def test_truncated_file(tmp_path, cnn_file, capsys):
    path = tmp_path / "truncated.onnx"
    path.write_bytes(cnn_file.read_bytes()[:300])
    assert main(["analyze", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "not a valid ONNX file" in err and "\n" not in err


def test_contradicting_file_is_refused(tmp_path, capsys):
    """A weight whose shape contradicts its layer: shape inference or the strict checks refuse it."""
    m = cnn()
    m.graph.initializer[0].CopyFrom(
        tensor("conv.weight", (64, 4, 3, 3))
    )  # the input has 3 channels
    path = tmp_path / "contradicting.onnx"
    onnx.save(m, str(path))
    assert main(["analyze", str(path), "--input-shape", "1,3,16,16"]) == 1
    err = capsys.readouterr().err.strip()
    assert str(path) in err and "\n" not in err


def test_unbound_symbolic_dim_is_a_usage_error(cnn_file, capsys):
    assert main(["analyze", str(cnn_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert "input 'x' has symbolic dim 0 ('batch')" in err and "\n" not in err


def test_onnx_is_imported_lazily():
    code = ("import sys, analyzer\nfrom analyzer.core.plugins import load_plugins\n"
            "fe = load_plugins().frontends['onnx']\nassert not fe.accepts(object())\nprint('onnx' in sys.modules)")  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_missing_onnx_names_the_extra(cnn_file):
    code = ("import sys\nsys.modules['onnx'] = None\nfrom analyzer.cli import main\n"
            f"raise SystemExit(main(['analyze', {str(cnn_file)!r}]))")  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.returncode == 1
    assert "pip install 'analyzer[onnx]'" in out.stderr


def test_crafted_sizes_allocate_nothing(tmp_path, capsys):
    """A ConstantOfShape of 2^40 elements is not folded; a weight declaring 2^60 elements is refused."""
    big = helper.make_node("ConstantOfShape", ["shape"], ["zeros"])
    add = helper.make_node("Add", ["x", "zeros"], ["y"])
    shape = onnx.numpy_helper.from_array(
        __import__("numpy").asarray([1 << 20, 1 << 20], "int64"), "shape"
    )
    m = model([big, add], [("x", [1, 1])], ["y"], [shape])
    report = analyzer.analyze(m)
    assert report.graph.shape("y") == (1 << 20, 1 << 20)  # counted, never built
    weight = onnx.TensorProto(name="w", data_type=onnx.TensorProto.FLOAT, dims=[1 << 30, 1 << 30])
    weight.data_location = onnx.TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="nowhere.bin")
    huge = model(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], [("x", [1, 1 << 30])], ["y"], [weight]
    )
    path = tmp_path / "huge.onnx"
    onnx.save(huge, str(path))
    assert main(["analyze", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert str(path) in err and "\n" not in err
