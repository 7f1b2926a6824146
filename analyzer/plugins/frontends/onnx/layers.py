"""Handlers of the ONNX ops that hold weights or windows: Conv, Gemm, MatMul, norms, pools, RNNs."""

from __future__ import annotations

import math
from typing import Any

from analyzer.plugins.frontends.onnx.convert import Converter


def _pads(c: Converter, a: dict[str, Any], spatial: tuple[int, ...], k: tuple[int, ...],
          s: tuple[int, ...], d: tuple[int, ...]) -> tuple[tuple[int, int], ...]:  # fmt: skip
    """``pads`` ([x1_begin, x2_begin..., x1_end...]) or ``auto_pad`` as (lo, hi) per spatial dim."""
    nd = len(spatial)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for n, kk, ss, dd in zip(spatial, k, s, d, strict=True):
            total = max((math.ceil(n / ss) - 1) * ss + (kk - 1) * dd + 1 - n, 0)
            small, big = total // 2, total - total // 2
            out.append((small, big) if auto == "SAME_UPPER" else (big, small))
        return tuple(out)
    if auto == "VALID":
        return ((0, 0),) * nd
    p = list(a.get("pads", [0] * (2 * nd)))
    return tuple((int(p[i]), int(p[i + nd])) for i in range(nd))


def _window(
    c: Converter, a: dict[str, Any], x: tuple[int, ...], kernel: tuple[int, ...] | None = None
) -> dict[str, Any]:
    nd = len(x) - 2
    k = tuple(int(v) for v in (a.get("kernel_shape") or kernel))
    s = tuple(int(v) for v in a.get("strides", [1] * nd))
    d = tuple(int(v) for v in a.get("dilations", [1] * nd))
    return {
        "kernel_size": k,
        "stride": s,
        "dilation": d,
        "padding": _pads(c, a, x[2:], k, s, d),
        "channel_axis": 1,
    }


def conv(
    c: Converter, a: dict[str, Any], x: str = "", w: str = "", b: str | None = None, out: str = ""
) -> None:
    """Conv; the quantized convolutions pass their data operands (``b=""``: no bias)."""
    x, w, b = x or c.input(0), w or c.input(1), c.input(2) if b is None else b
    xs, ws = c.shape(x), c.shape(w)
    attrs = _window(c, a, xs, ws[2:])
    groups = int(a.get("group", 1))
    attrs.update(groups=groups, in_channels=xs[1], out_channels=ws[0], transposed=False)
    ins = [c.operand(x), c.operand(w, "weight")] + ([c.operand(b, "bias")] if b else [])
    c.emit("conv", ins, attrs, outputs=[out] if out else None)


