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

import math
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


_DTYPES_BY_CODE = {code: name for name, code in _ONNX_CODES.items()}


def initializer_value(t: Any) -> np.ndarray | None:
    """The value of a small integer (or scalar) initializer; None for weights, large or external ones.

    Float tensors of several elements are weights: folding ``Transpose(W)``
    into a literal would hide them from the parameter count.
    """
    from onnx import TensorProto, numpy_helper

    n = math.prod(int(d) for d in t.dims)
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
    known: list[Any] = []  # value_info of the contrib ops' outputs (onnx has no schema for them)
    for _ in range(MAX_ROUNDS):
        inits = [_as_initializer(n, v) for n, v in facts.values.items()]
        nodes = [n for n in g.node if not (n.output and all(o in facts.values for o in n.output))]
        stub_graph = helper.make_graph(
            nodes,
            g.name or "model",
            stub_inputs,
            list(g.output),
            inits,
            value_info=[*g.value_info, *known],
        )
        stub = helper.make_model(
            stub_graph, opset_imports=list(model.opset_import), ir_version=model.ir_version
        )
        inferred, strict = _run(stub, strict, facts, where)
        _collect(inferred.graph, facts, where)
        contrib = _contrib_round(g, facts, _opset(model))
        folded = _fold_round(g, facts)  # also the values of Constants and shapes the handlers read
        if _complete(g, facts) or not (folded or contrib):
            break
        known += [helper.make_tensor_value_info(n, _ONNX_CODES.get(facts.dtypes[n], 1), list(facts.shapes[n]))
                  for n in contrib]  # fmt: skip
    return facts


