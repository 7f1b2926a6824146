"""Output tensors of common ops on meta, without running their meta kernels.

Several meta kernels are Python decompositions (batch_norm's costs ~5 ms on
ResNet-50 sizes); the capture only needs the result's shape, dtype and
strides. ``None`` means "run the op".

A shortcut must refuse what the CPU kernel refuses, or a wrong model
(``Conv2d(3, 8, 3)`` fed 4 channels) gives numbers instead of an error. So
each one checks what its kernel checks: where the meta kernel's check and
message are PyTorch's own (norms, broadcasting, attention), the shortcut
returns ``None`` on any mismatch and lets that kernel raise; where the meta
kernel checks less than the CPU kernel (convolution: bias size, groups,
dtypes; ``_grouped_mm``, whose meta kernel is CUDA's), the shortcut raises
the CPU kernel's message itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def _sizes(t: torch.Tensor | tuple) -> str:
    return "[" + ", ".join(str(d) for d in (t.shape if isinstance(t, torch.Tensor) else t)) + "]"


# c10's ScalarType names and C type names, as the CPU kernels' messages print dtypes
_SCALAR = {torch.float32: "Float", torch.float64: "Double", torch.float16: "Half", torch.bfloat16: "BFloat16",
           torch.int64: "Long", torch.int32: "Int", torch.int16: "Short", torch.int8: "Char",
           torch.uint8: "Byte", torch.bool: "Bool", torch.complex64: "ComplexFloat",
           torch.complex128: "ComplexDouble"}  # fmt: skip
_C_TYPE = {torch.float32: "float", torch.float64: "double", torch.float16: "c10::Half",
           torch.bfloat16: "c10::BFloat16"}  # fmt: skip


def _scalar(dtype: torch.dtype) -> str:
    return _SCALAR.get(dtype, str(dtype))


def _format(x: torch.Tensor) -> torch.memory_format:
    if (
        x.dim() == 4
        and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format


def _empty_like(x: torch.Tensor) -> torch.Tensor:
    # torch.empty, not empty_like: empty_like's meta kernel is a Python decomposition
    return torch.empty(x.shape, dtype=x.dtype, device=x.device, memory_format=_format(x))


def _vector(t: Any, n: int) -> bool:
    """``t`` is absent or a 1-d tensor of ``n`` elements (a norm's weight, bias, statistics)."""
    return t is None or (isinstance(t, torch.Tensor) and t.shape == (n,))


def _arg(args: tuple, kwargs: dict, i: int, name: str) -> Any:
    return args[i] if len(args) > i else kwargs.get(name)


# --- convolution ------------------------------------------------------------------------------
def _check_conv(x: torch.Tensor, w: torch.Tensor, b: Any, groups: int, nd: int) -> bool:
    """The CPU kernel's checks (aten/src/ATen/native/Convolution.cpp), raised with its messages.

    True when the input is batched. The meta kernel checks only the channels,
    with a terser message, and not the bias, the groups or the dtypes.
    """
    xs, ws = tuple(x.shape), tuple(w.shape)
    if len(xs) not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to conv{nd}d, "
            f"but got input of size: {_sizes(xs)}"
        )
    batched = len(xs) == nd + 2
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if ws[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{_sizes(ws)}] instead"
        )
    channels = xs[1 if batched else 0]
    if channels != ws[1] * groups:
        shown = _sizes(xs if batched else (1, *xs))  # PyTorch reports the batched shape
        raise RuntimeError(
            f"Given groups={groups}, weight of size {_sizes(ws)}, expected input{shown} to have "
            f"{ws[1] * groups} channels, but got {channels} channels instead"
        )
    dtype = x.dtype
    if b is not None:
        if b.shape != (ws[0],):
            raise RuntimeError(
                f"Given weight of size {_sizes(ws)}, expected bias to be 1-dimensional with "
                f"{ws[0]} elements, but got bias of size {_sizes(b)} instead"
            )
        if b.dtype != dtype:
            c_type = _C_TYPE.get
            raise RuntimeError(
                f"Input type ({c_type(dtype, dtype)}) and bias type ({c_type(b.dtype, b.dtype)}) "
                "should be the same"
            )
    if w.dtype != dtype:
        raise RuntimeError(f"expected scalar type {_scalar(dtype)} but found {_scalar(w.dtype)}")
    return batched


def _conv(args: tuple, kwargs: dict) -> Any:
    """conv1d/2d/3d with explicit integer padding: the output size formula, no Python meta kernel."""
    x, w = args[0], args[1]
    stride, padding, dilation, groups = (list(args[3:7]) + [None] * 4)[:4]
    if kwargs or not isinstance(w, torch.Tensor):
        return None
    nd = w.dim() - 2
    batched = _check_conv(x, w, args[2] if len(args) > 2 else None, int(groups or 1), nd)
    if isinstance(padding, str) or not batched:
        return None  # the meta kernel sizes "same"/"valid" and unbatched inputs
    stride, padding, dilation = (
        v if v is not None else d for v, d in ((stride, [1]), (padding, [0]), (dilation, [1]))
    )
    stride, padding, dilation = (
        [int(e) for e in v] * (nd if len(v) == 1 else 1) for v in (stride, padding, dilation)
    )
    sizes = [
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation, strict=True)
    ]
    if min(sizes) <= 0:
        return None  # let PyTorch raise its own error
    return torch.empty(
        (x.shape[0], w.shape[0], *sizes), dtype=x.dtype, device=x.device, memory_format=_format(x)
    )


