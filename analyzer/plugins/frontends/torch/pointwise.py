"""Shortcuts of elementwise ops, reductions and ``cat`` on meta (``shortcuts.py`` says why),
and the helpers every shortcut shares: PyTorch's way of printing sizes and dtypes.

Most meta kernels of pointwise ops are Python references costing 0.2-3 ms a
call (``gelu`` 1.7 ms, ``relu`` 1 ms, ``mul`` 0.7 ms on a 1x128x768 tensor),
which is most of a transformer's capture time. The output of a pointwise op
on a float tensor has the input's shape, dtype and layout; a shortcut
returns it only where that is certain (contiguous or channels-last inputs,
floating-point dtypes, plain scalars) and leaves every other case to the
kernel. Where an op can refuse its operands (broadcasting, in-place results,
``cat``'s sizes), the shortcut raises the CPU kernel's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def sizes(t: torch.Tensor | tuple) -> str:
    return "[" + ", ".join(str(d) for d in (t.shape if isinstance(t, torch.Tensor) else t)) + "]"


# c10's ScalarType names and C type names, as the CPU kernels' messages print dtypes
_SCALAR = {torch.float32: "Float", torch.float64: "Double", torch.float16: "Half", torch.bfloat16: "BFloat16",
           torch.int64: "Long", torch.int32: "Int", torch.int16: "Short", torch.int8: "Char",
           torch.uint8: "Byte", torch.bool: "Bool", torch.complex64: "ComplexFloat",
           torch.complex128: "ComplexDouble"}  # fmt: skip
C_TYPE = {torch.float32: "float", torch.float64: "double", torch.float16: "c10::Half",
           torch.bfloat16: "c10::BFloat16"}  # fmt: skip


def scalar_name(dtype: torch.dtype) -> str:
    return _SCALAR.get(dtype, str(dtype))


def memory_format(x: torch.Tensor) -> torch.memory_format:
    if (
        x.dim() == 4
        and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format


def empty_like(x: torch.Tensor) -> torch.Tensor:
    # torch.empty, not empty_like: empty_like's meta kernel is a Python decomposition
    return torch.empty(x.shape, dtype=x.dtype, device=x.device, memory_format=memory_format(x))


def vector(t: Any, n: int) -> bool:
    """``t`` is absent or a 1-d tensor of ``n`` elements (a norm's weight, bias, statistics)."""
    return t is None or (isinstance(t, torch.Tensor) and t.shape == (n,))


def arg(args: tuple, kwargs: dict, i: int, name: str) -> Any:
    return args[i] if len(args) > i else kwargs.get(name)


# --- elementwise ---------------------------------------------------------------------------------------
def device_of(*values: Any) -> torch.device:
    """Where the result lives: on meta if any operand is (a 0-d CPU tensor, a constant of the
    model, meets meta activations), else the first tensor's device."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    return next((t.device for t in tensors if t.device.type == "meta"), tensors[0].device)


def broadcast(a: torch.Tensor, b: Any) -> tuple[int, ...]:
    """The broadcast shape, or the CPU kernel's error (the meta kernel words it differently)."""
    if not isinstance(b, torch.Tensor):
        return tuple(a.shape)
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa == sb:
        return sa
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for i in range(n - 1, -1, -1):
        if sa[i] != sb[i] and sa[i] != 1 and sb[i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({sa[i]}) must match the size of tensor b ({sb[i]}) "
                f"at non-singleton dimension {i}"
            )
    return tuple(max(x, y) if min(x, y) else 0 for x, y in zip(sa, sb, strict=True))


def _binary(true_division: bool) -> Callable[[tuple, dict], Any]:
    """add/sub/mul/div: broadcast shape and promoted dtype (their meta kernels are Python refs)."""

    def shortcut(args: tuple, kwargs: dict) -> Any:
        if (
            len(args) != 2
            or set(kwargs) - {"alpha", "rounding_mode"}
            or not isinstance(args[0], torch.Tensor)
        ):
            return None
        a, b = args
        shape = broadcast(a, b)
        dtype = torch.result_type(a, b)
        if (
            true_division
            and kwargs.get("rounding_mode") is None
            and not (dtype.is_floating_point or dtype.is_complex)
        ):
            dtype = torch.get_default_dtype()
        return torch.empty(shape, dtype=dtype, device=device_of(a, b))

    return shortcut


def _inplace_unary(args: tuple, kwargs: dict) -> Any:
    """relu_, exp_...: the input itself (nothing changes on meta)."""
    return args[0]


def _inplace_binary(args: tuple, kwargs: dict) -> Any:
    """add_, mul_, clamp_...: the input itself, if the other operands broadcast to its shape and
    the result's dtype can be written into it (what the kernel checks)."""
    a = args[0]
    others = [v for v in (*args[1:], *kwargs.values()) if v is not None and not isinstance(v, str)]
    for b in others:
        if isinstance(b, torch.Tensor) and b.dtype == a.dtype and b.shape == a.shape:
            continue  # the common case (a residual ``out += identity``): nothing can fail
        shape = broadcast(a, b)
        if shape != tuple(a.shape):
            raise RuntimeError(
                f"output with shape {sizes(a)} doesn't match the broadcast shape {sizes(shape)}"
            )
        if isinstance(b, torch.Tensor | int | float | bool | complex):
            result = torch.result_type(a, b)
            if not torch.can_cast(result, a.dtype):
                raise RuntimeError(
                    f"result type {scalar_name(result)} can't be cast to the desired output type "
                    f"{scalar_name(a.dtype)}"
                )
    return a


def _same_layout(x: torch.Tensor) -> torch.Tensor | None:
    """A new tensor laid out as ``x`` (contiguous or channels-last), or None for other strides."""
    if x.is_contiguous():
        return torch.empty(x.shape, dtype=x.dtype, device=x.device)
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.empty(
            x.shape, dtype=x.dtype, device=x.device, memory_format=torch.channels_last
        )
    return None


def _scalars(values: Any) -> bool:
    return all(v is None or isinstance(v, int | float | bool | str) for v in values)


def _unary(args: tuple, kwargs: dict) -> Any:
    """relu, gelu, exp, pow(x, 2)...: on a float tensor, with only scalar arguments beside it
    (``clamp`` with tensor bounds broadcasts: left to the kernel)."""
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
        return None
    if not (_scalars(args[1:]) and _scalars(kwargs.values())):
        return None
    return _same_layout(x)


def _where(args: tuple, kwargs: dict) -> Any:
    """``where(cond, a, b)`` on tensors (one-argument ``where`` is ``nonzero``: not here)."""
    if len(args) != 3 or kwargs or not all(isinstance(t, torch.Tensor) for t in args):
        return None
    cond, a, b = args
    if cond.dtype != torch.bool:
        raise RuntimeError(
            "where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{scalar_name(cond.dtype)}"
        )
    if not (cond.is_contiguous() and a.is_contiguous() and b.is_contiguous()):
        return None
    shape = broadcast(torch.empty(broadcast(cond, a), device="meta"), b)
    return torch.empty(shape, dtype=torch.result_type(a, b), device=device_of(cond, a, b))


def _masked_fill(args: tuple, kwargs: dict) -> Any:
    """``masked_fill(x, mask, value)``: ``x``'s shape when the boolean mask broadcasts to it."""
    x, mask = args[0], args[1]
    if kwargs or not isinstance(mask, torch.Tensor) or not x.is_contiguous():
        return None
    if mask.dtype != torch.bool:
        raise RuntimeError(
            "masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{C_TYPE.get(mask.dtype, str(mask.dtype).removeprefix('torch.'))}"
        )
    if broadcast(x, mask) != tuple(x.shape):
        return None
    value = args[2] if len(args) > 2 else None
    if isinstance(value, torch.Tensor) and value.dim() != 0:
        return None
    return torch.empty(x.shape, dtype=x.dtype, device=x.device)


def _reduce(args: tuple, kwargs: dict) -> Any:
    """mean/sum/amax over ``dim`` of a float tensor (keepdim, no dtype): the reduced shape."""
    x, dims = args[0], arg(args, kwargs, 1, "dim")
    keep = bool(arg(args, kwargs, 2, "keepdim"))
    if set(kwargs) - {"dim", "keepdim"} or len(args) > 3 or not x.dtype.is_floating_point:
        return None
    rank = x.dim()
    dims = [dims] if isinstance(dims, int) else list(dims or ())
    if not dims or rank == 0 or any(not -rank <= d < rank for d in dims):
        return None  # all dims, scalars, out of range: the kernel
    axes = {d % rank for d in dims}
    if len(axes) != len(dims):
        return None  # a dim twice: the kernel's error
    if keep:
        shape = [1 if i in axes else n for i, n in enumerate(x.shape)]
    else:
        shape = [n for i, n in enumerate(x.shape) if i not in axes]
    return torch.empty(shape, dtype=x.dtype, device=x.device)


def _cat(args: tuple, kwargs: dict) -> Any:
    """``cat`` of contiguous tensors of one dtype and rank: sizes added along ``dim``, the others
    equal (the CPU kernel's message if not)."""
    tensors, dim = args[0], arg(args, kwargs, 1, "dim") or 0
    if not tensors or set(kwargs) - {"dim"}:
        return None
    first = tensors[0]
    rank, dtype = first.dim(), first.dtype
    if rank == 0 or not -rank <= dim < rank:
        return None
    dim %= rank
    total = 0
    for i, t in enumerate(tensors):
        if t.dim() != rank or t.dtype != dtype or not t.is_contiguous():
            return None
        for d in range(rank):
            if d != dim and t.shape[d] != first.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size "
                    f"{first.shape[d]} but got size {t.shape[d]} for tensor number {i} in the list."
                )
        total += t.shape[dim]
    shape = list(first.shape)
    shape[dim] = total
    return torch.empty(shape, dtype=dtype, device=first.device)


