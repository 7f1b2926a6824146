"""Output tensors of common ops on meta, without running their meta kernels.

Several meta kernels are Python decompositions (batch_norm's costs ~5 ms on
ResNet-50 sizes); the capture only needs the result's shape, dtype and
strides. ``None`` means "run the op".

A shortcut must refuse what the CPU kernel refuses, or a wrong model
(``Conv2d(3, 8, 3)`` fed 4 channels) gives numbers instead of an error. So
each one checks what its kernel checks, with the CPU kernel's message where
the meta kernel checks less or words it differently (convolution: bias size,
groups, dtypes; linear and addmm; layer_norm; broadcasting; ``_grouped_mm``,
whose meta kernel is CUDA's), and returns ``None`` to let the meta kernel
raise where its message is the CPU's (batch, group and RMS norms, attention).
Elementwise ops, reductions and ``cat`` are in ``pointwise.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from analyzer.plugins.frontends.torch.pointwise import (
    C_TYPE,
    POINTWISE,
    arg,
    broadcast,
    empty_like,
    memory_format,
    scalar_name,
    sizes,
    vector,
)


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
            f"but got input of size: {sizes(xs)}"
        )
    batched = len(xs) == nd + 2
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if ws[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{sizes(ws)}] instead"
        )
    channels = xs[1 if batched else 0]
    if channels != ws[1] * groups:
        shown = sizes(xs if batched else (1, *xs))  # PyTorch reports the batched shape
        raise RuntimeError(
            f"Given groups={groups}, weight of size {sizes(ws)}, expected input{shown} to have "
            f"{ws[1] * groups} channels, but got {channels} channels instead"
        )
    dtype = x.dtype
    if b is not None:
        if b.shape != (ws[0],):
            raise RuntimeError(
                f"Given weight of size {sizes(ws)}, expected bias to be 1-dimensional with "
                f"{ws[0]} elements, but got bias of size {sizes(b)} instead"
            )
        if b.dtype != dtype:
            c_type = C_TYPE.get
            raise RuntimeError(
                f"Input type ({c_type(dtype, dtype)}) and bias type ({c_type(b.dtype, b.dtype)}) "
                "should be the same"
            )
    if w.dtype != dtype:
        raise RuntimeError(
            f"expected scalar type {scalar_name(dtype)} but found {scalar_name(w.dtype)}"
        )
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
        (x.shape[0], w.shape[0], *sizes),
        dtype=x.dtype,
        device=x.device,
        memory_format=memory_format(x),
    )


# --- linear and addmm: their meta kernels are Python decompositions (~1 ms an addmm) --------------
def _check_matrix_dtypes(bias: Any, m1: torch.Tensor, m2: torch.Tensor) -> None:
    """addmm's dtype checks, in its order: the bias against mat2, then mat1 against mat2."""
    if isinstance(bias, torch.Tensor) and bias.dtype != m2.dtype:
        raise RuntimeError(
            f"self and mat2 must have the same dtype, but got {scalar_name(bias.dtype)} and "
            f"{scalar_name(m2.dtype)}"
        )
    if m1.dtype != m2.dtype:
        c_type = C_TYPE.get
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{c_type(m1.dtype, m1.dtype)} != {c_type(m2.dtype, m2.dtype)}"
        )


def _check_expand(bias: Any, target: tuple[int, ...]) -> bool:
    """The bias expands to ``target`` (PyTorch's message if not); False: a layout to leave to
    the kernel."""
    if not isinstance(bias, torch.Tensor):
        return bias is None
    shape = tuple(bias.shape)
    if len(shape) > len(target):
        return False
    for i in range(1, len(shape) + 1):
        if shape[-i] not in (1, target[-i]):
            raise RuntimeError(
                f"The expanded size of the tensor ({target[-i]}) must match the existing size "
                f"({shape[-i]}) at non-singleton dimension {len(target) - i}.  Target sizes: "
                f"{sizes(target)}.  Tensor sizes: {sizes(shape)}"
            )
    return True


def _linear(args: tuple, kwargs: dict) -> Any:
    """``F.linear``: x (..., in) @ weight(out, in).T + bias -> (..., out), checked as the CPU
    kernel (the matmul it runs) checks it."""
    x, w, b = args[0], args[1], arg(args, kwargs, 2, "bias")
    if x.dim() < 2 or w.dim() != 2 or not x.dtype.is_floating_point:
        return None
    rows = math.prod(x.shape[:-1])
    if x.shape[-1] != w.shape[1]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} and "
            f"{w.shape[1]}x{w.shape[0]})"
        )
    _check_matrix_dtypes(b, x, w)
    if b is not None and (b.dim() != 1 or not _check_expand(b, (rows, w.shape[0]))):
        return None
    return torch.empty((*x.shape[:-1], w.shape[0]), dtype=x.dtype, device=x.device)


def _addmm(args: tuple, kwargs: dict) -> Any:
    """``addmm(bias, mat1, mat2)`` (GPT-2's Conv1D, decomposed linears): (m, k) @ (k, n) + bias."""
    bias, m1, m2 = args[0], args[1], args[2]
    if set(kwargs) - {"beta", "alpha"} or not m1.dtype.is_floating_point:
        return None
    for name, m in (("mat1", m1), ("mat2", m2)):
        if m.dim() != 2:
            raise RuntimeError(f"{name} must be a matrix, got {m.dim()}-D tensor")
    if m1.shape[1] != m2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({m1.shape[0]}x{m1.shape[1]} and "
            f"{m2.shape[0]}x{m2.shape[1]})"
        )
    _check_matrix_dtypes(bias, m1, m2)
    if not _check_expand(bias, (m1.shape[0], m2.shape[1])):
        return None
    return torch.empty((m1.shape[0], m2.shape[1]), dtype=m1.dtype, device=m1.device)


