"""Activations exporters write as several ops, recognised as the one canonical activation.

Opsets before 20 have no ``Gelu``, and exporters write SiLU, HardSwish and
Mish through their definitions: ``x * Sigmoid(x)``,
``x * 0.5 * (1 + Erf(x / sqrt 2))``... Counted op by op they would create
tensors (the last ``Mul`` is a new tensor, where the activation runs in
place) and other FLOPs PyTorch's own analysis does not have, so a chain
whose intermediate results have no other reader is one activation node,
emitted at its last op.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Fused:
    op: str  # canonical activation
    x: str  # its input
    attrs: dict[str, Any]


class _Index:
    def __init__(self, graph: Any, values: dict[str, np.ndarray]):
        self.values = values
        self.producer = {o: n for n in graph.node for o in n.output if o}
        self.readers: dict[str, list[Any]] = {}
        for n in graph.node:
            for t in n.input:
                if t:
                    self.readers.setdefault(t, []).append(n)
        self.outputs = {o.name for o in graph.output}

    def only_reader(self, tensor: str, node: Any) -> bool:
        """``node`` is the one reader of ``tensor``, which is not a graph output."""
        readers = self.readers.get(tensor, [])
        return len(readers) == 1 and readers[0] is node and tensor not in self.outputs

    def scalar(self, name: str) -> float | None:
        v = self.values.get(name)
        return float(v.reshape(-1)[0]) if v is not None and v.size == 1 else None

    def made_by(self, tensor: str, op_type: str, reader: Any) -> Any:
        n = self.producer.get(tensor)
        if (
            n is not None
            and n.op_type == op_type
            and n.domain in ("", "ai.onnx")
            and self.only_reader(tensor, reader)
        ):
            return n
        return None


def _other(node: Any, name: str) -> str:
    return node.input[1] if node.input[0] == name else node.input[0]


def find(graph: Any, values: dict[str, np.ndarray]) -> tuple[dict[int, Fused], set[int]]:
    """``{id(last node): Fused}`` and the ids of the chains' other nodes (emitted as nothing)."""
    ix = _Index(graph, values)
    fused: dict[int, Fused] = {}
    inner: set[int] = set()
    for node in graph.node:
        if node.op_type != "Mul" or node.domain not in ("", "ai.onnx") or len(node.input) != 2:
            continue
        found = _silu_like(ix, node) or _gelu(ix, node)
        if found is not None:
            fused[id(node)], chain = found
            inner.update(id(n) for n in chain)
    return fused, inner


def _silu_like(ix: _Index, mul: Any) -> tuple[Fused, list[Any]] | None:
    """``x * Sigmoid(x)`` (SiLU), ``x * HardSigmoid(x)`` (HardSwish), ``x * Tanh(Softplus(x))`` (Mish)."""
    for i in (0, 1):
        x, gate = mul.input[1 - i], mul.input[i]
        for op_type, op in (("Sigmoid", "silu"), ("HardSigmoid", "hardswish"), ("Tanh", "mish")):
            n = ix.made_by(gate, op_type, mul)
            if n is None:
                continue
            if op == "mish":
                sp = ix.made_by(n.input[0], "Softplus", n)
                if sp is not None and sp.input[0] == x:
                    return Fused("mish", x, {}), [n, sp]
            elif n.input[0] == x:
                return Fused(op, x, {}), [n]
    return None


def _gelu(ix: _Index, last: Any) -> tuple[Fused, list[Any]] | None:
    """``(x * (Erf(x / sqrt2) + 1)) * 0.5`` or ``x * ((Erf(x / sqrt2) + 1) * 0.5)``, as exporters write it."""
    for i in (0, 1):
        half, rest = ix.scalar(last.input[i]), last.input[1 - i]
        if half is not None and math.isclose(half, 0.5, rel_tol=1e-3):
            inner = ix.made_by(rest, "Mul", last)  # x * (erf + 1)
            if inner is not None:
                for j in (0, 1):
                    x, plus = inner.input[j], inner.input[1 - j]
                    chain = _erf_plus_one(ix, plus, inner, x)
                    if chain is not None:
                        return Fused("gelu", x, {"approximate": "none"}), [inner, *chain]
    return None


def _erf_plus_one(ix: _Index, plus: str, reader: Any, x: str) -> list[Any] | None:
    add = ix.made_by(plus, "Add", reader)
    if add is None:
        return None
    for k in (0, 1):
        one, erf_out = ix.scalar(add.input[k]), add.input[1 - k]
        erf = (
            ix.made_by(erf_out, "Erf", add) if one is not None and math.isclose(one, 1.0) else None
        )
        if erf is None:
            continue
        scaled = ix.producer.get(erf.input[0])
        if scaled is None or not ix.only_reader(erf.input[0], erf) or scaled.input[0] != x:
            continue
        c = ix.scalar(scaled.input[1])
        if c is None:
            continue
        if (scaled.op_type == "Div" and math.isclose(c, math.sqrt(2), rel_tol=1e-3)) or (
            scaled.op_type == "Mul" and math.isclose(c, 1 / math.sqrt(2), rel_tol=1e-3)
        ):
            return [add, erf, scaled]
    return None
