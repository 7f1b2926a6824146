"""Read a ``.tflite`` flatbuffer into plain records, checking what the file claims.

The ``tflite`` package (generated flatbuffer accessors) reads the bytes;
nothing in the file is executed. A flatbuffer is untrusted input: vector
lengths, tensor and buffer indices, and the bytes a constant tensor stores
are checked against the file before anything is built from them, and any
failure of the accessors on corrupt data becomes one ``AnalysisError`` line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from analyzer.core import dtypes
from analyzer.core.errors import AnalysisError

FILE_IDENTIFIER = b"TFL3"
MAX_RANK = 16
MAX_VALUES = 4096  # integer constants read for their values (axes, pads...): small by nature

# TensorType enum names (tflite schema) -> canonical dtypes; others cannot be sized.
_DTYPES = {
    "FLOAT32": "float32", "FLOAT16": "float16", "BFLOAT16": "bfloat16", "FLOAT64": "float64",
    "INT32": "int32", "UINT8": "uint8", "INT64": "int64", "BOOL": "bool", "INT16": "int16",
    "COMPLEX64": "complex64", "INT8": "int8", "COMPLEX128": "complex128", "UINT64": "uint64",
    "UINT32": "uint32", "UINT16": "uint16", "INT4": "int4",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Quant:
    """A tensor's affine quantization: one scale/zero point, or one per channel along ``axis``."""

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1

    def summary(self) -> dict[str, Any]:
        if not self.per_channel:
            return {"scheme": "per-tensor", "scale": self.scales[0] if self.scales else None,
                    "zero_point": self.zero_points[0] if self.zero_points else 0}  # fmt: skip
        return {"scheme": "per-channel", "axis": self.axis, "channels": len(self.scales),
                "scale_min": min(self.scales), "scale_max": max(self.scales),
                "zero_points": sorted(set(self.zero_points))[:4]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    signature: tuple[int, ...]  # -1 marks a dimension bound at run time
    dtype: str
    type_name: str  # the schema's name (INT8, FLOAT32...)
    buffer: int
    data_bytes: int  # bytes stored in the file (0: an activation or an empty buffer)
    is_variable: bool
    quant: Quant | None
    sparse: bool
    values: tuple[int, ...] | None = None  # small integer constants (axes, pads, perms, shapes)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return -(-self.numel * dtypes.bits(self.dtype) // 8)


@dataclass(slots=True)
class OpInfo:
    index: int
    name: str  # builtin name (CONV_2D) or CUSTOM
    custom_code: str
    version: int
    inputs: tuple[int, ...]  # -1: optional operand left out
    outputs: tuple[int, ...]
    options: Any = None  # the builtin options table (tflite.<Name>Options), or None
    intermediates: tuple[int, ...] = ()
    # control flow (WHILE, IF, CALL_ONCE): the subgraphs it runs and the weights stored in them
    subgraphs: tuple[int, ...] = ()
    subgraph_weights: tuple[TensorInfo, ...] = ()


@dataclass(slots=True)
class FlatModel:
    """The first subgraph of a .tflite file, as plain records."""

    description: str
    schema_version: int
    subgraphs: int
    tensors: list[TensorInfo]
    ops: list[OpInfo]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    size_bytes: int
    warnings: list[str] = field(default_factory=list)


def is_tflite(data: bytes | bytearray | memoryview) -> bool:
    """True when ``data`` starts like a TFLite flatbuffer (root offset, then the ``TFL3`` identifier)."""
    return len(data) >= 8 and bytes(data[4:8]) == FILE_IDENTIFIER


def read(data: bytes, where: str) -> FlatModel:
    """Parse ``data``; ``where`` names the file in errors."""
    if not is_tflite(data):
        raise AnalysisError(f"{where}: not a TFLite flatbuffer (no 'TFL3' file identifier)")
    import tflite  # noqa: F401  (not installed: the CLI names the extra, not a corrupt file)

    try:
        return _read(bytes(data), where)
    except AnalysisError:
        raise
    except (
        Exception
    ) as e:  # the generated accessors fail on corrupt offsets with struct/index errors
        raise AnalysisError(
            f"{where}: corrupt TFLite file ({type(e).__name__}: {_first_line(e)})"
        ) from None


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [""])[0][:200]