# --- normalization: same shape as the input, once the parameters fit it ---------------------------
def _layer_norm(args: tuple, kwargs: dict) -> Any:
    """layer_norm: ``normalized_shape`` ends the input; weight and bias have it (the CPU
    kernel's messages: the meta kernel words them differently)."""
    x, shape = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "normalized_shape")
    shape = tuple(shape or ())
    if not shape:
        return None
    for i, name in ((2, "weight"), (3, "bias")):
        t = _arg(args, kwargs, i, name)
        if isinstance(t, torch.Tensor) and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{_sizes(t)} and normalized_shape = {_sizes(shape)}"
            )
    if x.dim() < len(shape) or tuple(x.shape[x.dim() - len(shape) :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={_sizes(shape)}, expected input with shape "
            f"{_sizes(('*', *shape))}, but got input of size{_sizes(x)}"
        )
    return _empty_like(x)


def _rms_norm(args: tuple, kwargs: dict) -> Any:
    """rms_norm: as layer_norm, without a bias (the meta kernel's messages are the CPU's)."""
    x, shape = (
        _arg(args, kwargs, 0, "input"),
        tuple(_arg(args, kwargs, 1, "normalized_shape") or ()),
    )
    w = _arg(args, kwargs, 2, "weight")
    if not shape or x.dim() < len(shape) or tuple(x.shape[x.dim() - len(shape) :]) != shape:
        return None
    if isinstance(w, torch.Tensor) and tuple(w.shape) != shape:
        return None
    return _empty_like(x)


def _batch_norm(args: tuple, kwargs: dict) -> Any:
    """batch_norm and instance_norm: weight, bias and running statistics have one value per channel."""
    x = _arg(args, kwargs, 0, "input")
    if x.dim() < 2:
        return None
    names = ("weight", "bias", "running_mean", "running_var")
    c = x.shape[1]
    if all(_vector(_arg(args, kwargs, i + 1, n), c) for i, n in enumerate(names)):
        return _empty_like(x)
    return None


def _group_norm(args: tuple, kwargs: dict) -> Any:
    x, groups = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "num_groups")
    if x.dim() < 2 or not isinstance(groups, int) or groups <= 0 or x.shape[1] % groups:
        return None
    c = x.shape[1]
    if _vector(_arg(args, kwargs, 2, "weight"), c) and _vector(_arg(args, kwargs, 3, "bias"), c):
        return _empty_like(x)
    return None


# --- elementwise ---------------------------------------------------------------------------------------
def _broadcast(a: torch.Tensor, b: Any) -> tuple[int, ...]:
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
        shape = _broadcast(a, b)
        dtype = torch.result_type(a, b)
        if (
            true_division
            and kwargs.get("rounding_mode") is None
            and not (dtype.is_floating_point or dtype.is_complex)
        ):
            dtype = torch.get_default_dtype()
        return torch.empty(shape, dtype=dtype, device=a.device)

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
        shape = _broadcast(a, b)
        if shape != tuple(a.shape):
            raise RuntimeError(
                f"output with shape {_sizes(a)} doesn't match the broadcast shape {_sizes(shape)}"
            )
        if isinstance(b, torch.Tensor | int | float | bool | complex):
            result = torch.result_type(a, b)
            if not torch.can_cast(result, a.dtype):
                raise RuntimeError(
                    f"result type {_scalar(result)} can't be cast to the desired output type "
                    f"{_scalar(a.dtype)}"
                )
    return a


# --- attention --------------------------------------------------------------------------------------
def _sdpa(args: tuple, kwargs: dict) -> Any:
    """(..., L, E) x (..., S, E) x (..., S, Ev) -> (..., L, Ev), when the operands fit each other
    (batch dims equal; with ``enable_gqa``, query heads a multiple of key heads) and the mask
    broadcasts to (..., L, S)."""
    q, k, v = args[0], args[1], args[2]
    mask, causal = _arg(args, kwargs, 3, "attn_mask"), _arg(args, kwargs, 5, "is_causal")
    if q.dim() < 2 or not q.dim() == k.dim() == v.dim() or q.dtype != k.dtype or k.dtype != v.dtype:
        return None
    if mask is not None and (causal or mask.dtype not in (torch.bool, q.dtype)):
        return None
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2] or k.shape[:-2] != v.shape[:-2]:
        return None
    if q.shape[:-2] != k.shape[:-2]:
        heads_ok = (
            _arg(args, kwargs, 7, "enable_gqa")
            and q.dim() >= 3
            and q.shape[:-3] == k.shape[:-3]
            and q.shape[-3] % k.shape[-3] == 0
        )
        if not heads_ok:
            return None
    if isinstance(mask, torch.Tensor):
        full = (*q.shape[:-1], k.shape[-2])
        try:
            if _broadcast(torch.empty(full, device="meta"), mask) != full:
                return None
        except RuntimeError:
            return None
    return torch.empty((*q.shape[:-1], v.shape[-1]), dtype=q.dtype, device=q.device)


