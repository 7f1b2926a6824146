"""Handlers of the ATen op table: one ATen call -> one or more canonical IR nodes.

A handler is ``fn(rec, call)``; it names every output in ``call.outs`` by
emitting nodes. Families share a factory (``simple``, ``reduction``...);
ops with structure (convolution, the matmul family, norms, pooling) have
their own function; attention and recurrent layers are in ``sequence``.
``aten_table`` maps names to these handlers.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

from analyzer.core.shapes import ntuple, resolve_padding
from analyzer.plugins.frontends.torch.call import Call
from analyzer.plugins.frontends.torch.recorder import Recorder, V

Handler = Callable[[Recorder, Call], None]


def _axis(d: int, rank: int) -> int:
    return d % rank if rank else 0


def _expand(value: Any, n: int, default: int) -> tuple[int, ...]:
    """An int or list argument as n ints (``[]`` is the default, one entry repeats, as ATen does)."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return (default,) * n
    if isinstance(value, int):
        return (value,) * n
    values = tuple(int(v) for v in value)
    return values * n if len(values) == 1 else ntuple(values, n)


def _axes(dims: Any, rank: int) -> tuple[int, ...]:
    if dims is None or (isinstance(dims, list | tuple) and not dims):
        return tuple(range(rank))
    if isinstance(dims, int):
        dims = (dims,)
    return tuple(sorted(_axis(d, rank) for d in dims))


# --- families ------------------------------------------------------------------------
def simple(op: str, first_only: bool = False, **attrs: Any) -> Handler:
    """Emit ``op`` over the call's tensor arguments (only the first with ``first_only``).

    With no tensor operand at all (only Python numbers) the result is a constant.
    """

    def handler(rec: Recorder, c: Call) -> None:
        ins = list(c.tensors())
        if not ins:
            creation(rec, c)
            return
        rec.emit(op, ins[:1] if first_only else ins, c.outs, dict(attrs), c.source, c.op)

    return handler


def creation(rec: Recorder, c: Call) -> None:
    """Tensors made from nothing (arange, zeros, randn, *_like) or from Python data
    (``torch.tensor(2.0)``: ATen's ``lift_fresh``): constants, shape only, no operands."""
    rec.emit("constant", [], c.outs, {"kind": c.op.rstrip("_")}, c.source, c.op)


def skip(rec: Recorder, c: Call) -> None:
    """Checks and bookkeeping (asserts, item()): no computation; tensor results become constants."""
    for o in c.outs:
        o.name, o.kind = rec.constant(o.shape, o.dtype, c.op).name, "const"


def unknown(rec: Recorder, c: Call) -> None:
    rec.emit("unknown", list(c.tensors()), c.outs, {}, c.source, c.op)


def compare(kind: str) -> Handler:
    return simple("compare", kind=kind)


def logical(kind: str) -> Handler:
    return simple("logical", kind=kind)


def reduction(op: str) -> Handler:
    def handler(rec: Recorder, c: Call) -> None:
        x = c.first()
        dims = c.get("dim")
        attrs = {"axes": _axes(dims, len(x.shape)), "keepdims": bool(c.get("keepdim", False))}
        if op.startswith("arg") or op == "cumsum":
            attrs = {
                "axis": _axis(dims, len(x.shape)) if isinstance(dims, int) else None,
                "keepdims": attrs["keepdims"],
            }
        rec.emit(op, [x], c.outs, attrs, c.source, c.op)

    return handler


def max_min(op: str) -> Handler:
    """max/min: a reduction (``max(x)``, ``max(x, dim)``) or elementwise (``max(a, b)``)."""
    red = reduction(f"reduce_{op}")

    def handler(rec: Recorder, c: Call) -> None:
        if c.overload == "other":
            rec.emit(
                "maximum" if op == "max" else "minimum",
                list(c.tensors()),
                c.outs,
                {},
                c.source,
                c.op,
            )
        else:
            red(rec, c)

    return handler


def axis_op(op: str, arg: str = "dim") -> Handler:
    def handler(rec: Recorder, c: Call) -> None:
        x = c.first()
        rank = len(c.outs[0].shape) if op == "stack" else len(x.shape)
        rec.emit(
            op, list(c.tensors()), c.outs, {"axis": _axis(c.get(arg, 0), rank)}, c.source, c.op
        )

    return handler


