"""ONNX Runtime's fused float ops (domain ``com.microsoft``), as written by its graph optimizer.

A model saved after ONNX Runtime's optimizations (``optimized_model_filepath``)
holds ``FusedConv`` (a convolution with its activation), ``FusedGemm``,
``BiasGelu`` and ``SkipLayerNormalization``: each is written back as the
canonical ops it fuses, in one scope, so it counts what the unfused model
counts (the activation in place, the internal sums fused in the layer).
"""

from __future__ import annotations

from typing import Any

from analyzer.plugins.frontends.onnx.convert import Converter
from analyzer.plugins.frontends.onnx.layers import conv, gemm

# ORT's activation attribute -> canonical activation (Clip's bounds in activation_params)
_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
                "HardSigmoid": "hardsigmoid"}  # fmt: skip


def _then_activation(c: Converter, a: dict[str, Any], emit_first) -> None:
    name = a.get("activation", b"")
    name = name.decode() if isinstance(name, bytes) else str(name)
    out = c.node.output[0]
    if not name:
        emit_first(out)
        return
    pre = f"{out}::pre_activation"
    c.facts.shapes[pre], c.facts.dtypes[pre] = c.shape(out), c.dtype(out)
    emit_first(pre)
    op = _ACTIVATIONS.get(name)
    if name == "Clip":
        bounds = tuple(float(v) for v in a.get("activation_params", ()))
        op = {(0.0, 6.0): "relu6", (-1.0, 1.0): "hardtanh"}.get(bounds, "clamp")
    c.emit(op or "clamp", [pre], outputs=[out], suffix="/activation")


def fused_conv(c: Converter, a: dict[str, Any]) -> None:
    """FusedConv(X, W, B?, Z?) = activation(conv(X, W, B) + Z): Z is a residual folded in."""
    z = c.input(3)
    if not z:
        _then_activation(c, a, lambda out: conv(c, a, out=out))
        return

    def conv_then_add(out: str) -> None:
        pre = f"{out}::conv"
        c.facts.shapes[pre], c.facts.dtypes[pre] = c.shape(out), c.dtype(out)
        conv(c, a, out=pre)
        c.emit("add", [pre, c.operand(z)], outputs=[out], suffix="/residual")

    _then_activation(c, a, conv_then_add)


def fused_gemm(c: Converter, a: dict[str, Any]) -> None:
    _then_activation(c, a, lambda out: gemm(c, a, out=out))


def bias_gelu(c: Converter, a: dict[str, Any]) -> None:
    out = c.node.output[0]
    summed = f"{out}::biased"
    c.facts.shapes[summed], c.facts.dtypes[summed] = c.shape(out), c.dtype(out)
    c.emit(
        "add",
        [c.operand(c.input(0)), c.operand(c.input(1), "bias")],
        outputs=[summed],
        suffix="/bias",
    )
    c.emit("gelu", [summed], {"approximate": "none"}, outputs=[out])


def skip_layer_norm(c: Converter, a: dict[str, Any]) -> None:
    """input + skip (+ bias), then LayerNorm over the last dim with gamma (and beta)."""
    x, skip, gamma, beta, bias = (c.input(i) for i in range(5))
    out = c.node.output[0]
    summed = f"{out}::sum"
    c.facts.shapes[summed], c.facts.dtypes[summed] = c.shape(x), c.dtype(x)
    c.emit("add", [c.operand(x), c.operand(skip)], outputs=[summed], suffix="/skip")
    if bias:
        biased = f"{out}::biased"
        c.facts.shapes[biased], c.facts.dtypes[biased] = c.shape(x), c.dtype(x)
        c.emit("add", [summed, c.operand(bias, "bias")], outputs=[biased], suffix="/bias")
        summed = biased
    ins = [summed, c.operand(gamma, "scale")] + ([c.operand(beta, "shift")] if beta else [])
    c.emit("layer_norm", ins, {"axes": (len(c.shape(x)) - 1,)}, outputs=[out])


def fused_matmul_perms(
    a: dict[str, Any], rank_a: int, rank_b: int
) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """Permutations FusedMatMul applies to A and B (None: as is).

    ``transBatch``: dim 0 moves behind the batch dims, ``[d0, d1..d(r-2), d(r-1)] ->
    [d1..d(r-2), d0, d(r-1)]``; then ``trans`` swaps the last two dims.
    """

    def perm(rank: int, batch: bool, trans: bool) -> tuple[int, ...] | None:
        p = list(range(rank))
        if batch and rank > 2:
            p = [*range(1, rank - 1), 0, rank - 1]
        if trans and rank >= 2:
            p[-1], p[-2] = p[-2], p[-1]
        return tuple(p) if p != list(range(rank)) else None

    return (perm(rank_a, bool(a.get("transBatchA", 0)), bool(a.get("transA", 0))),
            perm(rank_b, bool(a.get("transBatchB", 0)), bool(a.get("transB", 0))))  # fmt: skip


def fused_matmul(c: Converter, a: dict[str, Any]) -> None:
    """FusedMatMul: alpha * A' @ B' (A', B' permuted views)."""
    ins = []
    pa, pb = fused_matmul_perms(a, len(c.shape(c.input(0))), len(c.shape(c.input(1))))
    for name, p, tag in ((c.input(0), pa, "A"), (c.input(1), pb, "B")):
        x = c.operand(name)
        if p is not None:
            view = f"{c.node.output[0]}::{tag}"
            c.facts.shapes[view] = tuple(c.shape(name)[i] for i in p)
            c.facts.dtypes[view] = c.dtype(name)
            c.emit("permute", [x], {"perm": p}, outputs=[view], suffix=f"/trans{tag}")
            x = view
        ins.append(x)
    out = c.node.output[0]
    alpha = float(a.get("alpha", 1.0))
    if alpha == 1.0:
        c.emit("matmul", ins, outputs=[out])
        return
    product = f"{out}::product"
    c.facts.shapes[product], c.facts.dtypes[product] = c.shape(out), c.dtype(out)
    c.emit("matmul", ins, outputs=[product])
    c.emit("mul", [product, c.constant_scalar(alpha)], outputs=[out], suffix="/alpha")
