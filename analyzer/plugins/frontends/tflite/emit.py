"""The converter state: TFLite tensors as IR names, and nodes emitted in the subgraph's order.

Everything goes into the graph through the core ``Recorder`` (unique names
``name``, ``name_1``...; inputs, parameters, constants, nodes).

Operands are declared on first use: an op output or graph input is an
activation; a constant that holds weights of the op reading it (a conv's
filter and bias, an elementwise operand) is a ``Param`` at its stored dtype;
integer constants that only configure an op (shapes, axes, pads) are
constant tensors. A tensor with no producer and no data (a TFLM variable
tensor holding state) is a constant tensor listed in
``graph.meta["tflite"]["variable_tensors"]``.
"""

from __future__ import annotations

from typing import Any

from analyzer.core.errors import AnalysisError
from analyzer.core.graph import Graph
from analyzer.core.ir import Node, Shape, Tensor
from analyzer.core.recorder import Recorder
from analyzer.plugins.frontends.tflite.reader import FlatModel, OpInfo, TensorInfo
from analyzer.plugins.frontends.tflite.scopes import Scopes

# ActivationFunctionType -> canonical activation (SIGN_BIT has none: it is left unsupported).
FUSED = {1: "relu", 2: "hardtanh", 3: "relu6", 4: "tanh", 5: "sign"}
FUSED_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def op_scopes(fm: FlatModel) -> list[str]:
    """Each operator's scope: from its first output's name, or its neighbours' when it has none
    and sits between two ops of one layer (a QUANTIZE/DEQUANTIZE the converter inserted), or ends
    the graph joining two tensors of one layer."""
    scopes = Scopes([fm.tensors[t].name for op in fm.ops for t in op.outputs])
    named = [scopes.scope(fm.tensors[op.outputs[0]].name) if op.outputs else "" for op in fm.ops]
    producer = {t: op.index for op in fm.ops for t in op.outputs}
    readers: dict[int, list[int]] = {}
    for op in fm.ops:
        for t in op.inputs:
            readers.setdefault(t, []).append(op.index)
    for op in fm.ops:
        if named[op.index]:
            continue
        sources = {t for t in op.inputs if t in producer}
        before = {named[producer[t]] for t in sources}
        after = {named[r] for t in op.outputs for r in readers.get(t, ())}
        if len(before) != 1 or "" in before:
            continue
        # between two ops of one layer; or the graph's last op joining two of its tensors
        # (LayerNormalization's final add, named after the graph output) or viewing one
        # (UpSampling2D's final reshape): a view's layer changes no count
        last_view = not after and op.name in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
        if before == after or (not after and len(sources) >= 2) or last_view:
            named[op.index] = before.pop()
    return named


