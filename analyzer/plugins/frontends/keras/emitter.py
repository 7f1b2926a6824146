"""Turns captured Keras events into IR nodes: tensor names, parameters, node ids.

Each ``KerasTensor`` becomes one IR tensor (by object identity); each Keras
variable one ``Param`` named by its path (``conv1/kernel`` -> ``conv1.kernel``)
with its trainability as the model reports it; other array arguments
(Python scalars, NumPy arrays, eager backend tensors) become constants.
Node ids are the event's scope for its first node and ``scope/op`` for the
others, so a Conv2D with ``activation="relu"`` is nodes ``conv1`` and
``conv1/relu``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analyzer.core import dtypes
from analyzer.core.errors import AnalysisError
from analyzer.core.graph import Graph
from analyzer.core.ir import Node, Param, Shape, Tensor

# Role of a parameter from the variable's own name, when the op table gives none.
_ROLE_BY_NAME = {
    "bias": "bias", "gamma": "scale", "beta": "shift", "moving_mean": "mean",
    "moving_variance": "var", "embeddings": "embedding",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Spec:
    """The shape and dtype of a tensor a handler creates inside a layer."""

    shape: Shape
    dtype: str


def is_keras_tensor(x: Any) -> bool:
    from keras.src.backend.common.keras_tensor import KerasTensor

    return isinstance(x, KerasTensor)


def is_variable(x: Any) -> bool:
    from keras.src.backend.common.variables import Variable

    return isinstance(x, Variable)


def is_array(x: Any) -> bool:
    """Array-like operands other than KerasTensors and variables (constants)."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, type)


