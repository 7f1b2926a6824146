"""Input shapes: from the model, or bound by the user where the model leaves dims symbolic.

An ONNX input declares each dim as a number, a name (``batch``,
``sequence``: a symbolic dim) or nothing. The user's shapes
(``--input-shape``, the ``inputs`` argument) bind inputs by name or, when
the names are not the model's, by position; the frontend option ``dims``
(``{"batch": 1}``) binds symbols by name. A symbol bound twice must agree;
a fixed dim cannot be changed; a dim left unbound is refused in one line
naming the input and the dim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyzer.core.errors import UsageError
from analyzer.core.frontend import shape_inputs

Dim = int | str | None  # a size, a symbol, or unknown


def model_inputs(graph: Any) -> list[tuple[str, list[Dim], int]]:
    """``(name, dims, elem_type)`` of each real input (initializers listed as inputs excluded)."""
    inits = {t.name for t in graph.initializer}
    out = []
    for vi in graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            raise UsageError(
                f"input {vi.name!r} is not a tensor (sequence/map inputs are not supported)"
            )
        dims: list[Dim] = []
        if tt.HasField("shape"):
            for d in tt.shape.dim:
                if d.HasField("dim_value") and d.dim_value > 0:
                    dims.append(int(d.dim_value))
                else:
                    dims.append(d.dim_param or None)
        else:
            dims = None  # type: ignore[assignment]  # rank unknown: the user must give the shape
        out.append((vi.name, dims, tt.elem_type))
    return out


def _user_shapes(inputs: Any, names: list[str]) -> dict[str, tuple[int, ...]]:
    if inputs is None:
        return {}
    if isinstance(inputs, Mapping):
        unknown = sorted(set(inputs) - set(names))
        if unknown:
            raise UsageError(f"the model has no input {unknown[0]!r} (inputs: {', '.join(names)})")
        return {k: tuple(_check_shape(k, v)) for k, v in inputs.items()}
    specs = shape_inputs(inputs)
    if specs is None:
        raise UsageError(
            "ONNX models take input shapes (a tuple of ints, a list of them, or a mapping "
            f"input name -> shape), not {type(inputs).__name__}"
        )
    if len(specs) > len(names):
        raise UsageError(
            f"{len(specs)} input shapes given, the model has {len(names)} input(s): {', '.join(names)}"
        )
    if all(s.name in names for s in specs):
        return {s.name: s.shape for s in specs}
    return {name: s.shape for name, s in zip(names, specs, strict=False)}


def _check_shape(name: str, shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, tuple | list) or not all(type(d) is int and d > 0 for d in shape):
        raise UsageError(f"input {name!r}: shape must be positive integers, got {shape!r}")
    return tuple(shape)


def bind_inputs(
    graph: Any, inputs: Any, dims: Mapping[str, int] | None
) -> dict[str, tuple[int, ...]]:
    """Concrete shape of every real input; UsageError (one line) for what cannot be bound."""
    declared = model_inputs(graph)
    names = [n for n, _, _ in declared]
    given = _user_shapes(inputs, names)
    symbols: dict[str, int] = {}
    for k, v in (dims or {}).items():
        if type(v) is not int or v <= 0:
            raise UsageError(f"dims[{k!r}] must be a positive integer, got {v!r}")
        symbols[k] = v
    # symbols first from the user's shapes, so that one input's shape binds another's dims
    for name, model_dims, _ in declared:
        shape = given.get(name)
        if shape is None or model_dims is None:
            continue
        if len(shape) != len(model_dims):
            raise UsageError(
                f"input {name!r} has rank {len(model_dims)} ({_show(model_dims)}), the shape given {shape} has rank {len(shape)}"
            )
        for i, (d, v) in enumerate(zip(model_dims, shape, strict=True)):
            if isinstance(d, int) and d != v:
                raise UsageError(
                    f"input {name!r} dim {i} is fixed at {d} in the model, the shape given says {v}"
                )
            if isinstance(d, str) and symbols.setdefault(d, v) != v:
                raise UsageError(
                    f"symbolic dim {d!r} is bound to {symbols[d]} and to {v} (input {name!r} dim {i})"
                )
    bound: dict[str, tuple[int, ...]] = {}
    for name, model_dims, _ in declared:
        if name in given:
            bound[name] = given[name]
            continue
        if model_dims is None:
            raise UsageError(f"input {name!r} declares no shape: give it with --input-shape")
        shape = []
        for i, d in enumerate(model_dims):
            if isinstance(d, int) and d > 0:
                shape.append(d)
            elif isinstance(d, str) and d in symbols:
                shape.append(symbols[d])
            else:
                what = (
                    f"symbolic dim {i} ({d!r})" if isinstance(d, str) else f"dim {i} (unknown size)"
                )
                hint = f" or frontend option dims={{{d!r}: N}}" if isinstance(d, str) else ""
                raise UsageError(
                    f"input {name!r} has {what}: give its shape with --input-shape{hint}"
                )
        bound[name] = tuple(shape)
    return bound


def _show(dims: list[Dim]) -> str:
    return "x".join("?" if d is None else str(d) for d in dims)
