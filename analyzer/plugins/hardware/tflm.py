"""What TensorFlow Lite Micro itself will allocate: its arena, predicted from the graph.

TFLM's arena has two ends (tensorflow/tflite-micro, micro_allocator.cc):

- the **head** (non-persistent): every activation tensor and every kernel
  scratch buffer, placed by ``GreedyMemoryPlanner``. Lifetimes come from
  ``AllocationInfoBuilder::MarkAllocationLifetimes``: graph inputs from 0,
  operator i's outputs from i+1 to the last operator reading them, graph
  outputs to the end, scratch buffers during their operator only. Sizes are
  rounded up to 16 bytes. The planner takes buffers by size, largest first;
  online-planned buffers enter its sort from the tail of its list, so equal
  sizes are placed in *reverse* tensor-index order (tensors, then scratch
  buffers), each at the lowest offset that does not overlap, in space, a
  placed buffer alive at the same time. Views (RESHAPE) get buffers of their
  own: TFLM copies them.
- the **tail** (persistent): per tensor a ``TfLiteEvalTensor``, per
  operator a ``NodeAndRegistration`` and its parsed builtin options, the
  kernels' ``OpData`` (convolutions add an int32 multiplier and shift per
  output channel; ``BATCH_MATMUL`` keeps a transposed copy of its right
  operand unless ``adj_y``), persistent ``TfLiteTensor`` structs for the
  graph's inputs and outputs (with their quantization), scratch-buffer
  handles and the allocator's own objects.

Struct sizes are those of the host build of the ``tflite-micro`` Python
package (x86-64, reference kernels), read from its ``print_allocations()``
on single-operator models; on a 32-bit Cortex-M, pointers are 4 bytes and
the tail is smaller. Scratch buffers are the reference kernels' (MEAN/SUM
and the other reductions; TRANSPOSE_CONV's int32 accumulator); CMSIS-NN
kernels also request im2col buffers (``cmsis_nn_scratch``, an estimate).
docs/hardware.md ("TFLM's own arena") compares these figures with TFLM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analyzer.core import dtypes
from analyzer.core.graph import Graph
from analyzer.plugins.hardware.planner import align

ALIGNMENT = 16  # MicroArenaBufferAlignment()
EVAL_TENSOR_BYTES = 24  # sizeof(TfLiteEvalTensor)
NODE_BYTES = 64  # sizeof(NodeAndRegistration)
IO_TENSOR_BYTES = 64  # persistent TfLiteTensor of a graph input/output
IO_QUANT_BYTES = 32  # its TfLiteAffineQuantization + scale/zero-point arrays
SCRATCH_HANDLE_BYTES = 8  # sizeof(ScratchBufferHandle)
FIXED_TAIL_BYTES = 488  # allocator, planner, builtin-data allocator, subgraph allocations

# TFLite op -> (kernel OpData bytes, int32 multiplier+shift per output channel?, builtin options bytes)
OP_PERSISTENT: dict[str, tuple[int, bool, int]] = {
    "CONV_2D": (80, True, 28), "DEPTHWISE_CONV_2D": (80, True, 28), "FULLY_CONNECTED": (72, True, 32),
    "TRANSPOSE_CONV": (80, True, 28),
    "AVERAGE_POOL_2D": (32, False, 40), "MAX_POOL_2D": (32, False, 40),
    "MEAN": (44, False, 1), "SUM": (44, False, 1), "REDUCE_MAX": (44, False, 1), "REDUCE_MIN": (44, False, 1),
    "SOFTMAX": (80, False, 4), "ADD": (60, False, 8), "SUB": (60, False, 8), "MUL": (36, False, 4),
    "RELU": (28, False, 0), "RELU6": (28, False, 0), "CONCATENATION": (80, False, 8), "PAD": (56, False, 0),
    "PADV2": (56, False, 0), "RESHAPE": (0, False, 36), "SQUEEZE": (0, False, 36), "LOGISTIC": (16, False, 0),
    "HARD_SWISH": (20, False, 0), "BATCH_MATMUL": (48, False, 8), "SQUARED_DIFFERENCE": (112, False, 0),
    "TRANSPOSE": (0, False, 0), "NEG": (0, False, 0), "RSQRT": (28, False, 0), "QUANTIZE": (32, False, 0),
    "DEQUANTIZE": (32, False, 0),
}  # fmt: skip
SOFTMAX_LUT_BYTES = 513 * 2  # int16 softmax: two 513-entry int16 lookup tables
BMM_QUANT_BYTES = 28  # BATCH_MATMUL's int8 quantization data
BMM_COPY_EVAL_BYTES = 24  # the TfLiteEvalTensor of its transposed operand copy
DEFAULT_PERSISTENT = (32, False, 8)  # operators not measured: a typical OpData and options

# canonical op -> the TFLite operator TFLM would run, for graphs that do not come from a .tflite file
_CANONICAL_TO_TFLITE = {
    "linear": "FULLY_CONNECTED", "add": "ADD", "sub": "SUB", "mul": "MUL", "avg_pool": "AVERAGE_POOL_2D",
    "max_pool": "MAX_POOL_2D", "reduce_mean": "MEAN", "adaptive_avg_pool": "MEAN", "softmax": "SOFTMAX",
    "concat": "CONCATENATION", "pad": "PAD", "reshape": "RESHAPE", "sigmoid": "LOGISTIC",
    "hardswish": "HARD_SWISH", "relu": "RELU", "relu6": "RELU6",
}  # fmt: skip
_REDUCTIONS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD")


@dataclass(slots=True)
class TflmArena:
    """TFLM's predicted arena, split like its ``print_allocations()``."""

    arena_bytes: int
    head_bytes: int  # activations + scratch, as placed by the greedy planner
    tail_bytes: int  # persistent allocations
    scratch_bytes: int  # sum of scratch buffers (each alive during its operator only)
    buffers: int
    operators: int
    tail: dict[str, int] = field(default_factory=dict)
    source: str = "tflite"  # tflite: the file's operators and tensors; layers: one per layer
    kernels: str = "reference"
    refused: list[str] = field(
        default_factory=list
    )  # why TFLM would not allocate this model at all

    def to_dict(self) -> dict[str, Any]:
        return {"planner": f"TFLM GreedyMemoryPlanner ({self.kernels} kernels, x86-64 host struct sizes)",
                "arena_bytes": self.arena_bytes, "head_bytes": self.head_bytes, "tail_bytes": self.tail_bytes,
                "scratch_bytes": self.scratch_bytes, "buffers": self.buffers, "operators": self.operators,
                "tail": dict(self.tail), "source": self.source, "refused": list(self.refused)}  # fmt: skip


