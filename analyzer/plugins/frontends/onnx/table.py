"""The one map from ONNX ``(domain, op_type)`` to handlers emitting canonical ops.

Ops not listed become ``unknown`` nodes (reported as unsupported with the
share of the model they hide, never counted as zero silently). Shape
arithmetic (``Shape``, ``Gather`` on shapes, ``Concat`` of sizes...) and
``Constant`` are folded before the walk (``fold.py``) and reach this table
only when their inputs are activations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analyzer.plugins.frontends.onnx import contrib as ms
from analyzer.plugins.frontends.onnx import handlers as h
from analyzer.plugins.frontends.onnx import layers as nn
from analyzer.plugins.frontends.onnx import quant as q

Handler = Callable[..., None]

_STANDARD: dict[str, Handler] = {
    # contractions
    "Conv": nn.conv, "ConvTranspose": nn.conv_transpose, "Gemm": nn.gemm, "MatMul": nn.matmul,
    "Einsum": h.einsum, "Attention": nn.attention,
    "LSTM": nn.rnn("lstm"), "GRU": nn.rnn("gru"), "RNN": nn.rnn("rnn"),
    # normalization
    "BatchNormalization": nn.batch_norm, "LayerNormalization": nn.layer_norm,
    "RMSNormalization": nn.rms_norm, "InstanceNormalization": nn.instance_norm,
    "GroupNormalization": nn.group_norm,
    "Softmax": h.softmax("softmax"), "LogSoftmax": h.softmax("log_softmax"),
    # activations
    "Relu": h.activation("relu"), "Sigmoid": h.activation("sigmoid"), "Tanh": h.activation("tanh"),
    "Gelu": h.activation("gelu"), "HardSigmoid": h.activation("hardsigmoid"),
    "HardSwish": h.activation("hardswish"), "LeakyRelu": h.activation("leaky_relu"),
    "Elu": h.activation("elu"), "Celu": h.activation("elu"), "Selu": h.activation("selu"),
    "Softplus": h.activation("softplus"), "Mish": h.activation("mish"), "Swish": h.activation("silu"),
    "Clip": h.clip, "PRelu": h.prelu,
    # pooling
    "MaxPool": nn.pool("max_pool"), "AveragePool": nn.pool("avg_pool"),
    "GlobalAveragePool": nn.global_pool("adaptive_avg_pool"),
    "GlobalMaxPool": nn.global_pool("adaptive_max_pool"),
    # elementwise
    "Add": h.simple("add"), "Sub": h.simple("sub"), "Mul": h.simple("mul"), "Div": h.simple("div"),
    "Pow": h.simple("pow"), "Mod": h.simple("mod"), "Where": h.simple("where"),
    "Trilu": h.simple("where", 1),  # a masked copy (causal masks; folded when constant)
    "Min": h.variadic("minimum"), "Max": h.variadic("maximum"), "Sum": h.variadic("add"),
    "Mean": h.variadic("mean"),
    **{k: h.simple(v, 1) for k, v in {
        "Sqrt": "sqrt", "Exp": "exp", "Log": "log", "Neg": "neg", "Abs": "abs",
        "Reciprocal": "reciprocal", "Erf": "erf", "Sin": "sin", "Cos": "cos", "Floor": "floor",
        "Ceil": "ceil", "Round": "round", "Sign": "sign", "Cast": "cast", "CastLike": "cast",
    }.items()},
    "Equal": h.compare("eq"), "Less": h.compare("lt"), "LessOrEqual": h.compare("le"),
    "Greater": h.compare("gt"), "GreaterOrEqual": h.compare("ge"),
    "And": h.logical("and"), "Or": h.logical("or"), "Xor": h.logical("xor"), "Not": h.logical("not"),
    # views and movement
    "Reshape": h.view(), "Flatten": h.view(), "Squeeze": h.view(), "Unsqueeze": h.view(),
    "Identity": h.view("identity"), "Dropout": h.view("identity"), "Expand": h.view("expand"),
    "Transpose": h.transpose, "Concat": h.concat, "Split": h.split, "Slice": h.view("slice"),
    "Gather": h.gather, "GatherElements": h.gather_other, "GatherND": h.gather_other,
    "ScatterND": h.gather_other, "ScatterElements": h.gather_other,
    "Pad": h.pad, "Resize": h.resize, "Upsample": h.resize, "Tile": h.simple("tile", 1),
    "TopK": h.top_k, "CumSum": h.cumsum, "OneHot": h.simple("one_hot", 1),
    "If": h.control_flow, "Loop": h.control_flow, "Scan": h.control_flow,
    "ConstantOfShape": h.constant_op, "Range": h.constant_op, "EyeLike": h.constant_op,
    "RandomNormal": h.constant_op, "RandomUniform": h.constant_op,
    "RandomNormalLike": h.constant_op, "RandomUniformLike": h.constant_op,
    # reductions
    **{k: h.reduction(v) for k, v in {
        "ReduceMean": "reduce_mean", "ReduceSum": "reduce_sum", "ReduceMax": "reduce_max",
        "ReduceMin": "reduce_min", "ReduceProd": "reduce_prod",
    }.items()},
    "ArgMax": h.arg_reduction("argmax"), "ArgMin": h.arg_reduction("argmin"),
    # quantization
    "QuantizeLinear": q.qdq, "DequantizeLinear": q.qdq, "DynamicQuantizeLinear": q.dynamic_quantize,
    "QLinearConv": q.qlinear_conv, "QLinearMatMul": q.qlinear_matmul,
    "ConvInteger": q.conv_integer, "MatMulInteger": q.matmul_integer,
}  # fmt: skip

# ONNX Runtime's contrib ops that its own quantization tools and optimizers write
_MICROSOFT: dict[str, Handler] = {
    "QLinearAdd": q.qlinear_binary("add"), "QLinearMul": q.qlinear_binary("mul"),
    "QLinearSigmoid": q.qlinear_unary("sigmoid"), "QLinearLeakyRelu": q.qlinear_unary("leaky_relu"),
    "QLinearGlobalAveragePool": q.qlinear_unary("adaptive_avg_pool"), "QGemm": q.qgemm,
    "QuantizeLinear": q.qdq, "DequantizeLinear": q.qdq,
    "Gelu": h.activation("gelu"), "FastGelu": h.activation("gelu"),
    "QuickGelu": h.activation("gelu"),
    "QLinearConcat": q.qlinear_concat, "QLinearAveragePool": q.qlinear_average_pool,
    "FusedConv": ms.fused_conv, "FusedGemm": ms.fused_gemm, "BiasGelu": ms.bias_gelu,
    "SkipLayerNormalization": ms.skip_layer_norm, "FusedMatMul": ms.fused_matmul,
}  # fmt: skip

TABLE: dict[tuple[str, str], Any] = {
    **{("", k): v for k, v in _STANDARD.items()},
    **{("com.microsoft", k): v for k, v in _MICROSOFT.items()},
}


def with_plugin_mappings(mappings: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """TABLE with the plugins' ``onnx`` op mappings first (hook ``analyzer_register_op_mappings``).

    ``source_op`` is ``OpType`` (standard domain) or ``domain::OpType``;
    ``target`` a canonical op (emitted on every data operand, weights as
    parameters, all named outputs) or a handler ``fn(converter, attrs)``.
    """
    if not mappings:
        return TABLE
    table = dict(TABLE)
    for source_op, m in mappings.items():
        domain, _, op_type = source_op.rpartition("::")
        domain = "" if domain == "ai.onnx" else domain
        table[(domain, op_type)] = m.target if callable(m.target) else h.mapped(m.target)
    return table