# --- grouped matmul ----------------------------------------------------------------------------------
_GROUPED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _aligned(t: torch.Tensor) -> bool:
    """The kernels' layout rule: one of the last two dims is contiguous, the other's stride a
    multiple of 16 bytes."""
    (s0, s1), (n0, n1), align = t.stride()[-2:], t.shape[-2:], 16 // t.element_size()
    if s0 == 1 and s1 >= max(1, n0):
        return s1 % align == 0
    return s1 == 1 and s0 >= max(1, n1) and s0 % align == 0


def _grouped_mm(args: tuple, kwargs: dict) -> Any:
    """``torch._grouped_mm``: its meta kernel is CUDA's (bf16 only), but the CPU kernel runs
    float32, float16 and bfloat16 (transformers' MoE experts on CPU). The CPU kernel's checks,
    in its order, with its messages, then the output shape."""
    a, b = _arg(args, kwargs, 0, "self"), _arg(args, kwargs, 1, "mat2")
    offs = _arg(args, kwargs, 2, "offs")
    if _arg(args, kwargs, 3, "bias") is not None or _arg(args, kwargs, 4, "out_dtype") is not None:
        return None
    for name, t in (("mat_a", a), ("mat_b", b)):
        if t.dtype not in _GROUPED_DTYPES:
            raise RuntimeError(
                f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got {_scalar(t.dtype)}"
            )
    if a.dim() not in (2, 3) or b.dim() not in (2, 3):
        raise RuntimeError(
            f"Multiplicands must be 2D or 3D but got mat_a.dim()={a.dim()} and mat_b.dim()={b.dim()}"
        )
    if (a.dim() == 3 or b.dim() == 3) and a.shape[-1] != b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if not (_aligned(a) and _aligned(b)):
        raise RuntimeError("strides should be multiple of 16 bytes")
    if a.dtype != b.dtype:
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{_C_TYPE.get(a.dtype, a.dtype)} != {_C_TYPE.get(b.dtype, b.dtype)}"
        )
    if (offs is None) != (a.dim() == 3 and b.dim() == 3):
        raise RuntimeError(
            "Have to provide offsets if there is a 2d matrix, or no offset if both matrices are 3d"
        )
    if offs is not None and offs.dim() != 1:
        raise RuntimeError("offs has to be 1D")
    if offs is not None and offs.dtype != torch.int32:
        raise RuntimeError("Offsets have to be int32")
    if a.dim() == 2 and b.dim() == 2:
        shape: tuple[int, ...] = (offs.shape[0], a.shape[0], b.shape[1])
    elif a.dim() == 2 or b.dim() == 2:
        if offs.shape[0] != (b.shape[0] if a.dim() == 2 else a.shape[0]):
            raise RuntimeError("matrix batch sizes have to match")
        shape = (a.shape[0], b.shape[-1]) if a.dim() == 2 else (a.shape[1], b.shape[1])
    else:
        if a.shape[0] != b.shape[0]:
            raise RuntimeError("batched dimension has to match")
        shape = (a.shape[0], a.shape[1], b.shape[-1])
    return torch.empty(shape, dtype=a.dtype, device=a.device)


_INPLACE_UNARY = ("relu_", "relu6_", "hardtanh_", "leaky_relu_", "elu_", "silu_", "gelu_", "sigmoid_",
                  "tanh_", "hardswish_", "hardsigmoid_", "mish_", "neg_", "exp_", "sqrt_", "rsqrt_")  # fmt: skip
_INPLACE_BINARY = ("add_", "sub_", "mul_", "div_", "clamp_", "clamp_min_", "clamp_max_")

SHORTCUTS: dict[str, Callable[[tuple, dict], Any]] = {
    **dict.fromkeys(("conv1d", "conv2d", "conv3d"), _conv),
    **dict.fromkeys(("add", "sub", "mul"), _binary(False)),
    "div": _binary(True),
    "scaled_dot_product_attention": _sdpa,
    "_grouped_mm": _grouped_mm,
    "layer_norm": _layer_norm,
    "rms_norm": _rms_norm,
    **dict.fromkeys(("batch_norm", "instance_norm"), _batch_norm),
    "group_norm": _group_norm,
    **dict.fromkeys(_INPLACE_UNARY, _inplace_unary),
    **dict.fromkeys(_INPLACE_BINARY, _inplace_binary),
}