def tflm_greedy(items: Sequence[tuple[int, int, int]]) -> int:
    """TFLM's GreedyMemoryPlanner on ``(size, first, last)`` items in allocation-info order.

    Largest first; equal sizes in reverse order (online buffers fill the
    planner's sort list from its tail, and its bubble sort is stable).
    """
    order = sorted(range(len(items)), key=lambda k: (-items[k][0], -k))
    offsets: dict[int, int] = {}
    for i in order:
        size, first, last = items[i]
        overlapping = sorted((j for j in offsets if items[j][1] <= last and first <= items[j][2]),
                             key=lambda j: offsets[j])  # fmt: skip
        cand = 0
        for j in overlapping:
            if offsets[j] - cand >= size:
                break
            cand = max(cand, offsets[j] + items[j][0])
        offsets[i] = cand
    return max((offsets[i] + items[i][0] for i in offsets), default=0)


@dataclass(slots=True)
class _Step:
    """One TFLite operator as TFLM prepares it."""

    op: str
    ins: list[Any]  # tensor keys: file indices, or IR names for a graph planned over its layers
    outs: list[Any]
    dtype: str = "float32"  # of its first input
    channels: int = 0  # output channels of a convolution / fully connected layer, pool channels
    quantized: bool = False  # integer weights
    axes: int = 0  # reduction axes
    rank: int = 0  # reduction input rank
    out_elements: int = 0
    copies: list[list[int]] = field(default_factory=list)  # BATCH_MATMUL: [rank, bytes] copied
    conv: dict[str, Any] | None = None  # kernel, pad (lo), dilation, cin, cout, batch


