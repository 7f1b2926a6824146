"""Names read from an untrusted model file (docs/security.md) reach the terminal as text, not as markup or escapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cli import main

onnx = pytest.importorskip("onnx")

MARKUP = "[bold red]X[/bold red]"
ESCAPES = "\x1b[31mRED\x1b]0;title\x07"


def conv_file(tmp_path: Path, node_name: str) -> Path:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), name="w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])
    node = helper.make_node("Conv", ["x", "w"], ["y"], name=node_name)
    graph = helper.make_graph([node], "g", [x], [y], [weight])
    path = tmp_path / "named.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_rich_markup_in_a_layer_name_is_printed_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["analyze", str(conv_file(tmp_path, MARKUP))]) == 0
    assert MARKUP in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_control_characters_in_a_layer_name_are_not_written_raw(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture
) -> None:
    assert main(["analyze", str(conv_file(tmp_path, ESCAPES)), "-f", fmt]) == 0
    out = capsys.readouterr().out
    assert "RED" in out
    assert "\x1b" not in out and "\x07" not in out


def test_control_characters_in_an_error_line_are_not_written_raw(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", str(tmp_path / f"m{ESCAPES}.onnx")]) == 1  # the error quotes the path it was given
    err = capsys.readouterr().err
    assert "no such file" in err and err.count("\n") == 1
    assert "\x1b" not in err and "\x07" not in err and "\\x1b[31mRED" in err
