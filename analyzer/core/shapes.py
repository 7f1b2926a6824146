"""Shape arithmetic shared by the builder and the frontends."""

from __future__ import annotations

import math
from collections.abc import Sequence

from analyzer.core.ir import Shape

Padding = tuple[tuple[int, int], ...]


def broadcast_shapes(*shapes: Shape) -> Shape:
    """numpy broadcasting of ``shapes``; raises ValueError when they do not broadcast."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        dims = {s[len(s) - ndim + i] for s in shapes if len(s) - ndim + i >= 0}
        if len(dims) > 1:
            dims.discard(1)
        if len(dims) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def ntuple(value: int | Sequence[int], n: int, what: str = "value") -> tuple[int, ...]:
    """``3`` -> ``(3, 3)``; a sequence must already have ``n`` entries."""
    if isinstance(value, int):
        return (value,) * n
    t = tuple(int(v) for v in value)
    if len(t) != n:
        raise ValueError(f"{what} {value!r} should have {n} entries")
    return t


def resolve_padding(
    padding: str | int | Sequence[int] | Sequence[Sequence[int]],
    in_sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> Padding:
    """Explicit (lo, hi) padding per spatial dim.

    ``"valid"`` is no padding; ``"same"`` is TensorFlow/XLA's rule (output
    ``ceil(in / stride)``, the odd pixel of padding goes at the end).
    """
    n = len(in_sizes)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * n
        if mode != "same":
            raise ValueError(f"unknown padding {padding!r}")
        pads = []
        for size, k, s, d in zip(in_sizes, kernel, stride, dilation, strict=True):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(padding, int):
        return ((padding, padding),) * n
    items = list(padding)
    if len(items) != n:
        raise ValueError(f"padding {padding!r} should have {n} entries")
    if all(isinstance(p, int) for p in items):
        return tuple((int(p), int(p)) for p in items)
    return tuple((int(lo), int(hi)) for lo, hi in items)


def conv_output_size(
    size: int, kernel: int, stride: int, pad: tuple[int, int], dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Output length of a convolution or pooling window along one dim."""
    span = size + pad[0] + pad[1] - dilation * (kernel - 1) - 1
    if span < 0:
        raise ValueError(f"window {kernel} (dilation {dilation}) does not fit input {size} with padding {pad}")
    if not ceil_mode:
        return span // stride + 1
    out = math.ceil(span / stride) + 1
    # PyTorch: the last window must start inside the input or left padding.
    if (out - 1) * stride >= size + pad[0]:
        out -= 1
    return out


def conv_transpose_output_size(
    size: int, kernel: int, stride: int, pad: tuple[int, int], dilation: int = 1, output_padding: int = 0
) -> int:
    return (size - 1) * stride - pad[0] - pad[1] + dilation * (kernel - 1) + output_padding + 1
