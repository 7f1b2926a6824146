"""Handlers of ATen ops that are several canonical ops: vector norms (``F.normalize``,
SSD's L2Norm, Swin-v2's cosine attention), weight normalization (wav2vec2's
positional convolution), ``logsumexp``, ``glu``, ``im2col``/``col2im``
(``F.unfold``/``F.fold``), ``aminmax``, ``count_nonzero``, ``polar`` (Llama 4's
complex rotary embedding), ``log_sigmoid_forward`` (``F.logsigmoid``).

Each is written as PyTorch computes it, so the FLOP table prices its parts.
Same contract as ``handlers``: ``fn(rec, call)`` names every output of the call.
"""

from __future__ import annotations

import math

from analyzer.plugins.frontends.torch.call import Call
from analyzer.plugins.frontends.torch.handlers import _axes, _expand
from analyzer.plugins.frontends.torch.recorder import Recorder, V


def _reduced(x: V, axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _norm(
    rec: Recorder, c: Call, x: V, p: float, axes: tuple[int, ...], keepdims: bool, out: V
) -> None:
    """||x||_p over ``axes``: |x|^p summed, then the p-th root (p = 2: square, sum, sqrt)."""
    shape, src = _reduced(x, axes, keepdims), c.source
    attrs = {"axes": axes, "keepdims": keepdims}
    if math.isinf(p):
        mag = rec.tmp(x.shape, x.dtype)
        rec.emit("abs", [x], [mag], {}, src, c.op)
        rec.emit("reduce_max" if p > 0 else "reduce_min", [mag], [out], attrs, src, c.op)
        return
    powered = rec.tmp(x.shape, x.dtype)
    if p == 2:
        rec.emit("square", [x], [powered], {}, src, c.op)
    elif p == 1:
        rec.emit("abs", [x], [powered], {}, src, c.op)
    elif p == 0:  # the count of nonzero elements
        rec.emit("compare", [x], [powered], {"kind": "ne"}, src, c.op)
    else:
        mag = rec.tmp(x.shape, x.dtype)
        rec.emit("abs", [x], [mag], {}, src, c.op)
        rec.emit("pow", [mag], [powered], {}, src, c.op)
    if p in (0, 1):
        rec.emit("reduce_sum", [powered], [out], attrs, src, c.op)
        return
    total = rec.tmp(shape, x.dtype)
    rec.emit("reduce_sum", [powered], [total], attrs, src, c.op)
    rec.emit("sqrt" if p == 2 else "pow", [total], [out], {}, src, c.op)


def vector_norm(rec: Recorder, c: Call) -> None:
    """``linalg_vector_norm`` and ``norm`` (``torch.norm``, ``F.normalize``)."""
    x = c["self"]
    p = c.get("ord", c.get("p", 2.0))
    axes = _axes(c.get("dim"), len(x.shape))
    _norm(rec, c, x, float(p), axes, bool(c.get("keepdim", False)), c.outs[0])


def weight_norm(rec: Recorder, c: Call) -> None:
    """``_weight_norm_interface(v, g, dim)`` -> (v * g / ||v||, ||v||): the norm over every
    dimension but ``dim``, kept as ``g``'s shape."""
    v, g = c["v"], c["g"]
    weight, norms = c.outs
    keep = int(c.get("dim", 0)) % len(v.shape)
    axes = tuple(i for i in range(len(v.shape)) if i != keep)
    _norm(rec, c, v, 2.0, axes, True, norms)
    scale = rec.tmp(g.shape, g.dtype)
    rec.emit("div", [g, norms], [scale], {}, c.source, c.op)
    rec.emit("mul", [v, scale], [weight], {}, c.source, c.op)


def logsumexp(rec: Recorder, c: Call) -> None:
    x = c["self"]
    axes, keepdims = _axes(c.get("dim"), len(x.shape)), bool(c.get("keepdim", False))
    e, total = rec.tmp(x.shape, x.dtype), rec.tmp(_reduced(x, axes, keepdims), x.dtype)
    rec.emit("exp", [x], [e], {}, c.source, c.op)
    rec.emit("reduce_sum", [e], [total], {"axes": axes, "keepdims": keepdims}, c.source, c.op)
    rec.emit("log", [total], c.outs, {}, c.source, c.op)


def glu(rec: Recorder, c: Call) -> None:
    """a * sigmoid(b), a and b the two halves along ``dim``."""
    x, out = c["self"], c.outs[0]
    axis = int(c.get("dim", -1)) % len(x.shape)
    a, b, gate = (rec.tmp(out.shape, x.dtype) for _ in range(3))
    rec.emit("split", [x], [a, b], {"axis": axis}, c.source, c.op)
    rec.emit("sigmoid", [b], [gate], {}, c.source, c.op)
    rec.emit("mul", [a, gate], [out], {}, c.source, c.op)


def im2col(rec: Recorder, c: Call) -> None:
    """``F.unfold``: sliding blocks gathered into columns (a copy, no arithmetic)."""
    attrs = {k: _expand(c[k], 2, 1) for k in ("kernel_size", "dilation", "padding", "stride")}
    rec.emit("gather", [c["self"]], c.outs, attrs, c.source, c.op)


def col2im(rec: Recorder, c: Call) -> None:
    """``F.fold``: columns scattered back (overlaps summed) into zeroed images."""
    out = c.outs[0]
    images = rec.tmp(out.shape, out.dtype)
    rec.emit("constant", [], [images], {"kind": "zeros"}, c.source, c.op)
    attrs = {k: _expand(c[k], 2, 1) for k in ("kernel_size", "dilation", "padding", "stride")}
    rec.emit("scatter", [images, c["self"]], c.outs, attrs, c.source, c.op)


def aminmax(rec: Recorder, c: Call) -> None:
    x = c["self"]
    dim = c.get("dim")
    attrs = {"axes": _axes(dim, len(x.shape)), "keepdims": bool(c.get("keepdim", False))}
    low, high = c.outs
    rec.emit("reduce_min", [x], [low], attrs, c.source, c.op)
    rec.emit("reduce_max", [x], [high], dict(attrs), c.source, c.op)


def count_nonzero(rec: Recorder, c: Call) -> None:
    x = c["self"]
    nonzero = rec.tmp(x.shape, "bool")
    rec.emit("compare", [x], [nonzero], {"kind": "ne"}, c.source, c.op)
    attrs = {"axes": _axes(c.get("dim"), len(x.shape)), "keepdims": False}
    rec.emit("reduce_sum", [nonzero], c.outs, attrs, c.source, c.op)


def polar(rec: Recorder, c: Call) -> None:
    """``torch.polar(abs, angle)``: abs * (cos angle + i sin angle)."""
    magnitude, angle = c["abs"], c["angle"]
    out = c.outs[0]
    cos, sin, re, im = (rec.tmp(out.shape, angle.dtype) for _ in range(4))
    rec.emit("cos", [angle], [cos], {}, c.source, c.op)
    rec.emit("sin", [angle], [sin], {}, c.source, c.op)
    rec.emit("mul", [magnitude, cos], [re], {}, c.source, c.op)
    rec.emit("mul", [magnitude, sin], [im], {}, c.source, c.op)
    rec.emit("copy", [re, im], [out], {}, c.source, c.op)


def log_sigmoid(rec: Recorder, c: Call) -> None:
    """``log_sigmoid_forward(x)`` -> (-softplus(-x), buffer): the buffer is a scratch constant."""
    x = c["self"]
    out = c.outs[0]
    neg, soft = rec.tmp(x.shape, x.dtype), rec.tmp(x.shape, x.dtype)
    rec.emit("neg", [x], [neg], {}, c.source, c.op)
    rec.emit("softplus", [neg], [soft], {}, c.source, c.op)
    rec.emit("neg", [soft], [out], {}, c.source, c.op)
    for scratch in c.outs[1:]:
        rec.emit("constant", [], [scratch], {"kind": "buffer"}, c.source, c.op)
