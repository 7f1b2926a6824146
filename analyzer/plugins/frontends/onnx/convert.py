"""ONNX graph -> IR: the walk, operand kinds, parameters and the node emitter.

Each ONNX node is looked up in the one mapping table (``table.py``) and its
handler emits canonical IR nodes through ``Converter``. Operands come in
four kinds:

- **activations**: graph inputs and outputs of emitted nodes;
- **parameters**: initializers read as data by an op (a convolution's
  weight, a bias, a BatchNorm statistic), registered once however many ops
  share them, at their stored dtype; ops that only re-present a weight
  (``Transpose``, ``Reshape``, ``Cast``, ``DequantizeLinear``... of an
  initializer) leave no node and their consumer reads the initializer
  itself (slices of one, ``Slice``/``Split``, are parameters of their own
  size; a ``Gather`` of one is an embedding lookup of the whole table);
- **constants**: folded values (``Constant``, shape arithmetic) and scalar
  initializers used as operands (``x * 0.5``): literals, not weights;
- **absent**: an optional input left empty.

Initializers used only for their values (a ``Reshape`` target, ``Clip``
bounds, ``Slice`` starts) are configuration, not weights.
"""

from __future__ import annotations

import math
from typing import Any

from analyzer.core.errors import AnalysisError
from analyzer.core.graph import Graph
from analyzer.core.ir import Node
from analyzer.core.recorder import Recorder
from analyzer.plugins.frontends.onnx.infer import Facts, attrs_of
from analyzer.plugins.frontends.onnx.scopes import ScopeNamer

# ops that only re-present a weight: their output is the weight itself (same elements)
WEIGHT_VIEWS = frozenset({"Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity",
                          "Cast", "DequantizeLinear", "CastLike"})  # fmt: skip
# ops taking part of a weight: a parameter of the slice's size
WEIGHT_SLICES = frozenset({"Slice", "Split"})  # a Gather of a weight is an embedding lookup
NON_TRAINABLE_ROLES = frozenset({"mean", "var", "quant_scale", "quant_zero_point"})