# --- views -----------------------------------------------------------------------------
def permute(rec: Recorder, c: Call) -> None:
    x = c.first()
    rank = len(x.shape)
    perm = list(range(rank))
    if c.op in ("transpose", "swapaxes", "swapdims"):
        a = _axis(c.get("dim0", c.get("axis0", 0)), rank)
        b = _axis(c.get("dim1", c.get("axis1", 0)), rank)
        perm[a], perm[b] = perm[b], perm[a]
    elif c.op in ("t", "numpy_T"):
        perm.reverse()
    elif c.op in ("mT", "mH", "adjoint"):
        perm[-2:] = perm[-1], perm[-2]
    elif c.op == "permute":
        perm = [_axis(d, rank) for d in c["dims"]]
    elif c.op in ("movedim", "moveaxis"):
        src, dst = c["source"], c["destination"]
        src, dst = ([src], [dst]) if isinstance(src, int) else (src, dst)
        src, dst = [_axis(d, rank) for d in src], [_axis(d, rank) for d in dst]
        rest = iter(d for d in range(rank) if d not in src)
        placed = dict(zip(dst, src, strict=True))
        perm = [placed[i] if i in placed else next(rest) for i in range(rank)]
    op = "identity" if perm == list(range(rank)) else "permute"
    rec.emit(op, [x], c.outs, {"perm": tuple(perm)} if op == "permute" else {}, c.source, c.op)


def dropout(rec: Recorder, c: Call) -> None:
    """Dropout is the identity at inference; in training it multiplies by a mask."""
    train = c.get("train", False) and c.get("p", 0.0) > 0
    rec.emit("mul" if train else "identity", [c.first()], c.outs, {}, c.source, c.op)


def to_dtype(rec: Recorder, c: Call) -> None:
    x, out = c.first(), c.outs[0]
    if x.dtype != out.dtype:
        rec.emit("cast", [x], c.outs, {}, c.source, c.op)
    else:
        rec.emit(
            "copy" if c.op in ("_to_copy", "clone") else "identity", [x], c.outs, {}, c.source, c.op
        )


# --- convolution -------------------------------------------------------------------------
def conv(rec: Recorder, c: Call) -> None:
    x, w, b, out = c["input"], c["weight"], c.get("bias"), c.outs[0]
    nd = len(w.shape) - 2
    transposed = c.op.startswith("conv_transpose") or bool(c.get("transposed", False))
    groups = int(c.get("groups", 1))
    stride, dilation = _expand(c.get("stride"), nd, 1), _expand(c.get("dilation"), nd, 1)
    kernel = tuple(w.shape[2:])
    c_axis = len(x.shape) - nd - 1  # 1 batched, 0 unbatched
    padding = c.get("padding", 0)
    if isinstance(padding, str):
        pad = resolve_padding(padding, x.shape[c_axis + 1 :], kernel, stride, dilation)
    else:
        pad = tuple((p, p) for p in _expand(padding, nd, 0))
    attrs = {
        "kernel_size": kernel, "stride": stride, "padding": pad, "dilation": dilation, "groups": groups,
        "in_channels": x.shape[c_axis], "out_channels": out.shape[c_axis], "channel_axis": c_axis,
        "transposed": transposed,
    }  # fmt: skip
    if transposed:
        attrs["output_padding"] = _expand(c.get("output_padding"), nd, 0)
    rec.emit(
        "conv", [x, rec.weight(w, "weight"), rec.weight(b, "bias")], c.outs, attrs, c.source, c.op
    )


# --- the matmul family ----------------------------------------------------------------------
def linear(rec: Recorder, c: Call) -> None:
    w, b = rec.weight(c["weight"], "weight"), rec.weight(c.get("bias"), "bias")
    rec.emit("linear", [c["input"], w, b], c.outs, {}, c.source, c.op)


def _product(rec: Recorder, c: Call, a: V, b: V, out: V) -> None:
    """``a @ b``: a linear layer when ``b`` is a 2-d weight and ``a`` an activation, else matmul."""
    if rec.is_param(b) and not rec.is_param(a) and len(b.shape) == 2:
        rec.emit("linear", [a, rec.weight(b, "weight")], [out], {}, c.source, c.op)
    else:
        rec.emit("matmul", [a, b], [out], {}, c.source, c.op)


def matmul(rec: Recorder, c: Call) -> None:
    a, b = list(c.tensors())[:2]
    _product(rec, c, a, b, c.outs[0])


