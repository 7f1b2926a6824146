"""Shapes and constant values of every tensor: ``onnx.shape_inference`` plus constant folding.

The model is inferred as a *stub*: the same nodes, the inputs bound to the
user's shapes, and each large initializer replaced by a graph input of the
same type and shape. So nothing large is copied, external data is never
needed, and files over protobuf's 2 GB limit infer like small ones. Small
initializers keep their values, which ``data_prop`` and the folder use.

Inference runs with ``strict_mode`` and ``data_prop``; what it leaves
unknown (a ``Reshape`` whose target comes through an op data propagation
does not cover) is completed by folding the constant subgraphs
(``fold.py``) into initializers and inferring again, a few rounds at most.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analyzer.core import dtypes
from analyzer.core.errors import AnalysisError
from analyzer.plugins.frontends.onnx.fold import MAX_ELEMENTS, fold

MAX_ROUNDS = 4


@dataclass
class Facts:
    """What inference and folding know about each tensor name."""

    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)  # folded constants (small)
    folded: set[str] = field(default_factory=set)  # names of nodes whose outputs are all folded
    warnings: list[str] = field(default_factory=list)


def onnx_dtype(code: int, what: str = "") -> str:
    """Canonical dtype of an ONNX ``TensorProto.DataType`` code."""
    from onnx import TensorProto

    try:
        name = TensorProto.DataType.Name(code)
    except ValueError:
        raise AnalysisError(f"{what}: unknown ONNX data type {code}") from None
    canonical = _DTYPES.get(name)
    if canonical is None:
        raise AnalysisError(f"{what}: ONNX data type {name} is not supported")
    return canonical


_DTYPES = {
    "FLOAT": "float32", "DOUBLE": "float64", "FLOAT16": "float16", "BFLOAT16": "bfloat16",
    "INT8": "int8", "UINT8": "uint8", "INT16": "int16", "UINT16": "uint16", "INT32": "int32",
    "UINT32": "uint32", "INT64": "int64", "UINT64": "uint64", "BOOL": "bool",
    "INT4": "int4", "UINT4": "uint4", "COMPLEX64": "complex64", "COMPLEX128": "complex128",
    "FLOAT8E4M3FN": "float8_e4m3fn", "FLOAT8E4M3FNUZ": "float8_e4m3fnuz",
    "FLOAT8E5M2": "float8_e5m2", "FLOAT8E5M2FNUZ": "float8_e5m2fnuz", "FLOAT4E2M1": "float4_e2m1fn",
}  # fmt: skip


_ONNX_CODES = {v: k for k, v in {
    1: "float32", 11: "float64", 10: "float16", 16: "bfloat16", 3: "int8", 2: "uint8", 5: "int16",
    4: "uint16", 6: "int32", 12: "uint32", 7: "int64", 13: "uint64", 9: "bool",
}.items()}  # fmt: skip


_FLOATS = frozenset({1, 10, 11, 16})  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


def initializer_value(t: Any) -> np.ndarray | None:
    """The value of a small integer (or scalar) initializer; None for weights, large or external ones.

    Float tensors of several elements are weights: folding ``Transpose(W)``
    into a literal would hide them from the parameter count.
    """
    from onnx import TensorProto, numpy_helper

    n = int(np.prod(t.dims))
    if (
        t.data_location == TensorProto.EXTERNAL
        or n > MAX_ELEMENTS
        or (t.data_type in _FLOATS and n > 1)
    ):
        return None
    try:
        return numpy_helper.to_array(t)
    except Exception:  # a malformed tensor: its dims still say its shape
        return None


def attrs_of(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _constant_value(node: Any) -> np.ndarray | None:
    from onnx import TensorProto, numpy_helper

    for a in node.attribute:
        if a.name == "value":
            if a.t.data_location == TensorProto.EXTERNAL:
                return None
            return numpy_helper.to_array(a.t)
        if a.name in ("value_float", "value_int"):
            return np.asarray(
                a.f if a.name == "value_float" else a.i,
                dtype=np.float32 if a.name == "value_float" else np.int64,
            )
        if a.name in ("value_floats", "value_ints"):
            return np.asarray(list(a.floats) or [] if a.name == "value_floats" else list(a.ints),
                              dtype=np.float32 if a.name == "value_floats" else np.int64)  # fmt: skip
    return None


def infer(model: Any, bound: dict[str, tuple[int, ...]], where: str) -> Facts:
    """Shapes, dtypes and folded values for ``model`` with inputs of shapes ``bound``."""
    from onnx import helper

    facts = Facts()
    g = model.graph
    for t in g.initializer:
        facts.shapes[t.name] = tuple(int(d) for d in t.dims)
        facts.dtypes[t.name] = onnx_dtype(t.data_type, f"{where}: initializer {t.name!r}")
        v = initializer_value(t)
        if v is not None:
            facts.values[t.name] = v
    elem = {vi.name: vi.type.tensor_type.elem_type for vi in g.input}
    for name, shape in bound.items():
        facts.shapes[name] = shape
        facts.dtypes[name] = onnx_dtype(elem[name], f"{where}: input {name!r}")

    stub_inputs = [helper.make_tensor_value_info(n, elem[n], list(s)) for n, s in bound.items()]
    for t in g.initializer:
        if t.name not in facts.values:
            stub_inputs.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    strict = True
    for _ in range(MAX_ROUNDS):
        inits = [_as_initializer(n, v) for n, v in facts.values.items()]
        nodes = [n for n in g.node if not (n.output and all(o in facts.values for o in n.output))]
        stub_graph = helper.make_graph(
            nodes,
            g.name or "model",
            stub_inputs,
            list(g.output),
            inits,
            value_info=list(g.value_info),
        )
        stub = helper.make_model(
            stub_graph, opset_imports=list(model.opset_import), ir_version=model.ir_version
        )
        inferred, strict = _run(stub, strict, facts, where)
        _collect(inferred.graph, facts, where)
        contrib = _contrib_round(g, facts)
        folded = _fold_round(g, facts)  # also the values of Constants and shapes the handlers read
        if _complete(g, facts) or not (folded or contrib):
            break
        stub_inputs += [helper.make_tensor_value_info(n, _ONNX_CODES[facts.dtypes[n]], list(facts.shapes[n]))
                        for n in contrib]  # fmt: skip
    return facts


def _contrib_round(graph: Any, facts: Facts) -> list[str]:
    """Output shapes of ONNX Runtime contrib ops the table maps (onnx cannot infer them)."""
    from analyzer.core.shapes import broadcast_shapes

    new = []
    for node in graph.node:
        if node.domain != "com.microsoft" or not node.output or node.output[0] in facts.shapes:
            continue
        shapes = [facts.shapes.get(t) for t in node.input]
        if not shapes or shapes[0] is None:
            continue
        op, x = node.op_type, shapes[0]
        if op in ("QLinearAdd", "QLinearMul") and len(shapes) > 3 and shapes[3] is not None:
            out, dtype = broadcast_shapes(x, shapes[3]), facts.dtypes[node.input[0]]
        elif op in ("QLinearSigmoid", "QLinearLeakyRelu", "Gelu", "FastGelu", "QuickGelu"):
            out, dtype = x, facts.dtypes[node.input[0]]
        elif op == "QLinearGlobalAveragePool":
            last = bool(attrs_of(node).get("channels_last", 0))
            out = (x[0], *(1,) * (len(x) - 2), x[-1]) if last else (*x[:2], *(1,) * (len(x) - 2))
            dtype = facts.dtypes[node.input[0]]
        elif op == "QGemm" and len(shapes) > 3 and shapes[3] is not None:
            a = attrs_of(node)
            m = x[1] if a.get("transA", 0) else x[0]
            n = shapes[3][0] if a.get("transB", 0) else shapes[3][1]
            # no y_scale: float output; else the type of y_zero_point (uint8 when absent)
            quantized = len(node.input) > 7 and node.input[7]
            zp = node.input[8] if len(node.input) > 8 else ""
            out = (m, n)
            dtype = (facts.dtypes.get(zp, "uint8") if zp else "uint8") if quantized else "float32"
        else:
            continue
        facts.shapes[node.output[0]], facts.dtypes[node.output[0]] = tuple(out), dtype
        new.append(node.output[0])
    return new


def _as_initializer(name: str, value: np.ndarray) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(value), name)


def _run(stub: Any, strict: bool, facts: Facts, where: str) -> tuple[Any, bool]:
    from onnx import shape_inference

    try:
        return shape_inference.infer_shapes(
            stub, check_type=True, strict_mode=strict, data_prop=True
        ), strict
    except Exception as e:
        if not strict:
            raise AnalysisError(f"{where}: shape inference failed: {_line(e)}") from None
        facts.warnings.append(f"ONNX shape inference refused the model in strict mode ({_line(e)}); "
                              "shapes were inferred without it")  # fmt: skip
        return _run(stub, False, facts, where)


def _line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def _collect(graph: Any, facts: Facts, where: str) -> None:
    for vi in (*graph.value_info, *graph.output, *graph.input):
        if vi.name in facts.shapes or not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        if not tt.HasField("shape") or not all(d.HasField("dim_value") for d in tt.shape.dim):
            continue
        facts.shapes[vi.name] = tuple(int(d.dim_value) for d in tt.shape.dim)
        if tt.elem_type:
            facts.dtypes[vi.name] = onnx_dtype(tt.elem_type, f"{where}: tensor {vi.name!r}")


def _fold_round(graph: Any, facts: Facts) -> bool:
    """Fold every node whose value is now computable; True when anything new was folded."""
    new = False
    for node in graph.node:
        if not node.output or all(o in facts.values for o in node.output):
            continue
        outs = _fold_node(node, facts)
        if outs is None or len(outs) != len(node.output):
            continue
        for name, value in zip(node.output, outs, strict=True):
            facts.values[name] = value
            facts.shapes.setdefault(name, tuple(value.shape))
            facts.dtypes.setdefault(name, _np_dtype(value))
        facts.folded.add(node.name)
        new = True
    return new


def _np_dtype(value: np.ndarray) -> str:
    try:
        return dtypes.canonical(str(value.dtype))
    except ValueError:
        return "float32"


def _fold_node(node: Any, facts: Facts) -> list[np.ndarray] | None:
    if node.domain not in ("", "ai.onnx"):
        return None
    op = node.op_type
    if op == "Constant":
        v = _constant_value(node)
        return None if v is None or v.size > MAX_ELEMENTS else [v]
    if op in ("Shape", "Size"):
        shape = facts.shapes.get(node.input[0])
        if shape is None:
            return None
        if op == "Size":
            return [np.asarray(int(np.prod(shape)), dtype=np.int64)]
        a = attrs_of(node)
        start, end = a.get("start", 0), a.get("end", len(shape))
        return [np.asarray(shape[slice(start, end)], dtype=np.int64)]
    ins = []
    for name in node.input:
        if not name:
            ins.append(None)
        elif name in facts.values:
            ins.append(facts.values[name])
        else:
            return None
    return fold(op, ins, attrs_of(node))


def _complete(graph: Any, facts: Facts) -> bool:
    return all(o in facts.shapes for n in graph.node for o in n.output if o)