class Converter:
    """Builds one Graph from one ModelProto whose shapes ``facts`` holds."""

    def __init__(self, model: Any, facts: Facts, name: str, where: str):
        self.model, self.facts, self.where = model, facts, where
        self.rec = Recorder(name, "onnx")  # the one core recorder every frontend builds through
        self.graph = self.rec.graph
        self.inits = {t.name: t for t in model.graph.initializer}
        self.scopes = ScopeNamer()
        self.opset = next(
            (op.version for op in model.opset_import if op.domain in ("", "ai.onnx")), 1
        )
        # weight views: ONNX name -> (initializer-like base, quantization params of it)
        self.weight_of: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.own_params: dict[
            str, tuple[tuple[int, ...], str]
        ] = {}  # weight slices, large Constants
        self.consumers: dict[str, list[Any]] = {}
        for n in model.graph.node:
            for t in n.input:
                if t:
                    self.consumers.setdefault(t, []).append(n)
        self.graph_outputs = {o.name for o in model.graph.output}
        self.skip: set[int] = set()  # ids of ONNX nodes fused into an earlier one
        self.node: Any = None  # the ONNX node being converted
        self.scope = ""

    # --- operand kinds --------------------------------------------------------
    def is_act(self, name: str) -> bool:
        return self.graph.is_activation(name)

    def is_weight(self, name: str) -> bool:
        return (
            bool(name)
            and not self.is_act(name)
            and (name in self.inits or name in self.weight_of or name in self.own_params)
        )

    def value(self, name: str) -> Any:
        """The folded value of ``name`` (numpy), or None."""
        return self.facts.values.get(name) if name else None

    def shape(self, name: str) -> tuple[int, ...]:
        try:
            return self.facts.shapes[name]
        except KeyError:
            raise AnalysisError(f"{self.where}: the shape of tensor {name!r} is unknown "
                                f"(node {self.node.name or self.node.op_type!r})") from None  # fmt: skip

    def dtype(self, name: str) -> str:
        return self.facts.dtypes.get(name, "float32")

    def input(self, i: int) -> str:
        """The node's i-th input name, '' when absent."""
        ins = self.node.input
        return ins[i] if i < len(ins) else ""

    # --- registration -----------------------------------------------------------
    def param(self, name: str, role: str = "weight") -> str:
        """Register the weight read as ``name`` (through any views); returns its IR name."""
        base, quant = self.weight_of.get(name, (name, ()))
        for q in quant:
            self._register(
                q,
                "quant_zero_point"
                if "zero" in q.lower() or self.dtype(q) != "float32"
                else "quant_scale",
            )
        return self._register(base, role)

    def _register(self, name: str, role: str) -> str:
        if name in self.graph.params:
            return name
        if name in self.own_params:
            shape, dtype = self.own_params[name]
        else:
            t = self.inits[name]
            shape, dtype = tuple(int(d) for d in t.dims), self.facts.dtypes[name]
        frozen = role in NON_TRAINABLE_ROLES
        return self.rec.param(name, shape, dtype, trainable=not frozen, buffer=frozen, role=role)

    def constant(self, name: str) -> str:
        if name not in self.graph.tensors and name not in self.graph.params:
            self.rec.constant(name, self.shape(name), self.dtype(name), unique=False)
        return name

    def constant_scalar(self, value: float) -> str:
        """A literal scalar operand (Gemm's alpha), named after the node."""
        name = f"{self.node.name or self.node.op_type}::{value!r}"
        if name not in self.graph.tensors:
            self.facts.shapes[name] = ()
            self.rec.constant(name, (), "float32", unique=False)
        return name

    def operand(self, name: str, role: str = "weight") -> str:
        """Any data operand: an activation, a weight (a parameter) or a literal (a constant)."""
        if name in self.graph.tensors:  # an activation, or a constant made by a view of weights
            return name
        if self.is_weight(name) and not (
            name in self.inits and math.prod(self.inits[name].dims) <= 1
        ):
            param = self.param(name, role)
            if self.graph.shape(param) != self.shape(
                name
            ):  # ``gamma.reshape(1, -1, 1, 1)`` as data
                self.emit("reshape", [param], outputs=[name], suffix="/weight_view")
                return name
            return param
        if name in self.facts.values or name in self.inits:
            return self.constant(name)
        raise AnalysisError(f"{self.where}: node {self.node.name or self.node.op_type!r} reads "
                            f"{name!r}, which no earlier node produces")  # fmt: skip

    # --- emission ----------------------------------------------------------------
    def emit(self, op: str, inputs: list[str], attrs: dict[str, Any] | None = None,
             outputs: list[str] | None = None, dtype: str | None = None, suffix: str = "") -> Node | None:  # fmt: skip
        """Add one IR node for the current ONNX node; outputs default to the node's named outputs."""
        outs = [o for o in (outputs if outputs is not None else self.node.output) if o]
        outs = [o for o in outs if o in self.facts.shapes or self._needed(o)]
        if not outs:
            return None  # nothing it computes is read or has a shape: dead code
        # computed from weights and constants alone (``cls_token.expand(...)``, position
        # embeddings of constant ids): weight preprocessing, a constant, as PyTorch's analysis has it
        constant = not any(self.is_act(t) for t in inputs)
        specs = [(self.shape(o), dtype or self._out_dtype(o)) for o in outs]
        base = (self.node.name or self.scope or self.node.op_type) + suffix
        names = self.rec.node(op, inputs, specs, dict(attrs or {}), scope=self.scope, base=base,
                              source_op=self._source(), constant=constant, out_names=outs)  # fmt: skip
        if names != outs:  # ONNX names are SSA: a clash means a malformed file
            clash = next(o for o, n in zip(outs, names, strict=True) if o != n)
            raise AnalysisError(f"{self.where}: tensor {clash!r} is defined twice")
        return self.graph.producer(outs[0]) if outs else None

    def _needed(self, name: str) -> bool:
        return bool(self.consumers.get(name)) or name in self.graph_outputs

    def _out_dtype(self, name: str) -> str:
        """The tensor's dtype; a float tensor read only by QuantizeLinear is stored quantized.

        A QDQ model writes ``conv -> QuantizeLinear``; runtimes fuse them into a
        quantized conv writing int8, and the analyzer counts the tensor so.
        """
        readers = self.consumers.get(name, [])
        if readers and all(r.op_type == "QuantizeLinear" and r.input[0] == name for r in readers):
            return self.dtype(readers[0].output[0])
        return self.dtype(name)

    def view(self, name: str, as_name: str, op: str = "identity") -> None:
        """Make ``as_name`` an alias of activation ``name`` (a view with no arithmetic)."""
        self.emit(op, [name], outputs=[as_name])

    def _source(self) -> str:
        n = self.node
        return n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"

    # --- the walk ---------------------------------------------------------------
    def convert(
        self, bound: dict[str, tuple[int, ...]], table: dict[tuple[str, str], Any]
    ) -> Graph:
        from analyzer.plugins.frontends.onnx.handlers import unknown
        from analyzer.plugins.frontends.onnx.patterns import find

        for name, shape in bound.items():
            self.rec.input(name, shape, self.dtype(name))
        fused, inner = find(self.model.graph, self.facts.values)
        self.skip |= inner
        for node in self.model.graph.node:
            if id(node) in self.skip or (node.name in self.facts.folded and node.name):
                continue
            if id(node) in fused:  # an activation written as several ops, emitted at its last op
                self.node, self.scope = node, self.scopes.scope(node.name)
                f = fused[id(node)]
                self.emit(f.op, [self.operand(f.x)], f.attrs)
                continue
            if node.output and all(o in self.facts.values for o in node.output if o):
                continue  # folded shape arithmetic and constants
            self.node, self.scope = node, self.scopes.scope(node.name)
            if self._weight_view(node):
                continue
            domain = "" if node.domain == "ai.onnx" else node.domain
            handler = table.get((domain, node.op_type), unknown)
            handler(self, attrs_of(node))
        outputs = [o.name for o in self.model.graph.output]
        missing = [o for o in outputs if o not in self.graph.tensors and o not in self.graph.params]
        if missing:
            raise AnalysisError(f"{self.where}: graph output {missing[0]!r} is computed by no node")
        return self.rec.finish([o for o in outputs if self.is_act(o)])

    def _weight_view(self, node: Any) -> bool:
        """Record ``Transpose(W)``, ``DequantizeLinear(W_int8, s, zp)``, ``Slice(W)``... as W itself."""
        if (
            node.domain not in ("", "ai.onnx")
            or not node.input
            or not self.is_weight(node.input[0])
        ):
            if (
                node.op_type == "Constant"
                and node.output
                and node.output[0] not in self.facts.values
            ):
                t = attrs_of(node).get("value")  # a large Constant: a weight stored in the graph
                if t is not None and hasattr(t, "dims"):
                    self.own_params[node.output[0]] = (
                        tuple(int(d) for d in t.dims),
                        self.dtype(node.output[0]),
                    )
                    return True
            return False
        rest = [t for t in node.input[1:] if t]
        if any(self.is_act(t) for t in rest):
            return False  # a lookup with activation indices (an embedding) is an op
        base, quant = self.weight_of.get(node.input[0], (node.input[0], ()))
        if node.op_type == "Identity" and node.input[0] in self.inits and node.output and node.output[0]:
            # torch.onnx.export keeps one copy of equal initializers (a fresh BatchNorm's weight and
            # running_var are both ones) and names the others by Identity nodes: each is its own
            # parameter of the exported model, as in the module it came from
            self.own_params[node.output[0]] = (self.shape(node.input[0]), self.dtype(node.input[0]))
            self.weight_of[node.output[0]] = (node.output[0], quant)
            return True
        if node.op_type in WEIGHT_VIEWS:
            if node.op_type == "DequantizeLinear":
                quant = (*quant, *rest)
            for o in node.output:
                if o:
                    self.weight_of[o] = (base, quant)
            return True
        joined = node.op_type == "Concat" and all(self.is_weight(t) for t in node.input if t)
        if node.op_type in WEIGHT_SLICES or joined:  # parts of weights, or weights joined (an RNN's gates
            # reordered by the exporter: Concat(Slice(W)...)): a parameter of the output's size, read once
            for o in node.output:
                if o:
                    self.own_params[o] = (
                        self.shape(o),
                        self.dtype(base) if base in self.facts.dtypes else self.dtype(o),
                    )
                    self.weight_of[o] = (o, quant)
            return True
        return False
