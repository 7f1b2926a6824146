"""Symbolic capture of a Keras call: every layer and ``keras.ops`` call, in order.

The model is called on ``KerasTensor``s of concrete shape, so nothing runs
on data; ``patches.trace`` wraps Keras's call machinery for the duration and
hands each call to the ``Tracer`` here:

- every layer and functional-graph op call pushes a scope (``outer.inner.dense``;
  the second call of one layer in one parent is ``dense@1``), so everything
  the call does, input casts included, is attributed to it; inside a layer
  analysed as one (``absorbs``: attention layers, docs/ir.md) sublayers push
  no scope of their own, so their ops take that layer's scope; ops called
  inside a layer stay in its scope;
- a *leaf* layer (one the layer table maps) is recorded as one event with
  its output spec from Keras's own shape inference; any other layer (models,
  custom layers, wrappers) has its ``call`` run on the symbolic tensors, so
  its sublayers and ``keras.ops`` calls are recorded inside its scope (or a
  rewrite of its call, for wrappers whose own call cannot run symbolically).
  When that fails (backend-specific code, control flow on values) the layer,
  and only that layer, is recorded as one opaque event and its parent goes on;
- raw ``keras.ops`` calls (``ops.add``, ``x + y``, ``ops.einsum``...) are
  recorded as events.

Work a layer does on its weights alone (no symbolic input) runs eagerly and
yields concrete tensors: keras-hub's ``PositionEmbedding`` returns its table cut
to the input's length, ViT tiles its class token, T5 looks its relative-position
bias up, Gemma's norm scales by ``1 + scale``. The variables such code reads
(``Variable.value``) are noted per layer call; the next concrete tensor that
reaches a recorded op, or leaves the layer as an output, becomes a fresh
``KerasTensor`` produced by a ``constant`` event whose operands are those
variables: the weights stay operands of the layer that uses them, and the
layer's parent keeps tracing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from analyzer.plugins.frontends.keras.saved import first_sentences

MAX_REASON = 160  # an opaque layer's reason in its warning: whole sentences, one line


@dataclass(slots=True)
class Event:
    """One recorded call: ``kind`` is ``layer`` (a mapped leaf layer), ``op``
    (a raw keras.ops operation), ``opaque`` (a layer that could not be traced) or
    ``constant`` (a concrete tensor computed eagerly; ``args`` holds the variables read
    for it)."""

    op: Any
    scope: str
    args: tuple
    kwargs: dict
    outputs: Any
    kind: str
    note: str = ""


@dataclass
class Tracer:
    """Collects events; ``is_leaf(layer)`` says whether a layer is recorded whole."""

    is_leaf: Callable[[Any], bool]
    root: Any = None  # the model being captured: its own scope is "" (no prefix)
    rewrite: Callable[[Any], Callable[..., Any] | None] = field(default=lambda layer: None)
    absorbs: Callable[[Any], bool] = field(default=lambda layer: False)
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _frames: list[tuple[Any, str, bool]] = field(default_factory=list)  # (op, scope, absorbing)
    _calls: dict[tuple[str, int], int] = field(default_factory=dict)
    _saved: dict[int, tuple[Any, int, int]] = field(default_factory=dict)
    _reads: list[dict[int, Any]] = field(default_factory=lambda: [{}])  # per frame, in order
    _suspended: int = 0

    # --- scopes ---------------------------------------------------------------
    @property
    def scope(self) -> str:
        return self._frames[-1][1] if self._frames else ""

    def _remember(self, op: Any) -> None:
        """Note the op's node lists before Keras appends to them (undone by ``restore``)."""
        if id(op) not in self._saved and hasattr(op, "_inbound_nodes"):
            self._saved[id(op)] = (op, len(op._inbound_nodes), len(op._outbound_nodes))

    @contextmanager
    def enter(self, op: Any) -> Iterator[None]:
        self._remember(op)
        parent = self.scope
        if self._frames and self._frames[-1][2]:  # a sublayer of a layer analysed as one
            self._frames.append((op, parent, True))
        else:
            key = (parent, id(op))
            k = self._calls.get(key, 0)
            self._calls[key] = k + 1
            name = op.name if k == 0 else f"{op.name}@{k}"
            if op is self.root and not self._frames:
                name = ""
            self._frames.append((op, f"{parent}.{name}" if parent else name, self.absorbs(op)))
        self._reads.append({})
        try:
            yield
        finally:
            self._frames.pop()
            self._reads[-2].update(self._reads.pop())  # reads no constant took: the caller's

    def read(self, variable: Any) -> None:
        """A variable's value was read eagerly (weights-only work inside the current call)."""
        self._reads[-1][id(variable)] = variable

    def _take_reads(self) -> tuple[Any, ...]:
        reads = tuple(self._reads[-1].values())
        self._reads[-1] = {}
        return reads

    def _constant(self, layer: Any, x: Any, variables: tuple[Any, ...]) -> Any:
        """A KerasTensor standing for the concrete tensor ``x``, made by a ``constant`` event."""
        from keras.src.backend.common.keras_tensor import KerasTensor

        kt = KerasTensor(tuple(int(d) for d in x.shape), dtype=_dtype_of(x))
        self.events.append(Event(layer, self.scope, variables, {}, kt, "constant"))
        return kt

    def in_graph(self) -> bool:
        """True while a functional model runs its graph: raw ops called then are graph nodes."""
        from keras.src.models.functional import Functional

        return bool(self._frames) and isinstance(self._frames[-1][0], Functional | _sequential())

    def in_frame_of(self, op: Any) -> bool:
        return bool(self._frames) and self._frames[-1][0] is op

    # --- recording --------------------------------------------------------------
    def layer_call(self, layer: Any, args: tuple, kwargs: dict) -> Any:
        self._remember(layer)
        if self.is_leaf(layer):
            out = self._leaf_spec(layer, args, kwargs)
            if out is not None:
                self.events.append(Event(layer, self.scope, args, kwargs, out, "layer"))
                return out
            # no usable shape: trace the call instead
        mark, calls = len(self.events), dict(self._calls)
        call = self.rewrite(layer) or layer.call
        try:
            result = call(*args, **kwargs)
            return self._symbolic(layer, result) if _concrete_leaves(result) else result
        except Exception as e:  # not traceable on symbolic tensors: record it whole
            del self.events[mark:]
            self._calls = calls
            self._take_reads()  # the opaque node carries all the layer's weights
            reason = first_sentences(str(e), MAX_REASON) or type(e).__name__
            with self.suspended():
                out = layer.compute_output_spec(*args, **kwargs)
            self.events.append(Event(layer, self.scope, args, kwargs, out, "opaque", reason))
            self.warnings.append(
                f"layer {self.scope!r} ({type(layer).__name__}) could not be traced symbolically "
                f"({type(e).__name__}: {reason}); it is one unsupported op"
            )
            return out

    def _symbolic(self, layer: Any, result: Any) -> Any:
        """``result`` with each concrete tensor replaced by a KerasTensor of its shape and dtype.

        A concrete output depends on no symbolic input: it is built from weights and shapes
        (keras-hub's ``PositionEmbedding`` slices its table to the input's length). The first
        one takes the variables the call read eagerly as operands.
        """
        from keras.src import tree

        def replace(x: Any) -> Any:
            if not _is_concrete(x):
                return x
            reads = self._take_reads()
            itself = (x,) if _is_variable(x) and x not in reads else ()  # ``return self.w``
            return self._constant(layer, x, itself + reads)

        return tree.map_structure(replace, result)

    def _leaf_spec(self, layer: Any, args: tuple, kwargs: dict) -> Any | None:
        """A mapped layer's output spec from Keras's shape inference; None when that fails
        or loses a dimension the inputs have (then the call is traced)."""
        try:
            with self.suspended():  # shape inference reads no weights on the model's behalf
                out = layer.compute_output_spec(*args, **kwargs)
        except Exception:
            return None
        if _unknown_dims(out) and not _unknown_dims((args, kwargs)) and not layer._layers:
            # Keras's shape rule lost a dimension (build-time shapes: the EinsumDense
            # projections of MultiHeadAttention): run the call, unrecorded, for the shapes
            out = self._spec_by_call(layer, args, kwargs, out)
        return out if not _unknown_dims(out) or _unknown_dims((args, kwargs)) else None

    def _spec_by_call(self, layer: Any, args: tuple, kwargs: dict, fallback: Any) -> Any:
        with self.suspended():
            try:
                return layer.call(*args, **kwargs)
            except Exception:
                return fallback

    def op_call(self, op: Any, args: tuple, kwargs: dict) -> Any:
        self._remember(op)
        with self.suspended():  # shape inference reads no weights on the model's behalf
            out = op.compute_output_spec(*args, **kwargs)
        if self._reads[-1]:
            args, kwargs = self._link_reads(op, args, kwargs)
        self.events.append(Event(op, self.scope, args, kwargs, out, "op"))
        return out

    def _link_reads(self, op: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The first concrete array operand of ``op`` becomes a ``constant`` reading the
        variables read since the last one (``1 + scale`` in ``x * (1 + scale)``)."""
        from keras.src import tree

        first = next((x for x in tree.flatten((args, kwargs)) if _is_array_constant(x)), None)
        if first is None:
            return args, kwargs
        kt = self._constant(self._frames[-1][0] if self._frames else op, first, self._take_reads())
        swap = lambda x: kt if x is first else x  # noqa: E731
        return tree.map_structure(swap, args), tree.map_structure(swap, kwargs)

    @contextmanager
    def suspended(self) -> Iterator[None]:
        self._suspended += 1
        try:
            yield
        finally:
            self._suspended -= 1

    @property
    def active(self) -> bool:
        return not self._suspended

    def restore(self) -> None:
        """Drop the graph nodes Keras attached to the model's layers during the capture."""
        for op, n_in, n_out in self._saved.values():
            del op._inbound_nodes[n_in:]
            del op._outbound_nodes[n_out:]


def _sequential() -> type:
    from keras.src.models.sequential import Sequential

    return Sequential


def _is_concrete(x: Any) -> bool:
    """A backend tensor, NumPy array or variable: an array that is not a ``KerasTensor``."""
    return (
        hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, type)
        and type(x).__name__ != "KerasTensor"
    )  # fmt: skip


def _is_variable(x: Any) -> bool:
    from keras.src.backend.common.variables import Variable

    return isinstance(x, Variable)


def _is_array_constant(x: Any) -> bool:
    """A concrete array operand of rank 1 or more (not a scalar, variable or KerasTensor)."""
    return _is_concrete(x) and len(x.shape) > 0 and not _is_variable(x)


def _concrete_leaves(structure: Any) -> bool:
    from keras.src import tree

    return any(_is_concrete(x) for x in tree.flatten(structure))


def _dtype_of(x: Any) -> str:
    from keras.src.backend import standardize_dtype

    return standardize_dtype(x.dtype)


def _unknown_dims(structure: Any) -> bool:
    from keras.src import tree

    return any(
        getattr(x, "shape", None) is not None and None in tuple(x.shape)
        for x in tree.flatten(structure)
        if type(x).__name__ == "KerasTensor"
    )