def conv_transpose(c: Converter, a: dict[str, Any]) -> None:
    x, w, b = c.input(0), c.input(1), c.input(2)
    xs, ws = c.shape(x), c.shape(w)
    out = c.shape(c.node.output[0])
    groups = int(a.get("group", 1))
    attrs = _window(c, a, xs, ws[2:])
    if "output_shape" in a or str(a.get("auto_pad", b"NOTSET")) not in ("NOTSET", "b'NOTSET'"):
        # padding follows from the output size: total = s (in - 1) + (k - 1) d + 1 - out
        pads = []
        for n, o, kk, ss, dd in zip(
            xs[2:], out[2:], attrs["kernel_size"], attrs["stride"], attrs["dilation"], strict=True
        ):
            total = max(ss * (n - 1) + (kk - 1) * dd + 1 - o, 0)
            pads.append((total // 2, total - total // 2))
        attrs["padding"] = tuple(pads)
    attrs.update(groups=groups, in_channels=xs[1], out_channels=ws[1] * groups, transposed=True)
    ins = [c.operand(x), c.operand(w, "weight")] + ([c.operand(b, "bias")] if b else [])
    c.emit("conv", ins, attrs)


def _fused_bias(c: Converter, out: str, features: int) -> tuple[str, str] | None:
    """``MatMul -> Add(bias)``: the Add's bias and output when it is the MatMul's only reader in its scope."""
    readers = c.consumers.get(out, [])
    if len(readers) != 1 or readers[0].op_type != "Add" or readers[0].domain not in ("", "ai.onnx"):
        return None
    add = readers[0]
    other = add.input[1] if add.input[0] == out else add.input[0]
    if (
        not c.is_weight(other)
        or math.prod(c.shape(other)) != features
        or c.scopes.scope(add.name) != c.scope
    ):
        return None
    c.skip.add(id(add))
    return other, add.output[0]


def matmul(c: Converter, a: dict[str, Any]) -> None:
    x, w = c.input(0), c.input(1)
    out = c.node.output[0]
    if c.is_weight(w) and len(c.shape(w)) == 2 and c.is_act(x):
        fused = _fused_bias(c, out, c.shape(w)[1])
        ins = [x, c.param(w, "weight")]
        if fused is not None:
            ins.append(c.param(fused[0], "bias"))
            out = fused[1]
        c.emit("linear", ins, outputs=[out])
        return
    c.emit("matmul", [c.operand(x), c.operand(w)])


def gemm(c: Converter, a: dict[str, Any], out: str = "") -> None:
    """``alpha * A' B' + beta * C``: a linear layer when B is a weight (transB: PyTorch's layout)."""
    x, w, b = c.input(0), c.input(1), c.input(2)
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    out = out or c.node.output[0]
    if a.get("transA", 0):
        t = f"{x}::transposed"
        c.facts.shapes[t] = tuple(reversed(c.shape(x)))
        c.emit("permute", [c.operand(x)], {"perm": (1, 0)}, outputs=[t], suffix="/transA")
        x = t
    scaled = alpha != 1.0
    lin_out = f"{out}::product" if scaled else out
    if scaled:
        c.facts.shapes[lin_out] = c.shape(out)
    n = c.shape(out)[-1]
    if c.is_weight(w) and c.is_act(x):
        ins = [x, c.param(w, "weight")]
        bias_ok = b and c.is_weight(b) and math.prod(c.shape(b)) == n and beta == 1.0
        if bias_ok:
            ins.append(c.param(b, "bias"))
        c.emit("linear", ins, outputs=[lin_out], suffix="/gemm")
        if b and not bias_ok:
            lin_out = _then_add(c, lin_out, b, out if not scaled else f"{out}::biased")
    else:
        wv = c.operand(w)
        if a.get("transB", 0):
            t = f"{w}::transposed"
            c.facts.shapes[t] = tuple(reversed(c.shape(w)))
            c.emit("permute", [wv], {"perm": (1, 0)}, outputs=[t], suffix="/transB")
            wv = t
        mm_out = f"{out}::mm" if (b or scaled) else out
        c.facts.shapes[mm_out] = c.shape(out)
        c.emit("matmul", [c.operand(x), wv], outputs=[mm_out], suffix="/matmul")
        lin_out = _then_add(c, mm_out, b, out if not scaled else f"{out}::biased") if b else mm_out
    if scaled:
        c.emit("mul", [lin_out, c.constant_scalar(alpha)], outputs=[out], suffix="/alpha")


def _then_add(c: Converter, x: str, b: str, out: str) -> str:
    c.facts.shapes.setdefault(out, c.shape(x))
    c.emit("add", [x, c.operand(b, "bias")], outputs=[out], suffix="/bias")
    return out


def batch_norm(c: Converter, a: dict[str, Any]) -> None:
    roles = ("scale", "shift", "mean", "var")
    ins = [c.operand(c.input(0))] + [
        c.operand(c.input(i), r) for i, r in enumerate(roles, 1) if c.input(i)
    ]
    training = bool(a.get("training_mode", 0))
    outs = list(c.node.output[:1]) if not training else list(c.node.output)
    c.emit("batch_norm", ins, {"channel_axis": 1, "training": training}, outputs=outs)


def layer_norm(c: Converter, a: dict[str, Any]) -> None:
    x = c.input(0)
    rank = len(c.shape(x))
    axis = int(a.get("axis", -1)) % rank
    ins = [c.operand(x), c.operand(c.input(1), "scale")] + (
        [c.operand(c.input(2), "shift")] if c.input(2) else []
    )
    c.emit("layer_norm", ins, {"axes": tuple(range(axis, rank))}, outputs=list(c.node.output[:1]))


def rms_norm(c: Converter, a: dict[str, Any]) -> None:
    x = c.input(0)
    rank = len(c.shape(x))
    axis = int(a.get("axis", -1)) % rank
    c.emit("rms_norm", [c.operand(x), c.operand(c.input(1), "scale")], {"axes": tuple(range(axis, rank))},
           outputs=list(c.node.output[:1]))  # fmt: skip


def instance_norm(c: Converter, a: dict[str, Any]) -> None:
    ins = [c.operand(c.input(0)), c.operand(c.input(1), "scale"), c.operand(c.input(2), "shift")]
    c.emit("instance_norm", ins, {"channel_axis": 1})


def group_norm(c: Converter, a: dict[str, Any]) -> None:
    ins = [c.operand(c.input(0)), c.operand(c.input(1), "scale"), c.operand(c.input(2), "shift")]
    c.emit("group_norm", ins, {"channel_axis": 1, "groups": int(a["num_groups"])})


def pool(op: str):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        x = c.input(0)
        attrs = _window(c, a, c.shape(x))
        c.emit(op, [c.operand(x)], attrs, outputs=list(c.node.output[:1]))

    return handler


def global_pool(op: str):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        x = c.input(0)
        nd = len(c.shape(x)) - 2
        c.emit(op, [c.operand(x)], {"output_size": (1,) * nd, "channel_axis": 1})

    return handler


def attention(c: Converter, a: dict[str, Any]) -> None:
    """ONNX ``Attention`` (opset 23) on (B, H, S, E) operands; 3-d operands are unknown."""
    from analyzer.plugins.frontends.onnx.handlers import unknown

    q, k, v = c.input(0), c.input(1), c.input(2)
    if len(c.shape(q)) != 4 or any(c.input(i) for i in range(4, 6)):
        unknown(c, a, "3-d Attention (heads packed) or a KV cache")
        return
    mask = c.input(3)
    ins = [c.operand(q), c.operand(k), c.operand(v)] + ([c.operand(mask)] if mask else [])
    c.emit(
        "attention",
        ins,
        {"is_causal": bool(a.get("is_causal", 0))},
        outputs=list(c.node.output[:1]),
    )


def rnn(cell: str):
    def handler(c: Converter, a: dict[str, Any]) -> None:
        x = c.input(0)
        xs = c.shape(x)
        steps, batch = (xs[1], xs[0]) if a.get("layout", 0) else (xs[0], xs[1])
        direction = a.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else str(direction)
        ins = [c.operand(x)] + [
            c.param(c.input(i), r)
            for i, r in ((1, "weight"), (2, "weight"), (3, "bias"))
            if c.input(i)
        ]
        attrs = {"cell": cell, "hidden_size": int(a["hidden_size"]), "input_size": xs[2], "steps": steps,
                 "batch": batch, "num_layers": 1, "bidirectional": direction == "bidirectional",
                 "n_biases": 2 if c.input(3) else 0}  # fmt: skip
        if cell == "rnn":
            acts = [
                s.decode() if isinstance(s, bytes) else s for s in a.get("activations", [b"Tanh"])
            ]
            attrs["nonlinearity"] = "relu" if acts and acts[0].lower() == "relu" else "tanh"
        c.emit("rnn", ins, attrs)

    return handler