@dataclass(slots=True)
class _Plan:
    steps: list[_Step]
    tensors: list[tuple[Any, int]]  # arena tensors in allocation order: (key, bytes)
    inputs: list[Any]
    outputs: list[Any]
    io_dtypes: list[str]
    tensor_count: int
    source: str


def _reference_scratch(s: _Step) -> list[int]:
    """Scratch buffers the reference kernel of ``s`` requests."""
    if s.op in _REDUCTIONS:
        sizes = [4 * s.rank, 4 * s.axes]
        if s.op in ("MEAN", "SUM") and not dtypes.is_float(s.dtype):
            sizes.insert(0, 4 * s.out_elements)  # the int32 accumulator
        return sizes
    if s.op == "TRANSPOSE_CONV" and not dtypes.is_float(s.dtype):
        return [4 * s.out_elements]
    return []


def cmsis_nn_scratch(s: _Step) -> list[int]:
    """Scratch buffers CMSIS-NN's int8 kernels request on a Cortex-M with DSP (M4, M7, M33).

    From ARM-software/CMSIS-NN's ``*_get_buffer_size`` functions (built with GCC, no MVE):
    a convolution other than 1x1 keeps an im2col buffer of two columns of int16,
    ``2 * align4(kh*kw*C_in) * 2`` bytes; a depthwise convolution with multiplier 1
    other than 3x3 with padding <= 1 keeps ``C * kh * kw * 2`` bytes; an average
    pool ``C * 4``; 1x1 convolutions (GCC builds) and fully connected layers none.
    """
    if s.dtype != "int8":
        return []
    if s.op == "AVERAGE_POOL_2D":
        return [4 * s.channels]
    c = s.conv
    if s.op not in ("CONV_2D", "DEPTHWISE_CONV_2D") or c is None:
        return []
    (kh, kw), pad, dil = c["kernel"], c["pad"], tuple(c["dilation"])
    if s.op == "DEPTHWISE_CONV_2D":
        if c["cin"] != c["cout"] or c["batch"] != 1 or dil != (1, 1):
            return []
        if (kh, kw) == (3, 3) and pad[0] <= 1 and pad[1] <= 1:
            return []
        return [c["cin"] * kh * kw * 2]
    if (kh, kw) == (1, 1) and pad[0] == pad[1] == 0 and dil == (1, 1):
        return []  # arm_convolve_1x1_s8(_fast): no buffer in GCC builds
    cols = kh * kw * c["cin"]
    return [2 * (cols + (-cols) % 4) * 2]


def _plan_from_file(record: dict[str, Any]) -> _Plan:
    """The operators and tensors the .tflite file gives TFLM (``graph.meta["tflite"]["tflm"]``)."""
    steps = []
    for r in record["ops"]:
        steps.append(_Step(r["op"], list(r["in"]), list(r["out"]), r.get("dtype", "float32"),
                           int(r.get("channels", 0)), bool(r.get("quantized", False)), int(r.get("axes", 0)),
                           int(r.get("rank", 0)), int(r.get("out_elements", 0)),
                           [list(c) for c in r.get("copies", [])], r.get("conv")))  # fmt: skip
    return _Plan(steps, [(k, int(b)) for k, b in record["tensors"]], list(record["inputs"]),
                 list(record["outputs"]), list(record.get("io_dtypes", [])), int(record["tensor_count"]),
                 "tflite")  # fmt: skip