def addmm(rec: Recorder, c: Call) -> None:
    """``beta*bias + alpha*(a @ b)`` (addmm, baddbmm, addmv): a linear layer with its bias when
    ``b`` is a weight and ``bias`` a 1-d parameter; otherwise a product plus an add."""
    bias, a, b = c["self"], list(c.tensors())[1], list(c.tensors())[2]
    out = c.outs[0]
    if rec.is_param(b) and len(b.shape) == 2 and rec.is_param(bias) and len(bias.shape) == 1:
        ins = [a, rec.weight(b, "weight"), rec.weight(bias, "bias")]
        rec.emit("linear", ins, [out], {}, c.source, c.op)
        return
    prod = rec.tmp(out.shape, out.dtype)
    if c.op == "addbmm":  # sums the batch of products
        rec.emit("einsum", [a, b], [prod], {"equation": "bij,bjk->ik"}, c.source, c.op)
    else:
        _product(rec, c, a, b, prod)
    rec.emit("add", [prod, bias], [out], {}, c.source, c.op)


def grouped_mm(rec: Recorder, c: Call) -> None:
    """``torch._grouped_mm`` (transformers' MoE experts) and transformers' own
    ``grouped_mm_fallback`` (what it runs under torch.export for float32): one
    ``grouped_matmul``; the stacked expert weights are the parameter itself (a transposed view
    of it names it)."""
    a, b = list(c.tensors())[:2]
    offs = c.get("offs")
    groups = offs.shape[0] if offs is not None else a.shape[0]  # the experts
    ins = [a, rec.weight(b, "weight"), offs]
    rec.emit("grouped_matmul", ins, c.outs, {"groups": groups}, c.source, c.op)


def outer(rec: Recorder, c: Call) -> None:
    rec.emit("einsum", list(c.tensors()), c.outs, {"equation": "i,j->ij"}, c.source, c.op)


def einsum_equation(equation: str, ranks: list[int]) -> str:
    """torch.einsum's equation in explicit ``ab,bc->ac`` form (ellipses and implicit output resolved)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    used = set(eq) & set(string.ascii_letters)
    free = iter(c for c in string.ascii_letters if c not in used)
    n_ell = max(
        (r - len(t.replace("...", "")) for t, r in zip(terms, ranks, strict=True) if "..." in t),
        default=0,
    )
    ell = "".join(next(free) for _ in range(n_ell))
    out_terms = []
    for t, r in zip(terms, ranks, strict=True):
        k = r - len(t.replace("...", ""))
        out_terms.append(t.replace("...", ell[n_ell - k :] if k else ""))
    if not arrow:
        letters = "".join(out_terms)
        rhs = ell + "".join(
            sorted(ch for ch in set(letters) if letters.count(ch) == 1 and ch not in ell)
        )
    else:
        rhs = rhs.replace("...", ell)
    return ",".join(out_terms) + "->" + rhs


def einsum(rec: Recorder, c: Call) -> None:
    ops = list(c.tensors())
    eq = einsum_equation(c["equation"], [len(v.shape) for v in ops])
    rec.emit("einsum", ops, c.outs, {"equation": eq}, c.source, c.op)


# --- normalization, pooling, resampling -------------------------------------------------------------
def batch_norm(rec: Recorder, c: Call) -> None:
    training = bool(c.get("training", False)) or c.op == "_batch_norm_with_update"
    if c.overload == "no_stats" or c.get("running_mean") is None:
        training = True  # no running statistics: normalizes with the batch's own
    if c.op == "instance_norm":
        training = True
    ins = [c["input"]] + [rec.weight(c.get(n), r) for n, r in
                          (("weight", "scale"), ("bias", "shift"), ("running_mean", "mean"), ("running_var", "var"))]  # fmt: skip
    op = "instance_norm" if c.op == "instance_norm" else "batch_norm"
    attrs = (
        {"channel_axis": 1} if op == "instance_norm" else {"channel_axis": 1, "training": training}
    )
    rec.emit(op, ins, c.outs, attrs, c.source, c.op)


def layer_norm(rec: Recorder, c: Call) -> None:
    n = len(c["normalized_shape"])
    ins = [c["input"], rec.weight(c.get("weight"), "scale"), rec.weight(c.get("bias"), "shift")]
    op = "rms_norm" if "rms" in c.op else "layer_norm"
    rec.emit(op, ins, c.outs, {"axes": tuple(range(-n, 0))}, c.source, c.op)


def group_norm(rec: Recorder, c: Call) -> None:
    ins = [c["input"], rec.weight(c.get("weight"), "scale"), rec.weight(c.get("bias"), "shift")]
    groups = c.get("num_groups", c.get("group", 1))
    rec.emit("group_norm", ins, c.outs, {"groups": int(groups), "channel_axis": 1}, c.source, c.op)


def softmax(op: str) -> Handler:
    def handler(rec: Recorder, c: Call) -> None:
        x = c.first()
        rec.emit(op, [x], c.outs, {"axis": _axis(c["dim"], len(x.shape))}, c.source, c.op)

    return handler


def _spatial_dims(name: str) -> int:
    """``max_pool2d_with_indices`` -> 2."""
    m = re.search(r"(\d)d", name)
    return int(m.group(1)) if m else 2


def pool(op: str) -> Handler:
    def handler(rec: Recorder, c: Call) -> None:
        x = c["self"]
        nd = _spatial_dims(c.op)
        k = _expand(c["kernel_size"], nd, 1)
        s = _expand(c.get("stride"), nd, 0) if c.get("stride") else k
        p = _expand(c.get("padding"), nd, 0)
        d = _expand(c.get("dilation"), nd, 1)
        attrs = {"kernel_size": k, "stride": s, "padding": tuple((i, i) for i in p), "dilation": d,
                 "channel_axis": len(x.shape) - nd - 1, "ceil_mode": bool(c.get("ceil_mode", False))}  # fmt: skip
        rec.emit(op, [x], c.outs, attrs, c.source, c.op)

    return handler


def adaptive_pool(op: str) -> Handler:
    def handler(rec: Recorder, c: Call) -> None:
        x, out = c["self"], c.outs[0]
        nd = _spatial_dims(c.op)
        attrs = {"output_size": tuple(out.shape[-nd:]), "channel_axis": len(x.shape) - nd - 1}
        rec.emit(op, [x], c.outs, attrs, c.source, c.op)

    return handler


def resize(rec: Recorder, c: Call) -> None:
    x = c.first()
    mode = "nearest" if "nearest" in c.op else "cubic" if "bicubic" in c.op else "linear"
    attrs = {"mode": mode, "spatial_dims": len(x.shape) - 2}
    rec.emit("resize", [x], c.outs, attrs, c.source, c.op)


_GRID_MODES = {0: "linear", 1: "nearest", 2: "cubic"}  # ATen's interpolation_mode codes


def grid_sample(rec: Recorder, c: Call) -> None:
    """``F.grid_sample`` (flow warping, spatial transformers): interpolation at the grid's
    points, a ``resize`` whose output size is the grid's (the coordinate arithmetic is not counted)."""
    x, grid = c["input"], c["grid"]
    attrs = {
        "mode": _GRID_MODES[int(c.get("interpolation_mode", 0))],
        "spatial_dims": len(x.shape) - 2,
    }
    rec.emit("resize", [x, grid], c.outs, attrs, c.source, c.op)


