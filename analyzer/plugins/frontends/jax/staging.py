"""The frontend's working copy of a graph: nodes that passes may still rewrite.

The walker appends nodes here; the passes (bias folding, linear layers,
pooling, roles) rewrite them; ``build`` turns the result into a ``Graph``.
A ``Graph`` is append-only, hence this staging step: names come from the
core recorder's ``Names`` (``base``, ``base_1``...) and ``build`` records the
surviving values and nodes through a core ``Recorder``. The names forget what
was handed out: a ``cond`` branch walked and then dropped frees its names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analyzer.core.graph import Graph
from analyzer.core.ir import Node, Param, Shape, Tensor
from analyzer.core.recorder import Names, Recorder

from .scopes import CALL_SEP


@dataclass(slots=True)
class ParamSpec:
    """A parameter leaf of the model: its role is decided after the walk."""

    name: str
    shape: Shape
    dtype: str
    trainable: bool = True
    role: str = ""


@dataclass
class Staged:
    tensors: dict[str, Tensor] = field(default_factory=dict)  # activations and constants
    params: dict[str, ParamSpec] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    names: Names = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.names = Names("_", self._used, remember=False)

    def _used(self, name: str) -> bool:
        return name in self.tensors or name in self.params

    # --- names ----------------------------------------------------------------
    def unique(self, base: str) -> str:
        """A name no tensor or parameter uses yet (node ids: counted apart per base)."""
        return self.names.fresh(base)

    # --- building ---------------------------------------------------------------
    def add_tensor(self, base: str, shape: Shape, dtype: str, constant: bool = False) -> str:
        name = self.unique(base)
        self.tensors[name] = Tensor(name, shape, dtype, constant)
        return name

    def add_node(
        self, op: str, inputs: list[str], outputs: list[tuple[Shape, str]], attrs: dict[str, Any],
        scope: str, source_op: str, constant: bool = False,
    ) -> list[str]:  # fmt: skip
        """Append a node with fresh output tensors; returns their names."""
        path = scope.split(CALL_SEP)[0]  # without the call serial of a module-call marker
        node_id = self.unique(f"{path}/{op}" if path else op)
        names = self.names.outputs(node_id, len(outputs))
        for name, (shape, dtype) in zip(names, outputs, strict=True):
            self.tensors[name] = Tensor(name, shape, dtype, constant)
        self.nodes.append(Node(node_id, op, tuple(inputs), tuple(names), attrs, scope, source_op))
        return names

    # --- reading ------------------------------------------------------------------
    def is_constant(self, name: str) -> bool:
        t = self.tensors.get(name)
        return t is not None and t.constant

    def shape(self, name: str) -> Shape:
        p = self.params.get(name)
        return p.shape if p is not None else self.tensors[name].shape

    def producers(self) -> dict[str, Node]:
        return {t: n for n in self.nodes for t in n.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for n in self.nodes:
            for t in dict.fromkeys(n.inputs):
                users.setdefault(t, []).append(n)
        return users

    # --- result -------------------------------------------------------------------
    def build(self, name: str, meta: dict[str, Any]) -> Graph:
        """The Graph of what survived the passes: inputs, parameters, used constants, nodes."""
        rec = Recorder(name, "jax", meta=meta)
        produced = {t for n in self.nodes for t in n.outputs}
        for t in self.inputs:
            spec = self.tensors[t]
            rec.input(t, spec.shape, spec.dtype)
        for p in self.params.values():
            rec.add_param(Param(p.name, p.shape, p.dtype, p.trainable, False, p.role or "weight"))
        used = {t for n in self.nodes for t in n.inputs} | set(self.outputs)
        for t in self.tensors.values():
            if t.constant and t.name not in produced and t.name in used:
                rec.constant(t.name, t.shape, t.dtype, unique=False)
        for node in self.nodes:
            rec.add_node(node, [self.tensors[t] for t in node.outputs])
        for w in self.warnings:
            rec.warn(w)
        return rec.finish(list(self.outputs))
