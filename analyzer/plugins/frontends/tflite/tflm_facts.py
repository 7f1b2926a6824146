"""What TensorFlow Lite Micro will see when it runs the file: its operators and arena tensors.

Recorded in ``graph.meta["tflite"]["tflm"]`` as plain JSON data, from the
file itself rather than from the graph: the canonical passes rewrite the
graph (a ``PAD`` folded into the next convolution, a stored weight's
``DEQUANTIZE`` folded into its reader), but TFLM runs every operator of the
file and allocates every tensor they write. ``analyzer.plugins.hardware.tflm``
plans the arena from this record.

- ``tensors``: ``[[index, bytes], ...]`` for every tensor TFLM allocates in
  its arena (graph inputs and operator outputs), in tensor-index order;
- ``inputs``/``outputs``: the subgraph's tensor indices, ``io_dtypes`` their dtypes;
- ``ops``: per operator ``{"op", "in", "out", "dtype"}`` plus what sizes
  its persistent data and scratch buffers: ``channels`` and ``quantized``
  (convolutions, fully connected), ``axes`` (reductions), ``copies``
  (``[rank, bytes]`` of the operands ``BATCH_MATMUL`` transposes), ``conv``
  (``kernel``, ``pad``, ``dilation``, ``cin``, ``cout``, ``batch``) and
  ``out_elements``;
- ``tensor_count``: all tensors of the subgraph (one ``TfLiteEvalTensor``
  each).
"""

from __future__ import annotations

from typing import Any

from analyzer.core import dtypes
from analyzer.plugins.frontends.tflite.reader import FlatModel, OpInfo

_CONV = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV")
_REDUCTIONS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD")


def _opt(op: OpInfo, getter: str, default: Any = 0) -> Any:
    return getattr(op.options, getter)() if op.options is not None else default


def _same_pad(size: int, k: int, s: int, d: int) -> int:
    out = -(-size // s)
    return max((out - 1) * s + (k - 1) * d + 1 - size, 0) // 2


def _op_record(fm: FlatModel, op: OpInfo) -> dict[str, Any]:
    t = fm.tensors
    ins = [i for i in op.inputs if i >= 0]
    rec: dict[str, Any] = {"op": op.name, "in": ins, "out": list(op.outputs),
                           "dtype": t[ins[0]].dtype if ins else "float32",
                           "out_elements": sum(t[o].numel for o in op.outputs)}  # fmt: skip
    if op.name in (*_CONV, "FULLY_CONNECTED") and len(ins) >= 2:
        w = t[op.inputs[2 if op.name == "TRANSPOSE_CONV" else 1]]
        rec["channels"] = (
            w.shape[-1] if op.name == "DEPTHWISE_CONV_2D" else (w.shape[0] if w.shape else 0)
        )
        rec["quantized"] = not dtypes.is_float(w.dtype)
        x = t[op.inputs[0]]
        if (
            op.name != "FULLY_CONNECTED"
            and op.name != "TRANSPOSE_CONV"
            and len(x.shape) == 4
            and len(w.shape) == 4
        ):
            k = (w.shape[1], w.shape[2])
            s = (_opt(op, "StrideH", 1), _opt(op, "StrideW", 1))
            d = (_opt(op, "DilationHFactor", 1), _opt(op, "DilationWFactor", 1))
            same = _opt(op, "Padding") == 0
            pad = [_same_pad(x.shape[1 + i], k[i], s[i], d[i]) if same else 0 for i in range(2)]
            rec["conv"] = {"kernel": list(k), "pad": pad, "dilation": list(d), "cin": x.shape[3],
                           "cout": rec["channels"], "batch": x.shape[0]}  # fmt: skip
    if op.name == "AVERAGE_POOL_2D" and ins:
        rec["channels"] = t[ins[0]].shape[-1] if t[ins[0]].shape else 0
    if op.name in _REDUCTIONS and len(ins) >= 2:
        rec["axes"] = t[ins[1]].numel
        rec["rank"] = len(t[ins[0]].shape)
    if op.name == "BATCH_MATMUL" and len(ins) >= 2:
        copies = []
        for idx, flag, needs in ((ins[0], "AdjX", True), (ins[1], "AdjY", False)):
            if bool(_opt(op, flag, False)) == needs:
                copies.append([len(t[idx].shape), t[idx].nbytes])
        rec["copies"] = copies
        rec["quantized"] = not dtypes.is_float(t[ins[0]].dtype)
    return rec


def tflm_record(fm: FlatModel) -> dict[str, Any]:
    """The record above for ``fm``'s main subgraph."""
    produced = {o for op in fm.ops for o in op.outputs}
    arena = sorted(set(fm.inputs) | produced)
    return {
        "tensors": [[i, fm.tensors[i].nbytes] for i in arena],
        "inputs": list(fm.inputs),
        "outputs": list(fm.outputs),
        "io_dtypes": [fm.tensors[i].dtype for i in (*fm.inputs, *fm.outputs)],
        "ops": [_op_record(fm, op) for op in fm.ops],
        "tensor_count": len(fm.tensors),
    }
