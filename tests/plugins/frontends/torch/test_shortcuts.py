"""The meta trace's shortcuts (shortcuts.py, pointwise.py) against PyTorch's own kernels.

A shortcut must return what the CPU kernel returns (shape, dtype, strides)
or ``None``, and refuse what the CPU kernel refuses with its message; the
calls below cover contiguous, channels-last, transposed, broadcast and
mixed-dtype operands.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")

from analyzer.plugins.frontends.torch.shortcuts import SHORTCUTS  # noqa: E402

aten = torch.ops.aten


def m(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta")


def cl(*shape: int) -> torch.Tensor:
    return m(*shape).contiguous(memory_format=torch.channels_last)


# (ATen overload, args, kwargs): every one is valid for PyTorch
VALID: list[tuple[object, tuple, dict]] = [
    (aten.relu.default, (m(2, 3),), {}),
    (aten.relu.default, (cl(1, 4, 5, 5),), {}),
    (aten.relu.default, (m(3, 2).t(),), {}),  # transposed: left to the kernel
    (aten.relu.default, (m(2, 3, dtype=torch.int64),), {}),
    (aten.gelu.default, (m(1, 8, 16),), {"approximate": "tanh"}),
    (aten.silu.default, (m(2, 3, dtype=torch.bfloat16),), {}),
    (aten.pow.Tensor_Scalar, (m(4, 4), 2), {}),
    (aten.pow.Tensor_Tensor, (m(4, 4), m(4, 1)), {}),
    (aten.clamp.default, (m(4, 4), 0.0, 1.0), {}),
    (aten.clamp.Tensor, (m(4, 4), m(4, 1)), {}),
    (aten.leaky_relu.default, (m(4, 4), 0.2), {}),
    (aten.hardtanh.default, (m(4, 4), -2.0, 2.0), {}),
    (aten.where.self, (m(1, 4, dtype=torch.bool), m(3, 1), m(3, 4, dtype=torch.float16)), {}),
    (aten.masked_fill.Scalar, (m(2, 4, 4), m(1, 4, dtype=torch.bool), -1e9), {}),
    (aten.mean.dim, (m(2, 3, 4), [-1], True), {}),
    (aten.mean.dim, (m(2, 3, 4), [0, 2]), {}),
    (aten.sum.dim_IntList, (m(2, 3, 4), [1]), {}),
    (aten.sum.dim_IntList, (m(2, 3, dtype=torch.int32), [1]), {}),
    (aten.amax.default, (m(2, 3, 4), [1], False), {}),
    (aten.cat.default, ([m(2, 4), m(3, 4)],), {}),
    (aten.cat.default, ([m(2, 4), m(2, 1)], -1), {}),
    (aten.cat.default, ([m(2, 4), m(2, 4, dtype=torch.float16)], 0), {}),
    (aten.add.Tensor, (m(2, 1, 4), m(3, 1)), {}),
    (aten.div.Tensor, (m(2, 4, dtype=torch.int64), 2), {}),
    (aten.linear.default, (m(2, 5, 8), m(3, 8), m(3)), {}),
    (aten.addmm.default, (m(3), m(4, 8), m(8, 3)), {}),
    (aten.conv2d.default, (cl(1, 4, 8, 8), m(6, 2, 3, 3), m(6), [1, 1], [1, 1], [1, 1], 2), {}),
    (aten.layer_norm.default, (m(2, 5, 8), [5, 8], m(5, 8), m(5, 8)), {}),
]


def _key(op: object) -> str:
    return op._schema.name.split("::")[1]  # type: ignore[attr-defined]


def cpu(value: object) -> object:
    """The same operand on the CPU (same shape, dtype and strides), zero-filled."""
    if isinstance(value, list):
        return [cpu(v) for v in value]
    if isinstance(value, torch.Tensor):
        return torch.zeros_like(torch.empty_strided(value.shape, value.stride(), dtype=value.dtype))
    return value


@pytest.mark.parametrize("case", range(len(VALID)))
def test_a_shortcut_returns_what_the_kernel_returns(case: int) -> None:
    op, args, kwargs = VALID[case]
    shortcut = SHORTCUTS.get(_key(op))
    assert shortcut is not None, _key(op)
    out = shortcut(args, kwargs)
    if out is None:
        return  # left to the kernel
    expected = op(*cpu(list(args)), **kwargs)
    assert (out.shape, out.dtype, out.stride()) == (
        expected.shape,
        expected.dtype,
        expected.stride(),
    )


# (ATen overload, args): PyTorch's CPU kernel refuses each
INVALID: list[tuple[object, tuple]] = [
    (aten.where.self, (m(2, 3), m(2, 3), m(2, 3))),
    (aten.masked_fill.Scalar, (m(2, 3), m(2, 3), 1.0)),
    (aten.cat.default, ([m(2, 4), m(3, 3)], 1)),
    (aten.add.Tensor, (m(2, 4), m(2, 3))),
    (aten.add_.Tensor, (m(2, 1), m(2, 3))),
    (aten.mul_.Tensor, (m(2, 3, dtype=torch.int32), m(2, 3))),
    (aten.linear.default, (m(2, 3, 32), m(8, 64))),
    (aten.addmm.default, (m(7), m(2, 64), m(64, 8))),
    (
        aten.scaled_dot_product_attention.default,
        (m(1, 2, 4, 8), m(1, 2, 5, 8), m(1, 2, 5, 8), m(4, 6)),
    ),
]


@pytest.mark.parametrize("case", range(len(INVALID)))
def test_a_shortcut_refuses_with_the_cpu_kernels_message(case: int) -> None:
    op, args = INVALID[case]
    cpu_args = tuple(
        [cpu(t) for t in a] if isinstance(a, list) else cpu(a) if isinstance(a, torch.Tensor) else a
        for a in args
    )
    with pytest.raises(RuntimeError) as real:
        op(*cpu_args)
    with pytest.raises(RuntimeError) as ours:
        SHORTCUTS[_key(op).rstrip("_") if _key(op) not in SHORTCUTS else _key(op)](args, {})
    assert str(ours.value) == str(real.value).splitlines()[0]


def test_shortcuts_cover_the_slow_meta_kernels() -> None:
    """The ops whose meta kernels cost most of a transformer's capture have a shortcut."""
    slow: list[tuple[str, Callable[[], object]]] = [
        ("gelu", lambda: SHORTCUTS["gelu"]((m(1, 128, 768),), {})),
        ("addmm", lambda: SHORTCUTS["addmm"]((m(3072), m(128, 768), m(768, 3072)), {})),
        ("layer_norm", lambda: SHORTCUTS["layer_norm"]((m(1, 128, 768), [768], None, None), {})),
    ]
    for name, call in slow:
        assert call() is not None, name


def test_a_cpu_scalar_constant_meeting_meta_gives_meta() -> None:
    """``torch.tensor(2.0) * x``: the constant stays a 0-d CPU tensor on the meta trace; the
    result must be on meta as the kernel's is, never a full-size CPU allocation."""
    two, x = torch.tensor(2.0), m(1, 3, 64, 64)
    cond = m(1, 3, 64, 64, dtype=torch.bool)
    for key, args in (("mul", (two, x)), ("add", (x, two)), ("where", (cond, two, x))):
        assert SHORTCUTS[key](args, {}).device.type == "meta", key