def _plan_from_layers(graph: Graph, layers: Sequence[Any]) -> _Plan:
    """One TFLite operator per layer: what a converter fusing each layer would hand TFLM."""
    steps = []
    for layer in layers:
        nodes = [graph.node(n) for n in layer.nodes]
        node = next((n for n in nodes if n.op == layer.op), nodes[0])
        op = _CANONICAL_TO_TFLITE.get(layer.op, layer.op.upper())
        x = graph.shape(node.inputs[0]) if node.inputs else ()
        s = _Step(op, list(layer.inputs), list(layer.outputs))
        s.dtype = graph.spec(node.inputs[0]).dtype if node.inputs else "float32"
        s.out_elements = sum(graph.spec(o).numel for o in layer.outputs)
        s.quantized = any(not dtypes.is_float(p.dtype) for p in graph.node_params(node))
        s.axes, s.rank = len(node.attrs.get("axes", ()) or ()), len(x)
        s.channels = int(
            node.attrs.get("out_channels") or (graph.shape(node.outputs[0]) or (0,))[-1] or 0
        )
        if layer.op == "conv" and len(x) == 4:
            groups = int(node.attrs.get("groups", 1))
            s.op = (
                "DEPTHWISE_CONV_2D"
                if groups > 1 and groups == node.attrs.get("in_channels")
                else "CONV_2D"
            )
            k, pad = (
                node.attrs.get("kernel_size", (1, 1)),
                node.attrs.get("padding", ((0, 0), (0, 0))),
            )
            s.conv = {"kernel": list(k), "pad": [p[0] for p in pad], "dilation": list(node.attrs.get("dilation", (1, 1))),
                      "cin": int(node.attrs.get("in_channels", 0)), "cout": s.channels, "batch": x[0]}  # fmt: skip
        if op == "AVERAGE_POOL_2D" and x:
            s.channels = x[-1]
        steps.append(s)
    keys = list(dict.fromkeys([*graph.inputs, *(t for s in steps for t in s.outs)]))
    tensors = [(t, -(-graph.spec(t).numel * dtypes.bits(graph.spec(t).dtype) // 8)) for t in keys]
    io = [*graph.inputs, *graph.outputs]
    return _Plan(steps, tensors, list(graph.inputs), list(graph.outputs), [graph.spec(t).dtype for t in io],
                 len(keys) + len(graph.params), "layers")  # fmt: skip


def tflm_arena(
    graph: Graph, layers: Sequence[Any] = (), kernels_kind: str = "reference"
) -> TflmArena:
    """Predict TFLM's arena (head + tail) for ``graph``.

    A graph read from a .tflite file is planned over the file's operators and
    tensors as the frontend recorded them (``graph.meta["tflite"]["tflm"]``:
    untouched by the canonical passes, since TFLM runs the file as it is);
    any other graph over its ``layers`` (``analyzer.core.layers``), one
    TFLite operator per layer, as a converter would fuse them.
    ``kernels_kind``: ``reference`` (checked against TFLM) or ``cmsis-nn``
    (adds CMSIS-NN's scratch buffers, ``cmsis_nn_scratch``; its kernels'
    persistent data are taken as the reference kernels').
    """
    if kernels_kind not in ("reference", "cmsis-nn"):
        raise ValueError(f"kernels_kind must be 'reference' or 'cmsis-nn', not {kernels_kind!r}")
    record = (graph.meta.get("tflite") or {}).get("tflm")
    plan = _plan_from_file(record) if record else _plan_from_layers(graph, layers)
    steps, n = plan.steps, len(plan.steps)
    first: dict[Any, int] = dict.fromkeys(plan.inputs, 0)
    last: dict[Any, int] = dict.fromkeys(plan.inputs, 0)
    for i, s in enumerate(steps):
        for t in s.outs:
            first.setdefault(t, i + 1)
            last[t] = i + 1
        for t in s.ins:
            if t in first:
                last[t] = max(last[t], i + 1)
    for t in plan.outputs:
        if t in first:
            last[t] = n + 1
    items = [(align(b, ALIGNMENT), first[t], last[t]) for t, b in plan.tensors if t in first and b]
    scratch_total = handles = 0
    for i, s in enumerate(steps):
        sizes = _reference_scratch(s) + (cmsis_nn_scratch(s) if kernels_kind == "cmsis-nn" else [])
        for size in sizes:
            items.append((align(size, ALIGNMENT), i + 1, i + 1))
            scratch_total += size
            handles += 1
    head = tflm_greedy(items)
    kernels = builtin = 0
    for s in steps:
        opdata, per_channel, options = OP_PERSISTENT.get(s.op, DEFAULT_PERSISTENT)
        kernels += align(opdata, ALIGNMENT) if opdata else 0
        if per_channel and (s.quantized or s.op != "FULLY_CONNECTED"):
            kernels += 2 * align(4 * s.channels, ALIGNMENT)
        builtin += options
        if s.op == "SOFTMAX" and s.dtype == "int16":  # exp and 1/(1+x) lookup tables
            kernels += 2 * align(SOFTMAX_LUT_BYTES, ALIGNMENT)
        if s.op == "BATCH_MATMUL":  # a persistent, transposed operand copy: tensor, dims, data
            kernels += align(BMM_QUANT_BYTES, ALIGNMENT) if s.quantized else 0
            for rank, nbytes in s.copies:
                kernels += sum(
                    align(b, ALIGNMENT) for b in (BMM_COPY_EVAL_BYTES, 4 + 4 * rank, nbytes)
                )
    n_in, n_out = len(plan.inputs), len(plan.outputs)
    tail = {
        "eval_tensors": align(EVAL_TENSOR_BYTES * plan.tensor_count, ALIGNMENT),
        "io_tensors": IO_TENSOR_BYTES * (n_in + n_out),
        "io_quantization": IO_QUANT_BYTES * sum(not dtypes.is_float(d) for d in plan.io_dtypes),
        "node_and_registration": NODE_BYTES * n,
        "kernel_data": kernels + align(8 * n_in, ALIGNMENT) + align(8 * n_out, ALIGNMENT),
        "builtin_options": builtin,
        "scratch_handles": SCRATCH_HANDLE_BYTES * handles,
        "variable_tensors": variable_bytes(graph),
        "allocator": FIXED_TAIL_BYTES,
    }
    tail_bytes = align(sum(tail.values()), ALIGNMENT)
    arena = TflmArena(head + tail_bytes, head, tail_bytes, scratch_total, len(items), n, tail, plan.source,
                      kernels_kind)  # fmt: skip
    arena.refused = refusals(graph, steps)
    return arena


def refusals(graph: Graph, steps: Sequence[_Step]) -> list[str]:
    """What this TFLM refuses to prepare (checked against the Python interpreter): float16
    weights (its DEQUANTIZE takes int8/int16/uint8) and hybrid ops (float input, int8 weights)."""
    out = []
    folded = (graph.meta.get("tflite") or {}).get("folded_dequantize", {})
    f16 = any(s.op == "DEQUANTIZE" and s.dtype == "float16" for s in steps)
    if f16 or any(graph.params[p].dtype == "float16" for p in folded.values() if p in graph.params):
        out.append("float16 weights: TFLM's DEQUANTIZE takes int8, int16 or uint8 only")
    hybrid = sorted({s.op for s in steps if s.quantized and dtypes.is_float(s.dtype)})
    if hybrid:
        out.append(
            f"hybrid {'/'.join(hybrid)} (float input, integer weights): not supported by TFLM"
        )
    return out


def variable_bytes(graph: Graph) -> int:
    """Persistent bytes of TFLM variable tensors (state such as an SVDF's), from the file's meta."""
    meta = graph.meta.get("tflite") or {}
    return sum(align(int(v.get("bytes", 0)), ALIGNMENT) for v in meta.get("variable_tensors", []))
