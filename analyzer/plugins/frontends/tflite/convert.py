"""A read TFLite model -> Graph, in the subgraph's operator order (TFLM's execution order).

Inputs take the file's shapes; a dimension the file leaves open (``-1`` in
its shape signature) is bound from the shapes the user gives. Graph meta
records what a TFLM deployment needs beyond the counts
(``graph.meta["tflite"]``): the tensor index of every IR tensor (TFLM plans
buffers in that order), variable tensors, the ops that can run in place,
folded DEQUANTIZE ops, and each quantized tensor's parameters
(``graph.meta["quantization"]``).
"""

from __future__ import annotations

from typing import Any

from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.frontend import shape_inputs
from analyzer.core.graph import Graph, GraphError
from analyzer.plugins.frontends.tflite.emit import Emitter
from analyzer.plugins.frontends.tflite.handlers import HANDLERS, INPLACE_OPS, unknown
from analyzer.plugins.frontends.tflite.mappings import op_key
from analyzer.plugins.frontends.tflite.reader import FlatModel
from analyzer.plugins.frontends.tflite.tflm_facts import tflm_record


def input_shapes(fm: FlatModel, inputs: Any) -> list[tuple[int, ...]]:
    """The file's input shapes, open dimensions bound from ``inputs`` (shapes) where given."""
    declared = [fm.tensors[t] for t in fm.inputs]
    given = shape_inputs(inputs) if inputs is not None else None
    if inputs is not None and given is None:
        raise UsageError("the tflite frontend takes input shapes (tuples of ints), not tensors")
    if given is not None and len(given) != len(declared):
        raise UsageError(f"the model has {len(declared)} input(s), {len(given)} shape(s) given")
    shapes = []
    for i, ti in enumerate(declared):
        want = given[i].shape if given else None
        if want is None:
            shapes.append(tuple(1 if d < 0 else d for d in ti.shape))
            continue
        sig = ti.signature if len(ti.signature) == len(ti.shape) else ti.shape
        if len(want) != len(sig) or any(s >= 0 and s != w for s, w in zip(sig, want, strict=True)):
            raise UsageError(
                f"input {ti.name!r} has shape {ti.shape} (signature {sig}); {want} does not fit it"
            )
        shapes.append(tuple(want))
    return shapes


def to_graph(
    fm: FlatModel, inputs: Any, name: str, where: str, handlers: dict[str, Any] | None = None
) -> Graph:
    """The graph of ``fm``; ``handlers`` by op key (``mappings.op_key``), default ``HANDLERS``."""
    handlers = HANDLERS if handlers is None else handlers
    graph = Graph(name, "tflite")
    e = Emitter(fm, graph, where)
    shapes = input_shapes(fm, inputs)
    if any(s != fm.tensors[t].shape for s, t in zip(shapes, fm.inputs, strict=True)):
        raise AnalysisError(
            f"{where}: TFLite files are converted at fixed shapes; the file's inputs are "
            f"{[fm.tensors[t].shape for t in fm.inputs]} (re-convert the model for other shapes)"
        )
    for t, shape in zip(fm.inputs, shapes, strict=True):
        e.graph_input(t, shape)
    inplace = []
    for op in fm.ops:
        e.begin(op)
        if op.intermediates:
            e.rec.warn(
                f"operator {op.index} ({op.name}) has intermediate tensors; they are not counted"
            )
        handler = handlers.get(op_key(op), unknown)
        before = len(graph)
        try:
            handler(e, op)
        except (IndexError, ZeroDivisionError) as exc:  # operand lists shorter than the op needs
            raise AnalysisError(
                f"{where}: operator {op.index} ({op.name}) is malformed: {type(exc).__name__}"
            ) from None
        if op.name in INPLACE_OPS and len(graph) > before:
            inplace.append(e.node_id)
    outputs = []
    for t in fm.outputs:
        if t not in e.names:
            raise AnalysisError(
                f"{where}: subgraph output {fm.tensors[t].name!r} is never computed"
            )
        outputs.append(e.names[t])
    e.rec.finish(outputs)
    graph.meta["capture"] = "tflite.flatbuffer"
    for line in fm.warnings:
        e.rec.warn(line)
    graph.meta["quantization"] = e.quant
    graph.meta["tflite"] = {
        "schema_version": fm.schema_version,
        "description": fm.description,
        "file_bytes": fm.size_bytes,
        "operators": len(fm.ops),
        "tensors": len(fm.tensors),
        "tensor_index": {n: t for t, n in e.names.items()},
        "variable_tensors": e.variables,
        "inplace_ops": inplace,
        "folded_dequantize": e.folded,
        "tflm": tflm_record(fm),
    }
    try:  # bytes handed in directly are as untrusted as a file: the strict checks of file graphs
        graph.validate(strict=True)
    except GraphError as exc:
        raise AnalysisError(f"{where}: invalid graph: {exc}") from None
    return graph
