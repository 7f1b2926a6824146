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
kernels also request im2col buffers for convolutions (not modelled).
docs/hardware.md ("TFLM's own arena") compares these figures with TFLM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analyzer.core import dtypes
from analyzer.core.graph import Graph
from analyzer.core.ir import Node
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


def _bytes(graph: Graph, name: str) -> int:
    t = graph.spec(name)
    return -(-t.numel * dtypes.bits(t.dtype) // 8)


def _scratch(
    op: str, graph: Graph, inputs: Sequence[str], outputs: Sequence[str], axes: int
) -> list[int]:
    """Scratch buffers the reference kernel of ``op`` requests."""
    if op in _REDUCTIONS and inputs:
        x = graph.spec(inputs[0])
        rank = len(x.shape)
        sizes = [4 * rank, 4 * axes]
        if op in ("MEAN", "SUM") and not dtypes.is_float(x.dtype):
            sizes.insert(0, 4 * sum(graph.spec(o).numel for o in outputs))
        return sizes
    if op == "TRANSPOSE_CONV" and outputs and not dtypes.is_float(graph.spec(outputs[0]).dtype):
        return [4 * graph.spec(outputs[0]).numel]
    return []


def cmsis_nn_scratch(step: _Step, graph: Graph) -> list[int]:
    """Scratch buffers CMSIS-NN's int8 kernels request on a Cortex-M with DSP (M4, M7, M33).

    From ARM-software/CMSIS-NN's ``*_get_buffer_size`` functions (built with GCC, no MVE):
    a convolution other than 1x1 keeps an im2col buffer of two columns of int16,
    ``2 * align4(kh*kw*C_in) * 2`` bytes; a depthwise convolution with multiplier 1
    other than 3x3 with padding <= 1 keeps ``C * kh * kw * 2`` bytes; an average
    pool ``C * 4``; 1x1 convolutions (GCC builds) and fully connected layers none.
    """
    node = step.node
    if node is None or step.dtype != "int8" or not node.inputs:
        return []
    x = graph.shape(node.inputs[0])
    if step.op == "AVERAGE_POOL_2D":
        return [4 * x[-1]]
    if step.op not in ("CONV_2D", "DEPTHWISE_CONV_2D") or len(x) != 4:
        return []
    kh, kw = node.attrs.get("kernel_size", (1, 1))
    pad = node.attrs.get("padding", ((0, 0), (0, 0)))
    dil = tuple(node.attrs.get("dilation", (1, 1)))
    cin, cout = x[-1], int(node.attrs.get("out_channels", 0))
    if step.op == "DEPTHWISE_CONV_2D":
        if cin != cout or x[0] != 1 or dil != (1, 1):
            return []
        if (kh, kw) == (3, 3) and pad[0][0] <= 1 and pad[1][0] <= 1:
            return []
        return [cin * kh * kw * 2]
    if (kh, kw) == (1, 1) and pad[0][0] == pad[1][0] == 0 and dil == (1, 1):
        return []  # arm_convolve_1x1_s8(_fast): no buffer in GCC builds
    cols = kh * kw * cin
    return [2 * (cols + (-cols) % 4) * 2]


@dataclass(slots=True)
class _Step:
    op: str
    inputs: list[str]
    outputs: list[str]
    channels: int
    quantized: bool
    axes: int
    copies: tuple[tuple[int, int], ...] = ()  # BATCH_MATMUL operands TFLM transposes: (rank, bytes)
    dtype: str = "float32"  # of its first input
    node: Node | None = None  # the node carrying the op's attributes (kernel, stride, padding)


def _steps(graph: Graph, layers: Sequence[Any]) -> tuple[list[_Step], list[str], str]:
    """Operators in execution order and the arena tensors in TFLM's allocation order."""
    meta = graph.meta.get("tflite")
    steps: list[_Step] = []
    if meta:
        index = meta.get("tensor_index", {})
        by_op: dict[int, _Step] = {}
        for node in graph.nodes():
            k = node.meta.get("tflite_op")
            if k is None:
                continue
            step = by_op.get(k)
            if step is None:
                step = by_op[k] = _Step(node.source_op, [], [], 0, False, 0)
                step.dtype = graph.spec(node.inputs[0]).dtype if node.inputs else "float32"
                step.node = node
                steps.append(step)
            step.inputs += [t for t in node.inputs if t in index and t not in step.inputs]
            step.outputs += [t for t in node.outputs if t in index]
            if node.op == "conv" or node.op == "linear":
                step.channels = int(
                    node.attrs.get("out_channels") or graph.shape(node.outputs[0])[-1]
                )
                step.quantized = len(node.inputs) > 1 and not dtypes.is_float(
                    graph.spec(node.inputs[1]).dtype
                )
            step.axes = max(step.axes, len(node.attrs.get("axes", ()) or ()))
            if node.op == "matmul":
                step.quantized = not dtypes.is_float(graph.spec(node.inputs[0]).dtype)
                step.copies = tuple(
                    (int(r), int(b)) for r, b in node.meta.get("tflm_transposed_copies", ())
                )
        tensors = sorted((n for n in index if graph.is_activation(n)), key=index.__getitem__)
        return steps, tensors, "tflite"
    for layer in layers:  # not from a file: one TFLite operator per layer
        nodes = [graph.node(n) for n in layer.nodes]
        principal = next((n for n in nodes if n.op == layer.op), nodes[0])
        op = _CANONICAL_TO_TFLITE.get(layer.op, layer.op.upper())
        if layer.op == "conv":
            groups = int(principal.attrs.get("groups", 1))
            op = (
                "DEPTHWISE_CONV_2D"
                if groups > 1 and groups == principal.attrs.get("in_channels")
                else "CONV_2D"
            )
        channels = int(
            principal.attrs.get("out_channels") or graph.shape(principal.outputs[0])[-1] or 0
        )
        quant = any(not dtypes.is_float(p.dtype) for p in graph.node_params(principal))
        axes = len(principal.attrs.get("axes", ()) or ())
        dtype = graph.spec(principal.inputs[0]).dtype if principal.inputs else "float32"
        steps.append(
            _Step(
                op,
                list(layer.inputs),
                list(layer.outputs),
                channels,
                quant,
                axes,
                (),
                dtype,
                principal,
            )
        )
    tensors = [*graph.inputs, *(t for s in steps for t in s.outputs)]
    return steps, list(dict.fromkeys(tensors)), "layers"


def tflm_arena(
    graph: Graph, layers: Sequence[Any] = (), kernels_kind: str = "reference"
) -> TflmArena:
    """Predict TFLM's arena (head + tail) for ``graph``.

    A graph read from a .tflite file is planned over the file's operators and
    tensors; any other graph over its ``layers`` (``analyzer.core.layers``),
    one TFLite operator per layer, as the converter would fuse them.
    ``kernels_kind``: ``reference`` (checked against TFLM) or ``cmsis-nn``
    (adds CMSIS-NN's scratch buffers, ``cmsis_nn_scratch``; its kernels'
    persistent data are taken as the reference kernels').
    """
    if kernels_kind not in ("reference", "cmsis-nn"):
        raise ValueError(f"kernels_kind must be 'reference' or 'cmsis-nn', not {kernels_kind!r}")
    steps, tensors, source = _steps(graph, layers)
    n = len(steps)
    first: dict[str, int] = dict.fromkeys(graph.inputs, 0)
    last: dict[str, int] = dict.fromkeys(graph.inputs, 0)
    for i, s in enumerate(steps):
        for t in s.outputs:
            first.setdefault(t, i + 1)
            last[t] = i + 1
        for t in s.inputs:
            if t in first:
                last[t] = max(last[t], i + 1)
    for t in graph.outputs:
        if t in first:
            last[t] = n + 1
    items = [(align(_bytes(graph, t), ALIGNMENT), first[t], last[t]) for t in tensors if t in first]
    items = [it for it in items if it[0]]
    scratch_total = handles = 0
    for i, s in enumerate(steps):
        sizes = _scratch(s.op, graph, s.inputs, s.outputs, s.axes)
        if kernels_kind == "cmsis-nn":
            sizes = sizes + cmsis_nn_scratch(s, graph)
        for size in sizes:
            items.append((align(size, ALIGNMENT), i + 1, i + 1))
            scratch_total += size
            handles += 1
    head = tflm_greedy(items)
    io = [*graph.inputs, *graph.outputs]
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
    n_tensors = (
        len(graph.meta["tflite"]["tensor_index"])
        if source == "tflite"
        else len(tensors) + len(graph.params)
    )
    if source == "tflite":
        n_tensors = graph.meta["tflite"].get("tensors", n_tensors)
    tail = {
        "eval_tensors": align(EVAL_TENSOR_BYTES * n_tensors, ALIGNMENT),
        "io_tensors": IO_TENSOR_BYTES * len(io),
        "io_quantization": IO_QUANT_BYTES
        * sum(not dtypes.is_float(graph.spec(t).dtype) for t in io),
        "node_and_registration": NODE_BYTES * n,
        "kernel_data": kernels
        + align(8 * len(graph.inputs), ALIGNMENT)
        + align(8 * len(graph.outputs), ALIGNMENT),
        "builtin_options": builtin,
        "scratch_handles": SCRATCH_HANDLE_BYTES * handles,
        "variable_tensors": variable_bytes(graph),
        "allocator": FIXED_TAIL_BYTES,
    }
    tail_bytes = align(sum(tail.values()), ALIGNMENT)
    arena = TflmArena(
        head + tail_bytes,
        head,
        tail_bytes,
        scratch_total,
        len(items),
        n,
        tail,
        source,
        kernels_kind,
    )
    arena.refused = refusals(graph, steps)
    return arena


def refusals(graph: Graph, steps: Sequence[_Step]) -> list[str]:
    """What this TFLM refuses to prepare (checked against the Python interpreter): float16
    weights (its DEQUANTIZE takes int8/int16/uint8) and hybrid ops (float input, int8 weights)."""
    out = []
    folded = (graph.meta.get("tflite") or {}).get("folded_dequantize", {})
    if any(graph.params[p].dtype == "float16" for p in folded.values() if p in graph.params):
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