def _length(n: int, data: bytes, what: str, where: str) -> int:
    """A vector length, refused when the file is too small to hold that many 4-byte entries."""
    if n < 0 or n * 4 > len(data):
        raise AnalysisError(f"{where}: corrupt TFLite file ({what} claims {n} entries)")
    return n


def _read(data: bytes, where: str) -> FlatModel:
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    n_sub = _length(model.SubgraphsLength(), data, "subgraph list", where)
    if n_sub == 0:
        raise AnalysisError(f"{where}: the TFLite file has no subgraph")
    sg = model.Subgraphs(0)
    n_buf = _length(model.BuffersLength(), data, "buffer list", where)
    opcodes = [
        _opcode(model.OperatorCodes(i))
        for i in range(_length(model.OperatorCodesLength(), data, "opcode list", where))
    ]
    type_names = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
    n_t = _length(sg.TensorsLength(), data, "tensor list", where)
    tensors = [_tensor(model, sg.Tensors(i), i, n_buf, type_names, data, where) for i in range(n_t)]
    ops = []
    for i in range(_length(sg.OperatorsLength(), data, "operator list", where)):
        op = sg.Operators(i)
        idx = op.OpcodeIndex()
        if not 0 <= idx < len(opcodes):
            raise AnalysisError(
                f"{where}: operator {i} names opcode {idx}, the file has {len(opcodes)}"
            )
        name, custom, version = opcodes[idx]
        ins = _indices(
            op.InputsAsNumpy() if op.InputsLength() else (),
            n_t,
            f"operator {i} ({name}) input",
            where,
        )
        outs = _indices(
            op.OutputsAsNumpy() if op.OutputsLength() else (),
            n_t,
            f"operator {i} ({name}) output",
            where,
        )
        inter = _indices(
            op.IntermediatesAsNumpy() if op.IntermediatesLength() else (),
            n_t,
            "intermediate",
            where,
        )
        if any(t < 0 for t in outs):
            raise AnalysisError(f"{where}: operator {i} ({name}) has an output index -1")
        info = OpInfo(i, name, custom, version, ins, outs, _options(op, name), inter)
        if name in CONTROL_FLOW and info.options is not None:
            info.subgraphs = _called(model, info, n_sub)
            info.subgraph_weights = _weights_in(
                model, info.subgraphs, n_buf, type_names, data, where
            )
        ops.append(info)
    g_in = _indices(sg.InputsAsNumpy() if sg.InputsLength() else (), n_t, "subgraph input", where)
    g_out = _indices(
        sg.OutputsAsNumpy() if sg.OutputsLength() else (), n_t, "subgraph output", where
    )
    desc = model.Description()
    fm = FlatModel(desc.decode("utf-8", "replace") if desc else "", model.Version(), n_sub, tensors, ops,
                   g_in, g_out, len(data))  # fmt: skip
    if n_sub > 1:
        fm.warnings.append(
            f"the file has {n_sub} subgraphs; only the first (main) one is analyzed "
            "(control-flow bodies called by WHILE/IF/CALL_ONCE are counted as unsupported ops)"
        )
    return fm


# control-flow ops -> the getters of the subgraph indices in their options
CONTROL_FLOW = {
    "WHILE": ("CondSubgraphIndex", "BodySubgraphIndex"),
    "IF": ("ThenSubgraphIndex", "ElseSubgraphIndex"),
    "CALL_ONCE": ("InitSubgraphIndex",),
}


def _called(model: Any, op: OpInfo, n_sub: int) -> tuple[int, ...]:
    """The subgraphs ``op`` runs, and those they run in turn (each once)."""
    seen: list[int] = []
    todo = [getattr(op.options, g)() for g in CONTROL_FLOW[op.name]]
    while todo:
        k = todo.pop()
        if not 0 < k < n_sub or k in seen:
            continue
        seen.append(k)
        sg = model.Subgraphs(k)
        for i in range(min(sg.OperatorsLength(), n_sub * 10_000)):
            inner = sg.Operators(i)
            code = _opcode(model.OperatorCodes(inner.OpcodeIndex()))[0]
            if code in CONTROL_FLOW:
                opts = _options(inner, code)
                todo += [getattr(opts, g)() for g in CONTROL_FLOW[code]] if opts is not None else []
    return tuple(sorted(seen))