_UNARY = ("relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "hardtanh",
          "leaky_relu", "elu", "celu", "selu", "mish", "softplus", "neg", "abs", "exp", "log", "sqrt",
          "rsqrt", "reciprocal", "erf", "sin", "cos", "pow", "clamp", "clamp_min", "clamp_max")  # fmt: skip
_INPLACE_UNARY = ("relu_", "relu6_", "hardtanh_", "leaky_relu_", "elu_", "silu_", "gelu_", "sigmoid_",
                  "tanh_", "hardswish_", "hardsigmoid_", "mish_", "neg_", "exp_", "sqrt_", "rsqrt_")  # fmt: skip
_INPLACE_BINARY = ("add_", "sub_", "mul_", "div_", "clamp_", "clamp_min_", "clamp_max_")


POINTWISE: dict[str, Callable[[tuple, dict], Any]] = {
    **dict.fromkeys(_UNARY, _unary),
    "where": _where,
    "masked_fill": _masked_fill,
    **dict.fromkeys(("mean", "sum", "amax", "amin"), _reduce),
    "cat": _cat,
    **dict.fromkeys(("add", "sub", "mul"), _binary(False)),
    "div": _binary(True),
    **dict.fromkeys(_INPLACE_UNARY, _inplace_unary),
    **dict.fromkeys(_INPLACE_BINARY, _inplace_binary),
}