# ONNX Runtime contrib ops (domain com.microsoft) the table maps -> the standard op whose shape
# inference gives their output shape: (op_type, input positions, attributes kept or None for all)
_CONTRIB_AS = {
    "FusedConv": ("Conv", (0, 1, 2), ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")),
    "FusedGemm": ("Gemm", (0, 1, 2), ("alpha", "beta", "transA", "transB")),
    "QGemm": ("Gemm", (0, 3), ("transA", "transB")),
    "QLinearAdd": ("Add", (0, 3), ()), "QLinearMul": ("Mul", (0, 3), ()),
    "QLinearAveragePool": ("AveragePool", (0,), ("auto_pad", "ceil_mode", "kernel_shape", "pads", "strides")),
    "QLinearGlobalAveragePool": ("GlobalAveragePool", (0,), ()),
    "BiasGelu": ("Add", (0, 1), ()),
    **dict.fromkeys(("QLinearSigmoid", "QLinearLeakyRelu", "Gelu", "FastGelu", "QuickGelu",
                     "SkipLayerNormalization"), ("Identity", (0,), ())),
}  # fmt: skip


def _contrib_round(graph: Any, facts: Facts, opset: int) -> list[str]:
    """Shapes onnx's whole-graph inference left unknown, one node at a time in graph order.

    A contrib op the table maps is inferred as its standard twin; a
    standard op after it as itself (with the folded values of its inputs).
    One pass in order settles a chain of them.
    """
    new = []
    for node in graph.node:
        outs = [o for o in node.output if o]
        if not outs or all(o in facts.shapes for o in outs):
            continue
        if node.domain == "com.microsoft" and node.op_type == "FusedMatMul":
            shape = _fused_matmul_shape(node, facts)
            if shape is not None:
                facts.shapes[outs[0]], facts.dtypes[outs[0]] = (
                    shape,
                    facts.dtypes.get(node.input[0], "float32"),
                )
                new.append(outs[0])
            continue
        if node.domain == "com.microsoft":
            if node.op_type == "QLinearConcat":  # Y_scale, Y_zp, then (X, X_scale, X_zp) per input
                twin, positions, keep = "Concat", tuple(range(2, len(node.input), 3)), ("axis",)
            elif node.op_type in _CONTRIB_AS:
                twin, positions, keep = _CONTRIB_AS[node.op_type]
            else:
                continue
            if twin.endswith("Pool") and attrs_of(node).get("channels_last", 0):
                continue  # NHWC pooling: no standard twin
            names = [node.input[i] for i in positions if i < len(node.input) and node.input[i]]
            attrs = {k: v for k, v in attrs_of(node).items() if k in keep}
            outs = outs[:1]
        elif node.domain in ("", "ai.onnx") and not any(
            a.type in (5, 10) for a in node.attribute
        ):  # no subgraphs
            twin, names, attrs = node.op_type, list(node.input), attrs_of(node)
        else:
            continue
        if not names or any(n and n not in facts.shapes for n in names):
            continue
        shapes = _infer_one(twin, names, attrs, len(outs), facts, opset)
        if shapes is None:
            continue
        for o, (shape, dtype) in zip(outs, shapes, strict=True):
            if shape is not None:
                facts.shapes[o] = shape
                facts.dtypes[o] = (
                    dtype if node.domain != "com.microsoft" else _contrib_dtype(node, facts, names)
                )
                new.append(o)
    return new


def _fused_matmul_shape(node: Any, facts: Facts) -> tuple[int, ...] | None:
    from analyzer.core.op_rules import matmul_shape
    from analyzer.plugins.frontends.onnx.contrib import fused_matmul_perms

    if len(node.input) < 2 or any(n not in facts.shapes for n in node.input[:2]):
        return None
    a, b = facts.shapes[node.input[0]], facts.shapes[node.input[1]]
    pa, pb = fused_matmul_perms(attrs_of(node), len(a), len(b))
    a = tuple(a[i] for i in pa) if pa else a
    b = tuple(b[i] for i in pb) if pb else b
    try:
        return matmul_shape(a, b)
    except ValueError:
        return None


def _contrib_dtype(node: Any, facts: Facts, names: list[str]) -> str:
    """QGemm without y_scale writes float; the quantized ops write their output zero point's type."""
    if node.op_type == "QGemm":
        quantized = len(node.input) > 7 and node.input[7]
        zp = node.input[8] if len(node.input) > 8 else ""
        return (facts.dtypes.get(zp, "uint8") if zp else "uint8") if quantized else "float32"
    return facts.dtypes.get(names[0], "float32")


def _infer_one(op_type: str, names: list[str], attrs: dict[str, Any], n_out: int, facts: Facts, opset: int
               ) -> list[tuple[tuple[int, ...] | None, str]] | None:  # fmt: skip
    """(shape, dtype) of each output onnx infers for one standard op, given its inputs' shapes and values."""
    from onnx import helper, numpy_helper, shape_inference

    vis, inits = [], []
    for n in names:
        if not n:
            continue
        if n in facts.values:
            inits.append(numpy_helper.from_array(np.asarray(facts.values[n]), n))
        else:
            vis.append(
                helper.make_tensor_value_info(
                    n, _ONNX_CODES.get(facts.dtypes.get(n, ""), 1), list(facts.shapes[n])
                )
            )
    outs = [f"out{i}" for i in range(n_out)]
    node = helper.make_node(op_type, names, outs, **attrs)
    graph = helper.make_graph(
        [node], "one", vis, [helper.make_tensor_value_info(o, 0, None) for o in outs], inits
    )
    try:
        inferred = shape_inference.infer_shapes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]),
                                                strict_mode=True, data_prop=True)  # fmt: skip
    except Exception:
        return None
    result = []
    for vi in inferred.graph.output:
        tt = vi.type.tensor_type
        ok = tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim)
        shape = tuple(int(d.dim_value) for d in tt.shape.dim) if ok else None
        result.append((shape, _DTYPES_BY_CODE.get(tt.elem_type, "float32")))
    return result


def _opset(model: Any) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=17)


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
            return [np.asarray(math.prod(shape), dtype=np.int64)]
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
