"""What the user gave as inputs -> the (args, kwargs) the model is called with.

Accepted: a tensor; a shape ``(1, 3, 224, 224)``; core ``Tensor`` specs
(the CLI's ``--input-shape``, repeatable); a list/tuple of any of these (one
positional argument each); a dict of keyword inputs. Non-tensor values
(``None``, ints, flags) pass through. Dtypes are kept (a shape takes the model's
floating dtype: ``adopt_model_dtype``). For a meta trace every
tensor becomes a meta tensor of the same shape, dtype and strides (nothing
is read); for a real trace shapes become deterministic tensors (``fill=False``:
uninitialised ones, for torch.export, which never reads them, so that their
pages are never touched).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analyzer.core.errors import UsageError
from analyzer.core.frontend import shape_inputs
from analyzer.core.ir import Tensor
from analyzer.core.recorder import is_shape


@dataclass
class ModelInputs:
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # id(tensor) -> graph input name
    _moved: dict[int, Any] = field(default_factory=dict)  # id(user tensor) -> its meta stand-in

    def tensors(self) -> list[Any]:
        """Input tensors in call order (positional, then keyword)."""
        import torch
        from torch.utils._pytree import tree_leaves

        return [t for t in tree_leaves((self.args, self.kwargs)) if isinstance(t, torch.Tensor)]


def _make(spec: Tensor, device: str, fill: bool = True) -> Any:
    import torch

    try:
        dtype = getattr(torch, spec.dtype)
    except AttributeError:
        raise UsageError(f"input {spec.name!r}: PyTorch has no dtype {spec.dtype!r}") from None
    if not isinstance(dtype, torch.dtype):
        raise UsageError(f"input {spec.name!r}: PyTorch has no dtype {spec.dtype!r}")
    if device == "meta" or not fill:
        return torch.empty(spec.shape, dtype=dtype, device=device)
    gen = torch.Generator().manual_seed(0)  # a deterministic stand-in for a real sample
    if dtype.is_floating_point or dtype.is_complex:
        return torch.randn(spec.shape, dtype=dtype, generator=gen)
    return torch.zeros(spec.shape, dtype=dtype)


def _convert(value: Any, name: str, device: str, out: ModelInputs, fill: bool = True) -> Any:
    import torch

    if isinstance(value, Tensor) or is_shape(value):
        spec = value if isinstance(value, Tensor) else Tensor(name, tuple(value))
        t = _make(spec, device, fill)
        out.names[id(t)] = spec.name
        return t
    if isinstance(value, torch.Tensor):
        if device == "meta" and value.device.type != "meta":
            moved = out._moved.get(id(value))
            if moved is None:  # one stand-in per tensor: a tensor passed twice stays one input
                moved = out._moved[id(value)] = torch.empty_strided(
                    value.shape, value.stride(), dtype=value.dtype, device="meta"
                )
            value = moved
        out.names.setdefault(id(value), name)
        return value
    if isinstance(value, list | tuple):
        items = [_convert(v, f"{name}.{i}", device, out, fill) for i, v in enumerate(value)]
        return type(value)(items) if isinstance(value, list) else tuple(items)
    if isinstance(value, Mapping):
        return {k: _convert(v, f"{name}.{k}", device, out, fill) for k, v in value.items()}
    return value


def adopt_model_dtype(inputs: Any, model: Any) -> Any:
    """Inputs given as bare shapes, as specs in the model's floating dtype.

    A shape says nothing of a dtype; a model cast with ``.half()``, ``.to(torch.bfloat16)`` or
    ``.double()`` refuses float32 inputs, so a float input built from a shape takes the dtype all
    of the model's floating parameters share. Tensors and ``Tensor`` specs (a dtype the user
    named: ``--input-shape 1,3,8,8:float32``) are kept.
    """
    import torch

    floats = {t.dtype for t in (*model.parameters(), *model.buffers()) if t.dtype.is_floating_point}
    if len(floats) != 1 or (dtype := floats.pop()) == torch.float32:
        return inputs
    name = str(dtype).removeprefix("torch.")

    def adopt(value: Any, key: str) -> Any:
        return Tensor(key, tuple(value), name) if is_shape(value) else value

    if isinstance(inputs, Mapping):
        return {k: adopt(v, str(k)) for k, v in inputs.items()}
    if is_shape(inputs):
        return adopt(inputs, "input")
    if isinstance(inputs, list | tuple):
        many = len(inputs) > 1
        return type(inputs)(adopt(v, f"input{i}" if many else "input") for i, v in enumerate(inputs))
    return inputs


def model_inputs(inputs: Any, device: str, fill: bool = True) -> ModelInputs:
    """Build the call's arguments on ``device`` ("meta" or "cpu"; ``fill=False``: uninitialised)."""
    import torch

    if inputs is None:
        raise UsageError(
            "a PyTorch model needs example inputs or input shapes (e.g. --input-shape 1,3,224,224)"
        )
    out = ModelInputs()
    if isinstance(inputs, Mapping):
        out.kwargs = {k: _convert(v, str(k), device, out, fill) for k, v in inputs.items()}
        return out
    specs = shape_inputs(inputs)
    if specs is not None:
        out.args = [_convert(s, s.name, device, out, fill) for s in specs]
        return out
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    if not isinstance(inputs, list | tuple):
        raise UsageError(
            f"inputs must be tensors, shapes or a dict of them, not {type(inputs).__name__}"
        )
    many = len(inputs) > 1
    out.args = [
        _convert(v, f"input{i}" if many else "input", device, out, fill)
        for i, v in enumerate(inputs)
    ]
    return out
