"""Shape arithmetic (analyzer.core.shapes), checked against hand-worked PyTorch/TF rules."""

from __future__ import annotations

import pytest

from analyzer.core.shapes import (
    broadcast_shapes,
    conv_output_size,
    conv_transpose_output_size,
    ntuple,
    resolve_padding,
)


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        (((2, 3), (3,)), (2, 3)),
        (((2, 1, 5), (3, 1)), (2, 3, 5)),
        (((1,), (4, 1, 2)), (4, 1, 2)),
        (((), (2, 2)), (2, 2)),
        (((5, 4), (5, 4)), (5, 4)),
    ],
)
def test_broadcast(shapes, expected) -> None:
    assert broadcast_shapes(*shapes) == expected


def test_broadcast_mismatch() -> None:
    with pytest.raises(ValueError, match="do not broadcast"):
        broadcast_shapes((2, 3), (4, 3))


def test_ntuple() -> None:
    assert ntuple(3, 2) == (3, 3)
    assert ntuple((1, 2, 3), 3) == (1, 2, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        ntuple((1, 2), 3, "kernel_size")


def test_padding_forms() -> None:
    assert resolve_padding("valid", (7, 7), (3, 3), (1, 1), (1, 1)) == ((0, 0), (0, 0))
    assert resolve_padding(2, (7, 7), (3, 3), (1, 1), (1, 1)) == ((2, 2), (2, 2))
    assert resolve_padding((1, 2), (7, 7), (3, 3), (1, 1), (1, 1)) == ((1, 1), (2, 2))
    assert resolve_padding(((0, 1), (2, 3)), (7, 7), (3, 3), (1, 1), (1, 1)) == ((0, 1), (2, 3))
    with pytest.raises(ValueError, match="unknown padding 'full'"):
        resolve_padding("full", (7,), (3,), (1,), (1,))
    with pytest.raises(ValueError, match="should have 2 entries"):
        resolve_padding((1, 1, 1), (7, 7), (3, 3), (1, 1), (1, 1))


@pytest.mark.parametrize(
    ("size", "k", "s", "d", "expected"),
    [
        # out = ceil(7/2) = 4; total = (4-1)*2 + 3 - 7 = 2 -> (1, 1)
        (7, 3, 2, 1, (1, 1)),
        # out = ceil(8/2) = 4; total = 3*2 + 3 - 8 = 1 -> odd pixel at the end (0, 1)
        (8, 3, 2, 1, (0, 1)),
        # stride 1, k 5: total 4 -> (2, 2)
        (10, 5, 1, 1, (2, 2)),
        # dilation 2, k 3 (span 5), stride 1: total 4 -> (2, 2)
        (6, 3, 1, 2, (2, 2)),
        # k 1 s 2 on 5: out 3, total = 2*2 + 1 - 5 = 0
        (5, 1, 2, 1, (0, 0)),
        # k 4 s 1: total 3 -> (1, 2)
        (9, 4, 1, 1, (1, 2)),
    ],
)
def test_same_padding(size, k, s, d, expected) -> None:
    assert resolve_padding("same", (size,), (k,), (s,), (d,)) == (expected,)
    # and it gives the "same" output size ceil(size / stride)
    assert conv_output_size(size, k, s, expected, d) == -(-size // s)


@pytest.mark.parametrize(
    ("size", "k", "s", "pad", "d", "ceil", "expected"),
    [
        (224, 11, 4, (2, 2), 1, False, 55),  # AlexNet conv1: (224+4-11)//4 + 1 = 55
        (55, 3, 2, (0, 0), 1, False, 27),  # (55-3)//2 + 1 = 27
        (9, 3, 1, (0, 0), 2, False, 5),  # dilation 2: 9 - 4 = 5
        (6, 3, 2, (0, 0), 1, False, 2),  # floor: 3//2 + 1 = 2
        (6, 3, 2, (0, 0), 1, True, 3),  # ceil: ceil(3/2) + 1 = 3 (last window starts at 4 < 6)
        # ceil with a window that would start in the right padding: ceil(5/2)+1 = 4, but
        # (4-1)*2 = 6 >= 5 + 1 -> 3 (PyTorch's rule)
        (5, 2, 2, (1, 1), 1, True, 3),
        (7, 2, 2, (0, 0), 1, True, 4),  # ceil(5/2)+1 = 4, start 6 < 7 kept
    ],
)
def test_conv_output_size(size, k, s, pad, d, ceil, expected) -> None:
    assert conv_output_size(size, k, s, pad, d, ceil) == expected


def test_window_too_large() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_size(2, 5, 1, (0, 0))


@pytest.mark.parametrize(
    ("size", "k", "s", "pad", "d", "out_pad", "expected"),
    [
        (3, 3, 2, (0, 0), 1, 0, 7),  # (3-1)*2 + 3 = 7
        (4, 3, 2, (1, 1), 1, 1, 8),  # (4-1)*2 - 2 + 2 + 1 + 1 = 8
        (5, 4, 1, (0, 0), 2, 0, 11),  # 4 + 2*3 + 1 = 11
    ],
)
def test_conv_transpose_output_size(size, k, s, pad, d, out_pad, expected) -> None:
    assert conv_transpose_output_size(size, k, s, pad, d, out_pad) == expected
