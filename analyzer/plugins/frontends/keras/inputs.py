"""Input binding: concrete input shapes and dtypes for a symbolic call.

A model's declared inputs (``keras.Input``) give names, dtypes and shapes
with ``None`` dims; the user's ``inputs`` (shapes, ``Tensor`` specs, arrays,
or a dict by input name) fill those dims, the batch dimension defaults to 1,
and any other unknown dimension is an error asking for ``--input-shape``.
Fixed dimensions the user contradicts are an error too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.ir import Tensor
from analyzer.core.recorder import is_shape
from analyzer.plugins.frontends.keras.emitter import dtype_name


@dataclass(frozen=True, slots=True)
class Given:
    """One input as the user or the model states it; ``None`` dims are unknown."""

    name: str | None
    shape: tuple[int | None, ...]
    dtype: str | None


def _one(x: Any, name: str | None = None) -> Given:
    if isinstance(x, Tensor):
        return Given(name or x.name, tuple(x.shape), x.dtype)
    if is_shape(x, unknown=True, empty=True):
        return Given(name, tuple(x), None)
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # arrays, backend tensors, KerasTensors, specs
        return Given(
            name, tuple(None if d is None else int(d) for d in x.shape), dtype_name(x.dtype)
        )
    raise UsageError(f"keras frontend: cannot read an input shape from a {type(x).__name__}")


def user_inputs(inputs: Any) -> list[Given] | None:
    """The user's ``inputs`` as a list of ``Given`` (None when not given)."""
    if inputs is None:
        return None
    if isinstance(inputs, Mapping):
        return [_one(v, str(k)) for k, v in inputs.items()]
    if isinstance(inputs, Tensor) or is_shape(inputs, unknown=True):
        return [_one(inputs)]
    if isinstance(inputs, list | tuple) and inputs:
        return [_one(x) for x in inputs]
    return [_one(inputs)]


def bind(declared: list[Given] | None, given: list[Given] | None, what: str) -> list[Given]:
    """Concrete inputs: declared names/dtypes, dims filled from ``given``, batch 1 by default."""
    if declared is None:
        if given is None:
            raise UsageError(
                f"{what} declares no input shape; give one (inputs= / --input-shape), e.g. 1,224,224,3"
            )
        declared_list = [Given(g.name, tuple([None] * len(g.shape)), None) for g in given]
    else:
        declared_list = declared
    if given is not None:
        if (
            all(g.name for g in given)
            and declared is not None
            and {g.name for g in given} == {d.name for d in declared}
        ):
            by_name = {g.name: g for g in given}
            given = [by_name[d.name] for d in declared]
        if len(given) != len(declared_list):
            raise UsageError(f"{what} takes {len(declared_list)} input(s), {len(given)} given")
    out = []
    for i, d in enumerate(declared_list):
        g = given[i] if given is not None else None
        name = (
            d.name
            or (g.name if g else None)
            or (f"input{i}" if len(declared_list) > 1 else "input")
        )
        shape = list(d.shape)
        if g is not None:
            if len(g.shape) != len(shape):
                raise UsageError(
                    f"input {name!r} has rank {len(shape)} ({_fmt(d.shape)}); the given shape {_fmt(g.shape)} has rank {len(g.shape)}"
                )
            for k, (dd, gd) in enumerate(zip(shape, g.shape, strict=True)):
                if dd is not None and gd is not None and dd != gd:
                    raise UsageError(
                        f"input {name!r} has shape {_fmt(d.shape)}; the given shape {_fmt(g.shape)} differs at dim {k}"
                    )
                shape[k] = dd if dd is not None else gd
        if shape and shape[0] is None:
            shape[0] = 1  # the batch dimension
        if any(s is None for s in shape):
            raise AnalysisError(
                f"input {name!r} has unknown dimensions {_fmt(tuple(shape))}; give its shape (inputs= / --input-shape)"
            )
        dtype = d.dtype or (g.dtype if g else None) or "float32"
        out.append(Given(name, tuple(shape), dtype))
    return out


def _fmt(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
