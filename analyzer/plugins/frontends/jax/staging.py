"""The frontend's working copy of a graph: nodes that passes may still rewrite.

The walker appends nodes here; the passes (bias folding, linear layers,
pooling, roles) rewrite them; ``build`` turns the result into a ``Graph``.
A ``Graph`` is append-only, hence this staging step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from analyzer.core.graph import Graph
from analyzer.core.ir import Node, Param, Shape, Tensor

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
    _ids: Counter[str] = field(default_factory=Counter)

    # --- names ----------------------------------------------------------------
    def unique(self, base: str) -> str:
        """A name no tensor, parameter or node uses yet."""
        while True:
            k = self._ids[base]
            self._ids[base] += 1
            name = base if k == 0 else f"{base}_{k}"
            if name not in self.tensors and name not in self.params:
                return name

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
        names = []
        for i, (shape, dtype) in enumerate(outputs):
            name = node_id if len(outputs) == 1 else f"{node_id}:{i}"
            self.tensors[name] = Tensor(name, shape, dtype, constant)
            names.append(name)
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
        g = Graph(name, "jax", meta)
        produced = {t for n in self.nodes for t in n.outputs}
        for t in self.inputs:
            g.add_input(self.tensors[t])
        for p in self.params.values():
            g.add_param(Param(p.name, p.shape, p.dtype, p.trainable, False, p.role or "weight"))
        used = {t for n in self.nodes for t in n.inputs} | set(self.outputs)
        for t in self.tensors.values():
            if t.constant and t.name not in produced and t.name in used:
                g.add_tensor(t)
        for node in self.nodes:
            for t in node.outputs:
                g.add_tensor(self.tensors[t])
            g.add_node(node)
        g.set_outputs(list(self.outputs))
        if self.warnings:
            g.meta["warnings"] = list(dict.fromkeys(self.warnings))
        return g