class Emitter:
    def __init__(self, fm: FlatModel, graph: Graph, where: str):
        self.fm, self.graph, self.where = fm, graph, where
        self.rec = Recorder(graph=graph)
        self.names: dict[int, str] = {}  # tflite tensor index -> IR name
        self.produced = {t for op in fm.ops for t in op.outputs}
        self.op_scopes = op_scopes(fm)
        self.variables: list[dict[str, Any]] = []
        self.quant: dict[str, dict[str, Any]] = {}
        self.folded: dict[str, str] = {}  # DEQUANTIZE of a constant: output -> the stored weight
        self.aliases: dict[int, int] = {}  # such an output's tensor index -> the stored constant's
        self._pending: dict[str, Tensor] = {}  # outputs named before the node that writes them
        self.op: OpInfo | None = None
        self.scope = ""
        self.node_id = ""

    # --- values ----------------------------------------------------------------
    def info(self, t: int) -> TensorInfo:
        return self.fm.tensors[t]

    def shape(self, t: int) -> Shape:
        return self.fm.tensors[t].shape

    def _record_quant(self, name: str, ti: TensorInfo) -> None:
        if ti.quant is not None:
            self.quant[name] = ti.quant.summary()

    def graph_input(self, t: int, shape: Shape) -> str:
        ti = self.info(t)
        name = self.names[t] = self.rec.input(self.rec.fresh(ti.name), shape, ti.dtype)
        self._record_quant(name, ti)
        return name

    def operand(self, t: int, role: str = "weight") -> str:
        """The IR name of tensor ``t`` read by the current op; constants are declared here.

        ``role``: ``weight``/``bias`` and other roles make a stored constant a
        parameter; ``config`` makes it a constant tensor (shapes, axes, pads).
        """
        if t in self.names:
            return self.names[t]
        if (
            t in self.aliases
        ):  # a folded DEQUANTIZE: the reader gets the stored constant, in its role
            name = self.names[t] = self.operand(self.aliases[t], role)
            self.folded[self.info(t).name] = name
            return name
        ti = self.info(t)
        if ti.data_bytes and role != "config":
            if not ti.sparse and ti.data_bytes != ti.nbytes:
                raise AnalysisError(
                    f"{self.where}: tensor {ti.name!r} stores {ti.data_bytes} bytes, "
                    f"its shape {ti.shape} of {ti.type_name} needs {ti.nbytes}"
                )
            name = self.rec.param(self.rec.fresh(ti.name), ti.shape, ti.dtype, role=role)
            self._record_quant(name, ti)
        else:
            name = self.rec.constant(ti.name, ti.shape, ti.dtype)
            if ti.is_variable:
                self.variables.append(
                    {"tensor": name, "shape": list(ti.shape), "dtype": ti.dtype, "bytes": ti.nbytes}
                )
            elif not ti.data_bytes and t not in self.produced:
                self.rec.warn(
                    f"tensor {ti.name!r} is read before any op writes it and holds no data; "
                    "treated as a constant"
                )
        self.names[t] = name
        return name

    def subgraph_weight(self, op: OpInfo, ti: TensorInfo) -> str:
        """A weight stored in a subgraph that ``op`` runs (a WHILE body): a parameter of ``op``."""
        name = self.rec.param(self.rec.fresh(f"{self.node_id}/{ti.name}"), ti.shape, ti.dtype)
        self._record_quant(name, ti)
        return name

    def is_const(self, t: int) -> bool:
        """True when ``t`` is a constant of the file (stored data, or no producer and not an input)."""
        if t in self.aliases:
            return True
        if t in self.names:
            return not self.graph.is_activation(self.names[t])
        return t not in self.produced and t not in self.fm.inputs

    def values(self, t: int) -> tuple[int, ...]:
        vals = self.info(t).values
        if vals is None:
            op = self.op
            raise AnalysisError(
                f"{self.where}: operator {op.index if op else '?'} ({op.name if op else '?'}) "
                f"needs the integer constant {self.info(t).name!r}, which the file does not hold"
            )
        return vals

    # --- nodes ---------------------------------------------------------------
    def begin(self, op: OpInfo) -> None:
        self.op = op
        self.scope = self.op_scopes[op.index]
        base = op.name.lower() if op.name != "CUSTOM" else f"custom_{op.custom_code or 'op'}"
        self.node_id = f"{base}_{op.index}"
        if not self.scope:
            self.scope = self.node_id  # one layer per unscoped op (its fused activation joins it)

    def temp(self, suffix: str, shape: Shape, dtype: str) -> str:
        """An intermediate tensor of the current op (before its fused activation, a flattened input),
        written by the next ``node`` that lists it as an output."""
        name = self.rec.fresh(f"{self.node_id}:{suffix}")
        self._pending[name] = Tensor(name, tuple(shape), dtype)
        return name

    def output(self, t: int) -> str:
        """The IR name of the file's tensor ``t``, written by the next ``node`` that lists it."""
        ti = self.info(t)
        name = self.names[t] = self.rec.fresh(ti.name)
        self._pending[name] = Tensor(name, ti.shape, ti.dtype)
        self._record_quant(name, ti)
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str], attrs: dict[str, Any] | None = None,
             suffix: str = "", meta: dict[str, Any] | None = None) -> Node:  # fmt: skip
        assert self.op is not None
        source = self.op.name if self.op.name != "CUSTOM" else f"CUSTOM:{self.op.custom_code}"
        m: dict[str, Any] = {"tflite_op": self.op.index, **(meta or {})}
        node = Node(self.rec.fresh(self.node_id + suffix), op, tuple(inputs), tuple(outputs),
                    dict(attrs or {}), self.scope, source, m)  # fmt: skip
        self.rec.add_node(node, [self._pending.pop(n) for n in outputs])
        return node

    def with_activation(self, op: str, inputs: list[str], attrs: dict[str, Any], fused: int,
                        meta: dict[str, Any] | None = None) -> Node:  # fmt: skip
        """Emit ``op`` writing the op's first output, through its fused activation when it has one."""
        assert self.op is not None
        out_t = self.op.outputs[0]
        if fused == 0:
            return self.node(op, inputs, [self.output(out_t)], attrs, meta=meta)
        act = FUSED.get(fused)
        if act is None or act == "sign":
            raise AnalysisError(f"{self.where}: operator {self.op.index} ({self.op.name}) has an unknown fused "
                                f"activation {FUSED_NAMES.get(fused, fused)}")  # fmt: skip
        ti = self.info(out_t)
        pre = self.temp("pre_activation", ti.shape, ti.dtype)
        main = self.node(
            op, inputs, [pre], attrs, meta={**(meta or {}), "fused_activation": FUSED_NAMES[fused]}
        )
        self.node(act, [pre], [self.output(out_t)], suffix=f":{act}", meta={"fused": True})
        return main