class Emitter:
    """Builds the Graph for one captured call."""

    def __init__(self, graph: Graph, variables: Sequence[Any], trainable_ids: set[int]):
        self.g = graph
        self._names: dict[int, str] = {}
        self._alive: list[Any] = []  # keep captured objects alive so ids stay unique
        self._ids: dict[str, int] = {}
        self._vars: dict[int, Any] = {}
        self._var_names: dict[int, str] = {}
        self._ids_by_name: dict[str, int] = {}
        self._roles: dict[int, str] = {}
        self._trainable = trainable_ids
        self.scope = ""
        self.source = ""
        for v in variables:
            self._declare_var(v)

    # --- naming ---------------------------------------------------------------
    def _unique(self, base: str) -> str:
        k = self._ids.get(base, 0)
        self._ids[base] = k + 1
        name = base if k == 0 else f"{base}_{k}"
        while name in self.g.tensors or name in self.g.params or name in self.g:
            k += 1
            self._ids[base] = k + 1
            name = f"{base}_{k}"
        return name

    def _declare_var(self, v: Any) -> str:
        name = self._var_names.get(id(v))
        if name is None:
            base = str(getattr(v, "path", None) or v.name).replace("/", ".")
            name = base
            k = 1
            while name in self._ids_by_name:
                name, k = f"{base}_{k}", k + 1
            self._vars[id(v)] = v
            self._var_names[id(v)] = name
            self._ids_by_name[name] = id(v)
        return name

    # --- operands ---------------------------------------------------------------
    def bind(self, kt: Any, name: str) -> None:
        """Make ``kt`` stand for the existing tensor ``name`` (graph inputs, pass-through ops)."""
        self._names[id(kt)] = name
        self._alive.append(kt)

    def has(self, kt: Any) -> bool:
        return id(kt) in self._names

    def is_weight(self, v: Any) -> bool:
        """``v`` is one of the model's weights (or a variable an op already reads)."""
        return id(v) in self._vars

    def param(self, v: Any, role: str | None = None) -> str:
        """The parameter name of variable ``v``; ``role`` as the op uses it."""
        name = self._declare_var(v)
        if role is not None:
            self._roles.setdefault(id(v), role)
        return name

    def operand(self, x: Any) -> str:
        """IR name of an operand: a KerasTensor, a variable or a constant."""
        if is_keras_tensor(x):
            try:
                return self._names[id(x)]
            except KeyError:
                raise AnalysisError(
                    f"keras frontend: {self.scope or 'the model'} reads a symbolic tensor "
                    f"{x.name!r} that no captured operation produced"
                ) from None
        if is_variable(x):
            return self.param(x)
        return self.constant(x)

    def constant(self, x: Any) -> str:
        if is_array(x):
            shape, dtype = tuple(int(d) for d in x.shape), dtype_name(x.dtype)
        else:
            arr = np.asarray(x)
            shape = tuple(arr.shape)
            dtype = {"b": "bool", "i": "int32", "u": "int32"}.get(arr.dtype.kind, "float32")
        name = self._unique(f"{self.scope or 'const'}/const")
        self.g.add_tensor(Tensor(name, shape, dtype, constant=True))
        return name

    def _named(self, name: str) -> Any:
        """The variable called ``name`` (params join the graph at the end), else None."""
        vid = self._ids_by_name.get(name)
        return self._vars[vid] if vid is not None else None

    def shape(self, x: Any) -> Shape:
        if isinstance(x, str):
            v = self._named(x)
            return self.g.shape(x) if v is None else concrete_shape(v, x)
        return concrete_shape(x, self.scope)

    def dtype(self, x: Any) -> str:
        if isinstance(x, str):
            v = self._named(x)
            return self.g.spec(x).dtype if v is None else dtype_name(v.dtype)
        return dtype_name(x.dtype)

    # --- nodes ------------------------------------------------------------------
    def emit(
        self, op: str, inputs: Sequence[Any], out: Any | Sequence[Any], attrs: dict[str, Any] | None = None,
        *, source_op: str | None = None,
    ) -> str:  # fmt: skip
        """Add one node; ``out`` is a KerasTensor, a Spec, or a list of them.

        Returns the (first) output name; KerasTensor outputs are bound to it.
        """
        outs = list(out) if isinstance(out, list | tuple) else [out]
        ins = tuple(x if isinstance(x, str) else self.operand(x) for x in inputs)
        node_id = self._unique(
            f"{self.scope}/{op}" if self.scope and self.scope in self.g else self.scope or op
        )
        names = []
        for i, o in enumerate(outs):
            name = node_id if len(outs) == 1 else f"{node_id}:{i}"
            if isinstance(o, Spec):
                self.g.add_tensor(Tensor(name, o.shape, o.dtype))
            else:
                self.g.add_tensor(Tensor(name, self.shape(o), self.dtype(o)))
                self.bind(o, name)
            names.append(name)
        clean = {k: _plain(v) for k, v in (attrs or {}).items()}
        self.g.add_node(
            Node(node_id, op, ins, tuple(names), clean, self.scope, source_op or self.source)
        )
        return names[0]

    # --- finishing ---------------------------------------------------------------
    def add_params(self) -> None:
        """Add every variable seen (the model's weights first) as a Param."""
        for vid, v in self._vars.items():
            role = self._roles.get(vid) or _ROLE_BY_NAME.get(
                str(v.name).rsplit("/", 1)[-1], "weight"
            )
            trainable = vid in self._trainable
            self.g.add_param(Param(self._var_names[vid], concrete_shape(v, "a variable"), dtype_name(v.dtype),
                                   trainable=trainable, role=role))  # fmt: skip


def _plain(value: Any) -> Any:
    """Attribute values as plain JSON-able Python (tuples for sequences)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def concrete_shape(x: Any, where: str) -> Shape:
    shape = tuple(x.shape)
    if any(d is None for d in shape):
        raise AnalysisError(
            f"keras frontend: {where or 'the model'} has a tensor of shape {shape} with unknown "
            "dimensions; give concrete input shapes (inputs= / --input-shape)"
        )
    return tuple(int(d) for d in shape)


def dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None) or str(dtype)
    try:
        return dtypes.canonical(name)
    except ValueError as e:
        raise AnalysisError(f"keras frontend: {e}") from None