def _weights_in(model: Any, subgraphs: tuple[int, ...], n_buf: int, type_names: dict[int, str],
                data: bytes, where: str) -> tuple[TensorInfo, ...]:  # fmt: skip
    """Stored float/quantized constants of ``subgraphs`` (integer constants configure ops)."""
    out = []
    for k in subgraphs:
        sg = model.Subgraphs(k)
        for i in range(_length(sg.TensorsLength(), data, f"subgraph {k} tensor list", where)):
            t = _tensor(model, sg.Tensors(i), i, n_buf, type_names, data, where)
            if t.data_bytes and t.dtype not in ("int32", "int64", "bool"):
                out.append(t)
    return tuple(out)


def _opcode(oc: Any) -> tuple[str, str, int]:
    from tflite.utils import BUILTIN_OPCODE2NAME

    code = max(
        oc.BuiltinCode(), oc.DeprecatedBuiltinCode()
    )  # codes >= 127 live in BuiltinCode only
    name = BUILTIN_OPCODE2NAME.get(code, f"BUILTIN_{code}")
    custom = oc.CustomCode()
    return name, custom.decode("utf-8", "replace") if custom else "", oc.Version()


def _indices(arr: Any, n: int, what: str, where: str) -> tuple[int, ...]:
    out = tuple(int(x) for x in arr)
    for t in out:
        if t < -1 or t >= n:
            raise AnalysisError(f"{where}: {what} names tensor {t}, the file has {n}")
    return out


def _tensor(
    model: Any, t: Any, i: int, n_buf: int, type_names: dict[int, str], data: bytes, where: str
) -> TensorInfo:
    raw = t.Name()
    name = raw.decode("utf-8", "replace") if raw else f"tensor_{i}"
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    sig = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else shape
    if len(shape) > MAX_RANK or any(d < 0 for d in shape):
        raise AnalysisError(f"{where}: tensor {name!r} has an invalid shape {shape}")
    type_name = type_names.get(t.Type(), f"type {t.Type()}")
    dtype = _DTYPES.get(type_name)
    if dtype is None:
        raise AnalysisError(
            f"{where}: tensor {name!r} has type {type_name}, which the analyzer cannot size"
        )
    b = t.Buffer()
    if not 0 <= b < n_buf:
        raise AnalysisError(f"{where}: tensor {name!r} names buffer {b}, the file has {n_buf}")
    buf = model.Buffers(b)
    stored = buf.DataLength() if buf is not None else 0
    if (
        not stored and buf is not None and buf.Size()
    ):  # large models keep data outside the flatbuffer
        stored = int(buf.Size())
        if buf.Offset() + stored > len(data):
            raise AnalysisError(
                f"{where}: buffer {b} of tensor {name!r} lies past the end of the file"
            )
    values = None
    if (
        buf is not None
        and buf.DataLength()
        and dtype in ("int32", "int64")
        and math.prod(shape) <= MAX_VALUES
    ):
        raw_values = buf.DataAsNumpy().tobytes()
        width = dtypes.bits(dtype) // 8
        if len(raw_values) == math.prod(shape) * width:
            values = tuple(int.from_bytes(raw_values[k : k + width], "little", signed=True)
                           for k in range(0, len(raw_values), width))  # fmt: skip
    return TensorInfo(i, name, shape, sig, dtype, type_name, b, int(stored), bool(t.IsVariable()),
                      _quant(t.Quantization()), t.Sparsity() is not None, values)  # fmt: skip


def _quant(q: Any) -> Quant | None:
    if q is None or not q.ScaleLength():
        return None
    scales = tuple(float(s) for s in q.ScaleAsNumpy())
    zps = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scales)
    return Quant(scales, zps, int(q.QuantizedDimension()))


@cache
def _option_kinds() -> dict[int, str]:
    import tflite

    return {
        v: k
        for k, v in vars(tflite.BuiltinOptions).items()
        if not k.startswith("_") and isinstance(v, int)
    }


def _options(op: Any, name: str) -> Any:
    """The op's builtin options as the generated ``tflite.<X>Options`` object, or None."""
    import tflite

    table = op.BuiltinOptions()
    if table is None:
        return None
    kind = _option_kinds().get(op.BuiltinOptionsType())
    cls = getattr(tflite, kind, None) if kind else None
    if cls is None:
        return None
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    return obj