def hardtanh(rec: Recorder, c: Call) -> None:
    lo, hi = c.get("min_val", -1.0), c.get("max_val", 1.0)
    op = "relu6" if (lo, hi) == (0, 6) else "hardtanh"
    rec.emit(
        op, [c.first()], c.outs, {} if op == "relu6" else {"min": lo, "max": hi}, c.source, c.op
    )


def threshold(rec: Recorder, c: Call) -> None:
    op = "relu" if c.get("threshold", 0) == 0 and c.get("value", 0) == 0 else "where"
    rec.emit(op, [c.first()], c.outs, {}, c.source, c.op)


def prelu(rec: Recorder, c: Call) -> None:
    rec.emit(
        "leaky_relu", [c["self"], rec.weight(c["weight"], "weight")], c.outs, {}, c.source, c.op
    )


def gelu(rec: Recorder, c: Call) -> None:
    rec.emit(
        "gelu", [c.first()], c.outs, {"approximate": c.get("approximate", "none")}, c.source, c.op
    )


def embedding(rec: Recorder, c: Call) -> None:
    rec.emit(
        "embedding",
        [c["indices"], rec.weight(c["weight"], "embedding")],
        c.outs,
        {},
        c.source,
        c.op,
    )


def pad(rec: Recorder, c: Call) -> None:
    """F.pad's flat (lo, hi) list runs from the last dim backwards; the IR wants one pair per dim."""
    x = c.first()
    mode = c.get("mode", "constant") if c.op in ("pad", "constant_pad_nd") else c.op.split("_")[0]
    flat = [int(p) for p in c.get("pad", c.get("padding", ()))]
    pairs = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
    pads = tuple([(0, 0)] * (len(x.shape) - len(pairs)) + pairs[::-1])
    attrs = {"pads": pads, "mode": mode}
    if mode == "constant":
        attrs["value"] = float(c.get("value", 0) or 0)
    rec.emit("pad", [x], c.outs, attrs, c.source, c.op)