# --- normalization: same shape as the input, once the parameters fit it ---------------------------
def _layer_norm(args: tuple, kwargs: dict) -> Any:
    """layer_norm: ``normalized_shape`` ends the input; weight and bias have it (the CPU
    kernel's messages: the meta kernel words them differently)."""
    x, shape = arg(args, kwargs, 0, "input"), arg(args, kwargs, 1, "normalized_shape")
    shape = tuple(shape or ())
    if not shape:
        return None
    for i, name in ((2, "weight"), (3, "bias")):
        t = arg(args, kwargs, i, name)
        if isinstance(t, torch.Tensor) and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{sizes(t)} and normalized_shape = {sizes(shape)}"
            )
    if x.dim() < len(shape) or tuple(x.shape[x.dim() - len(shape) :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={sizes(shape)}, expected input with shape "
            f"{sizes(('*', *shape))}, but got input of size{sizes(x)}"
        )
    return empty_like(x)


def _rms_norm(args: tuple, kwargs: dict) -> Any:
    """rms_norm: as layer_norm, without a bias (the meta kernel's messages are the CPU's)."""
    x, shape = (
        arg(args, kwargs, 0, "input"),
        tuple(arg(args, kwargs, 1, "normalized_shape") or ()),
    )
    w = arg(args, kwargs, 2, "weight")
    if not shape or x.dim() < len(shape) or tuple(x.shape[x.dim() - len(shape) :]) != shape:
        return None
    if isinstance(w, torch.Tensor) and tuple(w.shape) != shape:
        return None
    return empty_like(x)


def _batch_norm(args: tuple, kwargs: dict) -> Any:
    """batch_norm and instance_norm: weight, bias and running statistics have one value per channel."""
    x = arg(args, kwargs, 0, "input")
    if x.dim() < 2:
        return None
    names = ("weight", "bias", "running_mean", "running_var")
    c = x.shape[1]
    if all(vector(arg(args, kwargs, i + 1, n), c) for i, n in enumerate(names)):
        return empty_like(x)
    return None


def _group_norm(args: tuple, kwargs: dict) -> Any:
    x, groups = arg(args, kwargs, 0, "input"), arg(args, kwargs, 1, "num_groups")
    if x.dim() < 2 or not isinstance(groups, int) or groups <= 0 or x.shape[1] % groups:
        return None
    c = x.shape[1]
    if vector(arg(args, kwargs, 2, "weight"), c) and vector(arg(args, kwargs, 3, "bias"), c):
        return empty_like(x)
    return None


# --- attention --------------------------------------------------------------------------------------
def _sdpa(args: tuple, kwargs: dict) -> Any:
    """(..., L, E) x (..., S, E) x (..., S, Ev) -> (..., L, Ev), when the operands fit each other
    (batch dims equal; with ``enable_gqa``, query heads a multiple of key heads) and the mask
    broadcasts to (..., L, S)."""
    q, k, v = args[0], args[1], args[2]
    mask, causal = arg(args, kwargs, 3, "attn_mask"), arg(args, kwargs, 5, "is_causal")
    if q.dim() < 2 or not q.dim() == k.dim() == v.dim() or q.dtype != k.dtype or k.dtype != v.dtype:
        return None
    if mask is not None and (causal or mask.dtype not in (torch.bool, q.dtype)):
        return None
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2] or k.shape[:-2] != v.shape[:-2]:
        return None
    if q.shape[:-2] != k.shape[:-2]:
        heads_ok = (
            arg(args, kwargs, 7, "enable_gqa")
            and q.dim() >= 3
            and q.shape[:-3] == k.shape[:-3]
            and q.shape[-3] % k.shape[-3] == 0
        )
        if not heads_ok:
            return None
    if isinstance(mask, torch.Tensor):
        full = (*q.shape[:-1], k.shape[-2])
        # a mask that does not broadcast: the CPU kernel's message (the meta kernel's differs)
        if broadcast(torch.empty(full, device="meta"), mask) != full:
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
    a, b = arg(args, kwargs, 0, "self"), arg(args, kwargs, 1, "mat2")
    offs = arg(args, kwargs, 2, "offs")
    if arg(args, kwargs, 3, "bias") is not None or arg(args, kwargs, 4, "out_dtype") is not None:
        return None
    for name, t in (("mat_a", a), ("mat_b", b)):
        if t.dtype not in _GROUPED_DTYPES:
            raise RuntimeError(
                f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got {scalar_name(t.dtype)}"
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
            f"{C_TYPE.get(a.dtype, a.dtype)} != {C_TYPE.get(b.dtype, b.dtype)}"
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


SHORTCUTS: dict[str, Callable[[tuple, dict], Any]] = {
    **dict.fromkeys(("conv1d", "conv2d", "conv3d"), _conv),
    "linear": _linear,
    "addmm": _addmm,
    "scaled_dot_product_attention": _sdpa,
    "_grouped_mm": _grouped_mm,
    "layer_norm": _layer_norm,
    "rms_norm": _rms_norm,
    **dict.fromkeys(("batch_norm", "instance_norm"), _batch_norm),
    "group_norm": _group_norm,
    **POINTWISE,
}
