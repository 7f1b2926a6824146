"""The analyzer's ONNX MACs and parameters beside onnx-tool's, on the zoo's exported files.

onnx-tool (https://github.com/ThanatosShinji/onnx-tool) is the ONNX
profiler to compare with. It is not a dependency; install it outside the
venv and point ``--peers`` at it:

    .venv/bin/pip install --no-deps --target /tmp/peers onnx-tool
    OMP_NUM_THREADS=1 .venv/bin/python bench/onnx_tool_compare.py --peers /tmp/peers

Conventions differ, and the table shows both sides of each difference:

- onnx-tool counts a bias add as one MAC per output element in Conv/Gemm
  (not in ``MatMul -> Add``, which it counts as an Add; the analyzer counts
  every bias add as a FLOP, not a MAC): ``contraction MACs``
  compares onnx-tool's Conv/Gemm/MatMul MACs with the analyzer's MACs plus
  those bias elements, which must be equal;
- onnx-tool also gives MACs to non-contraction ops (BatchNormalization,
  ReLU, Add, pooling); the analyzer counts those as other FLOPs, never as
  MACs (docs/metrics.md): ``other MACs (onnx-tool)`` lists them apart;
- parameters: onnx-tool's count of initializer elements is the analyzer's
  trainable + non-trainable parameters.

onnx-tool 1.0.1, the zoo exported with BatchNorm folded:

    model            MACs (ours)  + bias elems  contraction MACs (onnx-tool)  equal  other MACs (onnx-tool)   params ours / onnx-tool
    alexnet          724,406,816       659,272                   725,066,088   True               1,760,448   60,965,224 / 60,965,224
    mobilenet_v2     300,774,272     6,679,112                   307,453,384   True              12,495,808    3,487,816 / 3,487,816
    resnet50       4,089,184,256    11,114,984                 4,100,299,240   True              17,042,944   25,530,472 / 25,530,472
    transformer      419,430,400        65,536                   419,495,936   True               6,692,174    3,152,384 / 3,152,384
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from onnx_zoo import ARCHS, export_zoo

CONTRACTIONS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def onnx_tool_counts(path: Path, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(contraction MACs, other MACs, params) by onnx-tool."""
    import numpy as np
    import onnx_tool

    model = onnx_tool.Model(str(path))
    g = model.graph
    g.shape_infer({"input": np.zeros(shape, dtype=np.float32)})
    g.profile()
    contraction = other = 0
    for node in g.nodemap.values():
        macs = node.macs[0] if isinstance(node.macs, list | tuple) else node.macs
        if node.op_type in CONTRACTIONS:
            contraction += int(macs)
        else:
            other += int(macs)
    return contraction, other, int(g.params)


def analyzer_counts(path: Path) -> tuple[int, int, int]:
    """(MACs, bias elements added by ONNX Conv/Gemm nodes, params incl. non-trainable) by the analyzer."""
    import analyzer

    report = analyzer.analyze(path)
    g = report.graph
    bias = sum(
        math.prod(g.shape(n.outputs[0]))
        for n in g.nodes()
        if n.source_op in ("Conv", "Gemm")
        and any(g.is_param(t) and g.params[t].role == "bias" for t in n.inputs)
    )
    return (
        report.totals["macs"],
        bias,
        report.totals["params"] + report.totals["non_trainable_params"],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", type=Path, help="folder onnx-tool was installed into (pip --target)")
    ap.add_argument("--archs", nargs="*", default=list(ARCHS))
    ap.add_argument(
        "--folder", type=Path, default=Path(tempfile.gettempdir()) / "analyzer-onnx-zoo"
    )
    args = ap.parse_args()
    if args.peers:
        sys.path.insert(0, str(args.peers))
    files = export_zoo(args.folder, tuple(args.archs))
    print(f"{'model':<13} {'MACs (ours)':>14} {'+ bias elems':>13} {'contraction MACs (onnx-tool)':>29} "
          f"{'equal':>6} {'other MACs (onnx-tool)':>23} {'params ours / onnx-tool':>25}")  # fmt: skip
    for arch, (path, shape) in files.items():
        macs, bias, params = analyzer_counts(path)
        try:
            c, other, p = onnx_tool_counts(path, shape)
        except Exception as e:  # a peer failing on a model is a row, not a crash
            print(
                f"{arch:<13} {macs:>14,} {bias:>13,}  onnx-tool failed: {type(e).__name__}: {str(e)[:80]}"
            )
            continue
        print(f"{arch:<13} {macs:>14,} {bias:>13,} {c:>29,} {str(macs + bias == c):>6} {other:>23,} "
              f"{params:>12,} / {p:,}")  # fmt: skip


if __name__ == "__main__":
    main()
