"""Quantized ONNX: QDQ pairs and the integer operators, counted at their stored bit widths.

Convention (docs/frontends/onnx.md):

- ``QuantizeLinear`` / ``DequantizeLinear`` of an activation are views
  (``identity``) that keep the *stored* dtype: the tensor after a
  ``DequantizeLinear`` is the int8/uint8 tensor it reads, so the
  contraction consuming it counts integer OPs, as the fused quantized
  kernel a runtime runs; the float tensor a ``QuantizeLinear`` reads is
  stored quantized (``convert.Converter._out_dtype``).
- ``DequantizeLinear`` of an initializer is that initializer: the weight
  counts at its stored width (int8 weights, int32 biases); scales and zero
  points are non-trainable buffers (roles ``quant_scale``,
  ``quant_zero_point``) counted in the model size.
- ``QLinearConv``, ``QLinearMatMul``, ``ConvInteger``, ``MatMulInteger`` are
  the canonical ``conv`` / ``linear`` / ``matmul`` on their integer
  operands; their scales and zero points are buffers like the above.
"""

from __future__ import annotations

import math
from typing import Any

from analyzer.plugins.frontends.onnx.convert import Converter
from analyzer.plugins.frontends.onnx.layers import conv


def _quant_params(c: Converter, names: list[str]) -> list[str]:
    """Register scales and zero points; those that are weights ride along as the node's operands."""
    for t in names:
        if t and c.is_weight(t):
            c.param(t, "quant_zero_point" if c.dtype(t) != "float32" else "quant_scale")
    return []


def qdq(c: Converter, a: dict[str, Any]) -> None:
    """Quantize/DequantizeLinear of an activation: a view keeping the stored dtype."""
    x = c.input(0)
    _quant_params(c, [c.input(1), c.input(2)])
    dtype = c.dtype(x) if c.node.op_type == "DequantizeLinear" else None
    c.emit("identity", [c.operand(x)], dtype=dtype)


def dynamic_quantize(c: Converter, a: dict[str, Any]) -> None:
    """DynamicQuantizeLinear: x -> (uint8 y, scale, zero point); a min/max pass and a cast."""
    c.emit("cast", [c.operand(c.input(0))])


def qlinear_conv(c: Converter, a: dict[str, Any]) -> None:
    # x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B
    _quant_params(c, [c.input(i) for i in (1, 2, 4, 5, 6, 7)])
    conv(c, a, x=c.input(0), w=c.input(3), b=c.input(8))


def conv_integer(c: Converter, a: dict[str, Any]) -> None:
    _quant_params(c, [c.input(2), c.input(3)])
    conv(c, a, x=c.input(0), w=c.input(1), b="")


def _matmul(c: Converter, x: str, w: str) -> None:
    if c.is_weight(w) and len(c.shape(w)) == 2 and c.is_act(x):
        c.emit("linear", [x, c.param(w, "weight")], outputs=list(c.node.output[:1]))
    else:
        c.emit("matmul", [c.operand(x), c.operand(w)], outputs=list(c.node.output[:1]))


def qlinear_matmul(c: Converter, a: dict[str, Any]) -> None:
    # a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
    _quant_params(c, [c.input(i) for i in (1, 2, 4, 5, 6, 7)])
    _matmul(c, c.input(0), c.input(3))


def matmul_integer(c: Converter, a: dict[str, Any]) -> None:
    _quant_params(c, [c.input(2), c.input(3)])
    _matmul(c, c.input(0), c.input(1))


def qgemm(c: Converter, a: dict[str, Any]) -> None:
    """com.microsoft QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp?: a linear layer."""
    _quant_params(c, [c.input(i) for i in (1, 2, 4, 5, 7, 8)])
    x, w, b = c.input(0), c.input(3), c.input(6)
    n = c.shape(c.node.output[0])[-1]
    if a.get("transA", 0) or not (c.is_weight(w) and c.is_act(x)):
        from analyzer.plugins.frontends.onnx.handlers import unknown

        unknown(c, a, "QGemm with transA or without a weight operand")
        return
    ins = [x, c.param(w, "weight")]
    if b and c.is_weight(b) and math.prod(c.shape(b)) == n:
        ins.append(c.param(b, "bias"))
    c.emit("linear", ins, outputs=list(c.node.output[:1]))


def qlinear_binary(op: str):
    """com.microsoft QLinearAdd/QLinearMul: A, A_s, A_zp, B, B_s, B_zp, C_s, C_zp."""

    def handler(c: Converter, a: dict[str, Any]) -> None:
        _quant_params(c, [c.input(i) for i in (1, 2, 4, 5, 6, 7)])
        c.emit(op, [c.operand(c.input(0)), c.operand(c.input(3))])

    return handler


def qlinear_unary(op: str, **fixed: Any):
    """com.microsoft QLinearSigmoid/QLinearLeakyRelu/QLinearGlobalAveragePool: X, X_s, X_zp, Y_s, Y_zp."""

    def handler(c: Converter, a: dict[str, Any]) -> None:
        _quant_params(c, [c.input(i) for i in (1, 2, 3, 4)])
        x = c.input(0)
        attrs = dict(fixed)
        if op == "adaptive_avg_pool":
            nd = len(c.shape(x)) - 2
            channels_last = bool(a.get("channels_last", 0))
            attrs = {
                "output_size": (1,) * nd,
                "channel_axis": len(c.shape(x)) - 1 if channels_last else 1,
            }
        c.emit(op, [c.operand(x)], attrs)

    return handler


def qlinear_concat(c: Converter, a: dict[str, Any]) -> None:
    """com.microsoft QLinearConcat: Y_scale, Y_zp, then (X, X_scale, X_zp) per operand."""
    names = list(c.node.input)
    _quant_params(c, [names[0], names[1]] + [t for i, t in enumerate(names[2:]) if i % 3])
    xs = [t for i, t in enumerate(names[2:]) if i % 3 == 0 and t]
    rank = len(c.shape(c.node.output[0]))
    c.emit("concat", [c.operand(t) for t in xs], {"axis": int(a.get("axis", 0)) % rank})


def qlinear_average_pool(c: Converter, a: dict[str, Any]) -> None:
    """com.microsoft QLinearAveragePool: X, X_s, X_zp, Y_s, Y_zp; NCHW only (channels_last: unknown)."""
    from analyzer.plugins.frontends.onnx.handlers import unknown
    from analyzer.plugins.frontends.onnx.layers import pool

    if a.get("channels_last", 0):
        unknown(c, a, "QLinearAveragePool with channels_last")
        return
    _quant_params(c, [c.input(i) for i in (1, 2, 3, 4)])
    pool("avg_pool")(c, a)
