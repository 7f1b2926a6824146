"""Turns captured Keras events into IR nodes: tensor names, parameters, node ids.

Each ``KerasTensor`` becomes one IR tensor (by object identity); each Keras
variable one ``Param`` named by its path (``conv1/kernel`` -> ``conv1.kernel``)
with its trainability as the model reports it, added when first seen and
shared by identity (a reused layer's kernel is one parameter); other array
arguments (Python scalars, NumPy arrays, eager backend tensors) become
constants. Node ids are the event's scope for its first node and
``scope/op`` for the others, so a Conv2D with ``activation="relu"`` is nodes
``conv1`` and ``conv1/relu``. Names, parameters and nodes are recorded
through the core recorder (``analyzer.core.recorder``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analyzer.core import dtypes
from analyzer.core.errors import AnalysisError
from analyzer.core.graph import Graph
from analyzer.core.ir import Shape
from analyzer.core.recorder import Recorder

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
        self.rec = Recorder(graph=graph)
        self._names: dict[int, str] = {}
        self._alive: list[Any] = []  # keep captured objects alive so ids stay unique
        self._vars: dict[int, Any] = {}  # id -> variable: ids are the parameters' keys
        self._trainable = trainable_ids
        self.scope = ""
        self.source = ""
        for v in variables:  # the model's weights first
            self._declare_var(v)

    # --- naming ---------------------------------------------------------------
    def _declare_var(self, v: Any) -> str:
        """The parameter of variable ``v``, added the first time it is seen."""
        name = self.rec.param_of(id(v))
        if name is None:
            self._vars[id(v)] = v
            role = _ROLE_BY_NAME.get(str(v.name).rsplit("/", 1)[-1], "weight")
            name = self.rec.param(
                str(getattr(v, "path", None) or v.name).replace("/", "."),
                concrete_shape(v, "a variable"), dtype_name(v.dtype),
                trainable=id(v) in self._trainable, role=role, key=id(v),
            )  # fmt: skip
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
        if role:  # the first use decides, over the default from the variable's name
            self.rec.hint_role(name, role)
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
        return self.rec.constant(f"{self.scope or 'const'}/const", shape, dtype)

    def shape(self, x: Any) -> Shape:
        if isinstance(x, str):
            return self.rec.shape(x)
        return concrete_shape(x, self.scope)

    def dtype(self, x: Any) -> str:
        if isinstance(x, str):
            return self.rec.dtype(x)
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
        scope = self.scope
        base = f"{scope}/{op}" if scope and scope in self.g else scope or op
        specs = [(o.shape, o.dtype) if isinstance(o, Spec) else (self.shape(o), self.dtype(o))
                 for o in outs]  # fmt: skip
        clean = {k: _plain(v) for k, v in (attrs or {}).items()}
        names = self.rec.node(op, ins, specs, clean, scope=scope, base=base,
                              source_op=source_op or self.source)  # fmt: skip
        for o, name in zip(outs, names, strict=True):
            if not isinstance(o, Spec):
                self.bind(o, name)
        return names[0]

    def add_params(self) -> None:
        """Nothing left to add: a variable's parameter joins the graph when first seen."""


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
