"""MACs and parameters against onnx-tool on the same files, where onnx-tool is importable.

onnx-tool is not a dependency: install it outside the venv and name the
folder, e.g. ``pip install --no-deps --target /tmp/peers onnx-tool`` then
``ONNX_TOOL_PATH=/tmp/peers pytest tests/plugins/frontends/onnx/test_onnx_tool.py``.
onnx-tool counts a Conv/Gemm bias add as one MAC per output element, the
analyzer as a FLOP: its contraction MACs are ours plus those elements
(bench/onnx_tool_compare.py prints the zoo's table).
"""

from __future__ import annotations

import math
import os
import sys

import pytest

if os.environ.get("ONNX_TOOL_PATH"):
    sys.path.insert(0, os.environ["ONNX_TOOL_PATH"])
onnx_tool = pytest.importorskip(
    "onnx_tool", reason="onnx-tool is not installed (see ONNX_TOOL_PATH)"
)
torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

import analyzer  # noqa: E402
from tests.plugins.frontends.onnx.exports import export, materialize, zoo_spec  # noqa: E402


@pytest.mark.parametrize("arch", ["mobilenet_v2", "transformer"])
def test_macs_and_params_agree_with_onnx_tool(arch, tmp_path):
    spec = zoo_spec(arch)
    path = export(materialize(spec["model"]), spec["inputs"], tmp_path / f"{arch}.onnx", fold=True)
    model = onnx_tool.Model(str(path))
    model.graph.shape_infer({"input": np.zeros(spec["inputs"], dtype=np.float32)})
    model.graph.profile()
    theirs = sum(
        int(n.macs[0])
        for n in model.graph.nodemap.values()
        if n.op_type in ("Conv", "Gemm", "MatMul")
    )
    report = analyzer.analyze(path)
    g = report.graph
    bias = sum(math.prod(g.shape(n.outputs[0])) for n in g.nodes()
               if n.source_op in ("Conv", "Gemm") and any(g.is_param(t) and g.params[t].role == "bias" for t in n.inputs))  # fmt: skip
    assert report.totals["macs"] + bias == theirs
    assert report.totals["params"] + report.totals["non_trainable_params"] == int(
        model.graph.params
    )
