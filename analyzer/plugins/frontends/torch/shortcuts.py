"""Output tensors of common ops on meta, without running their meta kernels.

Several meta kernels are Python decompositions (batch_norm's costs ~5 ms on
ResNet-50 sizes); the capture only needs the result's shape, dtype and
strides, which for these ops are the input's. In-place elementwise ops on
meta change nothing, so they return their first argument. ``None`` means
"run the op".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def _like_input(args: tuple, kwargs: dict) -> Any:
    # torch.empty, not empty_like: empty_like's meta kernel is a Python decomposition
    x = args[0] if args else next(iter(kwargs.values()))
    return torch.empty(x.shape, dtype=x.dtype, device=x.device, memory_format=_format(x))


def _format(x: torch.Tensor) -> torch.memory_format:
    if (
        x.dim() == 4
        and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format


def _self(args: tuple, kwargs: dict) -> Any:
    return args[0]


def _conv(args: tuple, kwargs: dict) -> Any:
    """conv1d/2d/3d with explicit integer padding: the output size formula, no Python meta kernel."""
    x, w = args[0], args[1]
    stride, padding, dilation, groups = (list(args[3:7]) + [None] * 4)[:4]
    if isinstance(padding, str) or kwargs or x.dim() != w.dim():
        return None
    nd = w.dim() - 2
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
        shape = torch.broadcast_shapes(a.shape, b.shape) if isinstance(b, torch.Tensor) else a.shape
        dtype = torch.result_type(a, b)
        if (
            true_division
            and kwargs.get("rounding_mode") is None
            and not (dtype.is_floating_point or dtype.is_complex)
        ):
            dtype = torch.get_default_dtype()
        return torch.empty(shape, dtype=dtype, device=a.device)

    return shortcut


def _sdpa(args: tuple, kwargs: dict) -> Any:
    q, v = args[0], args[2]
    return torch.empty((*q.shape[:-1], v.shape[-1]), dtype=q.dtype, device=q.device)


_SAME_AS_INPUT = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm")
_INPLACE = ("relu_", "relu6_", "hardtanh_", "leaky_relu_", "elu_", "silu_", "gelu_", "sigmoid_", "tanh_",
            "hardswish_", "hardsigmoid_", "mish_", "add_", "sub_", "mul_", "div_", "clamp_", "clamp_min_",
            "clamp_max_", "neg_", "exp_", "sqrt_", "rsqrt_")  # fmt: skip

SHORTCUTS: dict[str, Callable[[tuple, dict], Any]] = {
    **dict.fromkeys(("conv1d", "conv2d", "conv3d"), _conv),
    **dict.fromkeys(("add", "sub", "mul"), _binary(False)),
    "div": _binary(True),
    "scaled_dot_product_attention": _sdpa,
    **dict.fromkeys(_SAME_AS_INPUT, _like_input),
    **dict.fromkeys(_INPLACE, _self),
}
