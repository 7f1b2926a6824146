"""Full shape and attribute rules, one per canonical op (strict validation).

``Graph.validate(strict=True)`` runs the rule of every node's op: it checks
the attributes the formulas and passes read (type and range, one error
naming node and attribute) and that the output shapes follow from the
input shapes and attributes, so a graph whose producer and consumer
contradict each other, or whose weight does not match its layer, is
refused before any number is computed. Saved graphs (JSON) are validated
this way on load; frontend graphs get the cheaper ``shape_checks``.

Rules accept what every frontend writes: an optional attribute that is
absent is not checked (the formulas default it), and where frontends differ
(weight layouts) the rule compares element counts, not layouts. Ops added
by plugins have no rule here and are checked structurally only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from analyzer.core.errors import GraphError
from analyzer.core.ir import Node, Shape, numel
from analyzer.core.ops import Category, builtin_vocabulary
from analyzer.core.shapes import broadcast_shapes, conv_output_size, conv_transpose_output_size

if TYPE_CHECKING:
    from analyzer.core.graph import Graph

_MISSING: Any = object()


class NodeCheck:
    """One node's shapes and attributes, with errors that name the node."""

    def __init__(self, graph: Graph, node: Node):
        self.graph, self.node, self.attrs = graph, node, node.attrs
        repeat = node.attrs.get("repeat", 1)
        # a loop body's weights may be stacked over its steps (JAX scan over layers)
        self.repeat = repeat if type(repeat) is int and repeat > 1 else 1

    def fail(self, message: str) -> NoReturn:
        raise GraphError(f"node {self.node.id!r} ({self.node.op}): {message}")

    # --- operands -----------------------------------------------------------
    def arity(self, lo: int, hi: int | None = None, outputs: int | None = None) -> None:
        n = len(self.node.inputs)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if hi == lo else f"{lo} to {hi}" if hi is not None else f"at least {lo}"
            self.fail(f"takes {want} operand(s), got {n}")
        if outputs is not None and len(self.node.outputs) != outputs:
            self.fail(f"produces {outputs} output(s), got {len(self.node.outputs)}")

    def ins(self, i: int) -> Shape:
        return self.graph.shape(self.node.inputs[i])

    def out(self, i: int = 0) -> Shape:
        return self.graph.shape(self.node.outputs[i])

    def expect_out(self, expected: Shape, why: str = "") -> None:
        got = self.out()
        if tuple(got) != tuple(expected):
            self.fail(f"output shape {got} contradicts its inputs: expected {tuple(expected)}{why}")

    # --- attributes ---------------------------------------------------------
    def _bad(self, name: str, want: str, value: Any) -> NoReturn:
        self.fail(f"attribute {name!r} must be {want}, got {value!r}")

    def int_(self, name: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
        """An integer attribute; absent -> ``default`` (present, it must be an integer, not null)."""
        v = self.attrs.get(name, _MISSING)
        if v is _MISSING:
            if default is _MISSING:
                self.fail(f"attribute {name!r} is missing")
            return default
        if type(v) is not int or (minimum is not None and v < minimum):
            self._bad(name, "an integer" + (f" >= {minimum}" if minimum is not None else ""), v)
        return v

    def ints(self, name: str, n: int | None = None, minimum: int | None = None, default: Any = _MISSING) -> Any:
        v = self.attrs.get(name, _MISSING)
        if v is _MISSING:
            if default is _MISSING:
                self.fail(f"attribute {name!r} is missing")
            return default
        ok = isinstance(v, tuple | list) and all(type(d) is int and (minimum is None or d >= minimum) for d in v)
        if not ok or (n is not None and len(v) != n):
            count = f"{n} " if n is not None else ""
            kind = "positive integers" if minimum == 1 else "non-negative integers" if minimum == 0 else "integers"
            self._bad(name, f"a list of {count}{kind}", v)
        return tuple(v)

    def pairs(self, name: str, n: int, default: Any = _MISSING) -> Any:
        v = self.attrs.get(name, _MISSING)
        if v is _MISSING:
            if default is _MISSING:
                self.fail(f"attribute {name!r} is missing")
            return default
        ok = isinstance(v, tuple | list) and len(v) == n
        ok = ok and all(isinstance(p, tuple | list) and len(p) == 2 and all(type(x) is int for x in p) for p in v)
        if not ok:
            self._bad(name, f"a list of {n} (low, high) integer pairs", v)
        return tuple(tuple(p) for p in v)

    def bool_(self, name: str) -> bool:
        v = self.attrs.get(name, False)
        if type(v) is not bool:
            self._bad(name, "true or false", v)
        return v

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        v = self.attrs.get(name, default)
        if v is None and default is None:
            return None
        if v not in choices:
            self._bad(name, "one of " + ", ".join(choices), v)
        return v

    def axis(self, name: str, rank: int, default: Any = _MISSING) -> Any:
        """An axis in ``[-rank, rank)``, returned non-negative (``default`` when absent)."""
        if name not in self.attrs and default is not _MISSING:
            return default
        v = self.int_(name)
        if not -rank <= v < max(rank, 1):
            self._bad(name, f"an axis of a rank-{rank} tensor", v)
        return v % max(rank, 1)

    def axes(self, name: str, rank: int) -> tuple[int, ...] | None:
        """Axes (a list, or one int) in ``[-rank, rank)``, non-negative; None when absent."""
        v = self.attrs.get(name)
        if v is None:
            return None
        items = (v,) if type(v) is int else v
        if not isinstance(items, tuple | list) or any(type(a) is not int or not -rank <= a < max(rank, 1) for a in items):
            self._bad(name, f"axes of a rank-{rank} tensor", v)
        return tuple(a % max(rank, 1) for a in items)

    def numel_of(self, i: int, expected: int, what: str, stacked: bool = False) -> None:
        """Operand ``i`` (a weight) holds ``expected`` elements, whatever its layout.

        A loop body's weight may be stacked over its ``repeat`` steps; with
        ``stacked`` any leading dim is allowed (one expert's slice of an MoE weight).
        """
        if i < len(self.node.inputs):
            shape = self.ins(i)
            n = numel(shape)
            if n not in (expected, expected * self.repeat) and not (stacked and numel(shape[1:]) == expected):
                self.fail(f"{what} {self.node.inputs[i]!r} has shape {shape} ({numel(shape)} elements), "
                          f"the attributes need {expected}")  # fmt: skip


Rule = Callable[[NodeCheck], None]


# --- contractions --------------------------------------------------------------
def _spatial(rank: int, c_axis: int) -> list[int]:
    return [d for d in range(1, rank) if d != c_axis]


def conv(c: NodeCheck) -> None:
    c.arity(2, 3)
    x, out = c.ins(0), c.out()
    if len(x) < 3:
        c.fail(f"input shape {x} has no spatial dimension")
    nd = len(x) - 2
    k = c.ints("kernel_size", nd, 1)
    s = c.ints("stride", nd, 1, (1,) * nd)
    d = c.ints("dilation", nd, 1, (1,) * nd)
    pad = c.pairs("padding", nd, ((0, 0),) * nd)
    groups = c.int_("groups", 1, 1)
    cin, cout = c.int_("in_channels", minimum=1), c.int_("out_channels", minimum=1)
    c_axis = c.axis("channel_axis", len(x), 1)
    transposed = c.bool_("transposed")
    if cin % groups or cout % groups:
        c.fail(f"in_channels {cin} and out_channels {cout} must be divisible by groups {groups}")
    if x[c_axis] != cin:
        c.fail(f"input shape {x} has {x[c_axis]} channels on axis {c_axis}, attribute 'in_channels' says {cin}")
    if len(out) != len(x) or out[0] != x[0] or out[c_axis] != cout:
        c.fail(f"output shape {out} contradicts input {x} and out_channels {cout}")
    for dim, kk, ss, pp, dd in zip(_spatial(len(x), c_axis), k, s, pad, d, strict=True):
        if transposed:  # output_padding (< stride or dilation) is not recorded: allow it
            lo = conv_transpose_output_size(x[dim], kk, ss, pp, dd)
            ok = lo <= out[dim] < lo + max(ss, dd)
        else:
            try:
                lo = conv_output_size(x[dim], kk, ss, pp, dd)
            except ValueError as e:
                c.fail(str(e))
            ok = out[dim] == lo
        if not ok:
            c.fail(f"output shape {out} contradicts input {x}: dimension {dim} should be {lo}")
    c.numel_of(1, cout * (cin // groups) * math.prod(k), "weight")
    c.numel_of(2, cout, "bias")


def linear(c: NodeCheck) -> None:
    """x (*batch, *in) @ W -> (*batch, *out): several in/out dims too (Keras EinsumDense, Flax DenseGeneral)."""
    c.arity(2, 3)
    x, out = c.ins(0), c.out()
    if not x or not out:
        c.fail("needs inputs and outputs of rank >= 1")
    w = c.ins(1)
    sizes = (numel(w), numel(w) // c.repeat, numel(w[1:]))  # whole, one loop step, one expert
    for b in range(min(len(x), len(out)) - 1, -1, -1):
        if x[:b] == out[:b] and numel(x[b:]) * numel(out[b:]) in sizes:
            c.numel_of(2, numel(out[b:]), "bias", stacked=True)
            return
    if x[:-1] != out[:-1]:
        c.fail(f"output shape {out} contradicts input {x}: expected {(*x[:-1], out[-1])}")
    c.numel_of(1, x[-1] * out[-1], "weight")


def matmul_shape(a: Shape, b: Shape) -> Shape:
    """numpy matmul's output shape; ValueError when the operands do not fit."""
    if not a or not b:
        raise ValueError("matmul operands must have rank >= 1")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(f"contraction mismatch {a} @ {b}")
    out = (*broadcast_shapes(a2[:-2], b2[:-2]), a2[-2], b2[-1])
    if len(a) == 1:
        out = (*out[:-2], out[-1])
    if len(b) == 1:
        out = out[:-1]
    return out


def matmul(c: NodeCheck) -> None:
    c.arity(2, 2)
    try:
        c.expect_out(matmul_shape(c.ins(0), c.ins(1)))
    except ValueError as e:
        c.fail(str(e))


def grouped_matmul(c: NodeCheck) -> None:
    """torch._grouped_mm: 2-d x 3-d (experts), 3-d x 3-d (batched), 2-d x 2-d (ragged k), 3-d x 2-d.

    b's last two dims hold k and n in either order (frontends pass the stored weight, not its view).
    """
    c.arity(2, 3)
    a, b, out = c.ins(0), c.ins(1), c.out()
    if len(a) not in (2, 3) or len(b) not in (2, 3) or not out:
        c.fail(f"operands {a} and {b} must be 2-d or 3-d")
    k = a[-1]
    if len(a) == 3 and len(b) == 2:
        return  # k is split across groups of a: nothing fixed to compare
    if k not in b[-2:]:
        c.fail(f"contraction mismatch {a} x {b}: no dim of {b[-2:]} is {k}")
    n = b[-1] if b[-2] == k else b[-2]
    expected = {(2, 3): (a[0], n), (3, 3): (a[0], a[1], n)}.get((len(a), len(b)))
    if expected is not None:
        c.expect_out(expected)
    elif out[1:] != (a[0], n):
        c.fail(f"output shape {out} should be (groups, {a[0]}, {n})")


def dot_general(c: NodeCheck) -> None:
    c.arity(2, 2)
    lhs, rhs = c.ins(0), c.ins(1)
    lc, rc = c.ints("lhs_contracting"), c.ints("rhs_contracting", default=())
    lb, rb = c.ints("lhs_batch", default=()), c.ints("rhs_batch", default=())
    for name, dims, shape in (("lhs_contracting", lc, lhs), ("rhs_contracting", rc, rhs),
                              ("lhs_batch", lb, lhs), ("rhs_batch", rb, rhs)):  # fmt: skip
        if any(not 0 <= d < len(shape) for d in dims) or len(set(dims)) != len(dims):
            c._bad(name, f"distinct dims of a rank-{len(shape)} operand", dims)
    if "rhs_contracting" in c.attrs and [lhs[d] for d in lc] != [rhs[d] for d in rc]:
        c.fail(f"contracting dims {lc} of {lhs} and {rc} of {rhs} differ in size")
    if "rhs_batch" in c.attrs and [lhs[d] for d in lb] != [rhs[d] for d in rb]:
        c.fail(f"batch dims {lb} of {lhs} and {rb} of {rhs} differ in size")
    if "rhs_contracting" in c.attrs and ("rhs_batch" in c.attrs or not lb):
        free_l = [lhs[d] for d in range(len(lhs)) if d not in lc and d not in lb]
        free_r = [rhs[d] for d in range(len(rhs)) if d not in rc and d not in rb]
        c.expect_out((*(lhs[d] for d in lb), *free_l, *free_r))


def einsum(c: NodeCheck) -> None:
    c.arity(1)
    eq = c.attrs.get("equation")
    if not isinstance(eq, str) or eq.count("->") != 1:
        c._bad("equation", "an explicit einsum equation such as 'ab,bc->ac'", eq)
    lhs, rhs = eq.replace(" ", "").split("->")
    terms = lhs.split(",")
    if len(terms) != len(c.node.inputs) or not all(t.isalpha() for t in terms) or not (rhs.isalpha() or rhs == ""):
        c._bad("equation", f"letters only, one term per operand ({len(c.node.inputs)})", eq)
    sizes: dict[str, int] = {}
    for i, term in enumerate(terms):
        shape = c.ins(i)
        if len(term) != len(shape):
            c.fail(f"equation term {term!r} does not match operand shape {shape}")
        for letter, dim in zip(term, shape, strict=True):
            old = sizes.get(letter, dim)
            if old != dim and 1 not in (old, dim):
                c.fail(f"index {letter!r} has sizes {old} and {dim}")
            sizes[letter] = max(old, dim)
    if any(ch not in sizes for ch in rhs):
        c._bad("equation", "an output using only input indices", eq)
    c.expect_out(tuple(sizes[ch] for ch in rhs))


def attention(c: NodeCheck) -> None:
    c.arity(3, 4)
    q, k, v = c.ins(0), c.ins(1), c.ins(2)
    if min(len(q), len(k), len(v)) < 2:
        c.fail("q, k and v must have rank >= 2 (..., L, E)")
    if q[-1] != k[-1] or k[-2] != v[-2]:
        c.fail(f"q {q}, k {k} and v {v} do not fit (q and k share E, k and v share L)")
    c.bool_("is_causal")
    c.expect_out((*q[:-1], v[-1]))


def rnn(c: NodeCheck) -> None:
    c.arity(1)
    c.choice("cell", ("lstm", "gru", "rnn"))
    if "cell" not in c.attrs:
        c.fail("attribute 'cell' is missing")
    sizes = {n: c.int_(n, minimum=1) for n in ("hidden_size", "input_size", "steps", "batch")}
    c.int_("num_layers", 1, 1)
    c.int_("n_biases", 0, 0)
    c.bool_("bidirectional")
    c.choice("nonlinearity", ("tanh", "relu"))
    x = c.ins(0)
    want = sizes["batch"] * sizes["steps"] * sizes["input_size"]
    if numel(x) != want:
        c.fail(f"input shape {x} does not hold batch x steps x input_size = {want} elements")


# --- elementwise, activations, normalization -------------------------------------
def same_shape(c: NodeCheck) -> None:
    c.arity(1, None, None)
    if c.out() != c.ins(0):
        c.fail(f"maps shape {c.ins(0)} to {c.out()}")


def broadcasting(c: NodeCheck) -> None:
    c.arity(1, None, 1)
    try:
        c.expect_out(broadcast_shapes(*(c.ins(i) for i in range(len(c.node.inputs)))), " (their broadcast)")
    except ValueError as e:
        c.fail(str(e))


def kind_op(kinds: tuple[str, ...]) -> Rule:
    def rule(c: NodeCheck) -> None:
        c.choice("kind", kinds)
        broadcasting(c)

    return rule


def gelu(c: NodeCheck) -> None:
    c.choice("approximate", ("none", "tanh"))
    same_shape(c)


def softmax(c: NodeCheck) -> None:
    same_shape(c)
    if c.node.op == "log_softmax" or c.attrs.get("axis", 0) is None:
        c.axis("axis", len(c.ins(0)), -1)  # its formula indexes the shape with it
    else:
        c.axes("axis", len(c.ins(0)))


def _channels(c: NodeCheck) -> int | None:
    x = c.ins(0)
    axis = c.axis("channel_axis", len(x), None)
    return None if axis is None else x[axis]


def _norm_params(c: NodeCheck, count: int | None) -> None:
    if count is None:
        return
    for i in range(1, len(c.node.inputs)):
        if c.graph.is_param(c.node.inputs[i]):
            c.numel_of(i, count, c.graph.params[c.node.inputs[i]].role)


def batch_norm(c: NodeCheck) -> None:
    same_shape(c)
    c.bool_("training")
    _norm_params(c, _channels(c))


def axes_norm(c: NodeCheck) -> None:
    same_shape(c)
    x = c.ins(0)
    axes = c.axes("axes", len(x))
    _norm_params(c, None if axes is None else math.prod(x[a] for a in axes))


def group_norm(c: NodeCheck) -> None:
    same_shape(c)
    channels = _channels(c)
    groups = c.int_("groups", None, 1)
    if channels is not None and groups is not None and channels % groups:
        c.fail(f"{channels} channels are not divisible by groups {groups}")
    _norm_params(c, channels)


def instance_norm(c: NodeCheck) -> None:
    same_shape(c)
    _norm_params(c, _channels(c))


# --- pooling, reductions -----------------------------------------------------------
def pool(c: NodeCheck) -> None:
    c.arity(1, 1)
    x, out = c.ins(0), c.out()
    if len(out) != len(x):
        c.fail(f"maps rank {len(x)} ({x}) to rank {len(out)} ({out})")
    k = c.ints("kernel_size", None, 1)
    n = len(k)
    s = c.ints("stride", n, 1, k)
    d = c.ints("dilation", n, 1, (1,) * n)
    pad = c.pairs("padding", n, ((0, 0),) * n)
    c_axis = c.axis("channel_axis", len(x), 1)
    if n != len(x) - 2 or c_axis == 0:
        return  # a window over other dims (JAX reduce_window): the rank check is all
    if out[0] != x[0] or out[c_axis] != x[c_axis]:
        c.fail(f"output shape {out} changes the batch or channels of {x}")
    for dim, kk, ss, pp, dd in zip(_spatial(len(x), c_axis), k, s, pad, d, strict=True):
        try:
            options = {conv_output_size(x[dim], kk, ss, pp, dd, ceil) for ceil in (False, True)}
        except ValueError as e:
            c.fail(str(e))
        if out[dim] not in options:
            c.fail(f"output shape {out} contradicts input {x}: dimension {dim} should be {min(options)}")


def adaptive_pool(c: NodeCheck) -> None:
    c.arity(1, 1)
    x, out = c.ins(0), c.out()
    c_axis = c.axis("channel_axis", len(x), 1)
    if len(out) != len(x) or out[0] != x[0] or out[c_axis] != x[c_axis]:
        c.fail(f"output shape {out} changes the rank, batch or channels of {x}")
    if "output_size" in c.attrs and isinstance(c.attrs["output_size"], tuple | list):
        sizes = c.attrs["output_size"]
        spatial = _spatial(len(x), c_axis)
        if len(sizes) == len(spatial):
            for dim, want in zip(spatial, sizes, strict=True):
                if want is not None and (type(want) is not int or want < 1 or out[dim] != want):
                    c.fail(f"output shape {out} contradicts attribute 'output_size' {tuple(sizes)}")
    elif "output_size" in c.attrs and type(c.attrs["output_size"]) is not int:
        c._bad("output_size", "an integer or a list of them", c.attrs["output_size"])


def reduction(c: NodeCheck) -> None:
    c.arity(1, 1, None)
    x, out = c.ins(0), c.out()
    keepdims = c.attrs.get("keepdims")
    if keepdims is not None:
        c.bool_("keepdims")
    axes = c.axes("axes", len(x))
    if axes is None:
        axes = c.axes("axis", len(x))
    if axes is None:
        if numel(out) > numel(x):
            c.fail(f"output {out} is larger than its input {x}")
        return
    kept = tuple(1 if i in axes else n for i, n in enumerate(x))
    dropped = tuple(n for i, n in enumerate(x) if i not in axes)
    allowed = {True: [kept], False: [dropped], None: [kept, dropped]}[keepdims]
    if out not in allowed:
        c.fail(f"output shape {out} contradicts reducing axes {axes} of {x}: expected {allowed[0]}")


def cumsum(c: NodeCheck) -> None:
    same_shape(c)
    c.axes("axis", len(c.ins(0)))


# --- views and data movement ----------------------------------------------------------
def reshape(c: NodeCheck) -> None:
    c.arity(1, None)
    if numel(c.ins(0)) != numel(c.out()):
        c.fail(f"changes the element count: {c.ins(0)} -> {c.out()}")


def permute(c: NodeCheck) -> None:
    c.arity(1, 1)
    x = c.ins(0)
    perm = c.ints("perm", None, None, None)
    if perm is None:
        if sorted(x) != sorted(c.out()):
            c.fail(f"{x} -> {c.out()} is not a permutation")
        return
    if sorted(perm) != list(range(len(x))):
        c._bad("perm", f"a permutation of the {len(x)} axes", perm)
    c.expect_out(tuple(x[p] for p in perm))


def expand(c: NodeCheck) -> None:
    c.arity(1, None)
    x, out = c.ins(0), c.out()
    try:
        ok = len(out) >= len(x) and broadcast_shapes(x, out) == out
    except ValueError:
        ok = False
    if not ok:
        c.fail(f"{x} cannot broadcast to {out}")


def shrinking(c: NodeCheck) -> None:
    """slice, gather-free views: outputs are no larger than the input."""
    c.arity(1, None, None)
    x = c.ins(0)
    for i in range(len(c.node.outputs)):
        if numel(c.out(i)) > numel(x):
            c.fail(f"output {c.out(i)} is larger than its input {x}")


def split(c: NodeCheck) -> None:
    shrinking(c)
    total = sum(numel(c.out(i)) for i in range(len(c.node.outputs)))
    if total > numel(c.ins(0)):
        c.fail(f"outputs hold {total} elements, the input {c.ins(0)} only {numel(c.ins(0))}")


def concat(c: NodeCheck) -> None:
    c.arity(1, None)
    out = c.out()
    axis = c.axis("axis", len(out), 0)
    total = 0
    for i in range(len(c.node.inputs)):
        s = c.ins(i)
        if s == (0,):
            continue  # torch.cat skips a legacy empty 1-d operand (an empty KV cache)
        if len(s) != len(out) or any(a != b for j, (a, b) in enumerate(zip(s, out, strict=True)) if j != axis):
            c.fail(f"operand shape {s} does not fit output {out} along axis {axis}")
        total += s[axis]
    if total != out[axis]:
        c.fail(f"operands add up to {total} along axis {axis}, the output has {out[axis]}")


def stack(c: NodeCheck) -> None:
    c.arity(1, None)
    out = c.out()
    axis = c.axis("axis", len(out), 0)
    for i in range(len(c.node.inputs)):
        s = c.ins(i)
        if (*out[:axis], *out[axis + 1 :]) != s:
            c.fail(f"operand shape {s} does not fit output {out} stacked on axis {axis}")
    if out[axis] % len(c.node.inputs):
        c.fail(f"output {out} does not stack {len(c.node.inputs)} operand(s) on axis {axis}")


def pad(c: NodeCheck) -> None:
    c.arity(1, 2)
    x, out = c.ins(0), c.out()
    c.choice("mode", ("constant", "reflect", "replicate", "circular", "edge", "symmetric", "wrap"))
    pads = c.pairs("pads", len(x), None)
    interior = c.ints("interior", len(x), 0, (0,) * len(x))
    if len(out) != len(x):
        c.fail(f"maps rank {len(x)} to rank {len(out)}")
    if pads is not None:
        c.expect_out(tuple(n + lo + hi + i * max(n - 1, 0) for n, (lo, hi), i in zip(x, pads, interior, strict=True)))


def scatter(c: NodeCheck) -> None:
    c.arity(1, None)
    c.expect_out(c.ins(0), " (the shape of the tensor scattered into)")


def same_numel(c: NodeCheck) -> None:
    c.arity(1, None)
    if numel(c.ins(0)) != numel(c.out()):
        c.fail(f"changes the element count: {c.ins(0)} -> {c.out()}")


def multiple(c: NodeCheck) -> None:
    """tile, one_hot: the output repeats the input a whole number of times."""
    c.arity(1, None)
    x, out = c.ins(0), c.out()
    if len(out) < len(x) or (numel(x) and numel(out) % numel(x)):
        c.fail(f"output {out} is not a whole repetition of {x}")


def flip(c: NodeCheck) -> None:
    same_shape(c)
    c.axes("axes", len(c.ins(0)))


def embedding(c: NodeCheck) -> None:
    c.arity(2, 2)
    idx, table, out = c.ins(0), c.ins(1), c.out()
    if len(table) != 2:
        c.fail(f"table shape {table} should be (rows, dim)")
    # JAX gathers may carry an index-vector dim: rows looked up <= index elements
    if not out or out[-1] != table[1] or numel(out) // table[1] > max(numel(idx), 1):
        c.fail(f"output shape {out} contradicts looking up {idx} in a table of shape {table}: expected {(*idx, table[1])}")


def resize(c: NodeCheck) -> None:
    c.arity(1, None)
    x, out = c.ins(0), c.out()
    c.choice("mode", ("nearest", "linear", "cubic", "area"), "nearest")
    nd = c.int_("spatial_dims", None, 0)
    if len(out) != len(x) or (x and out[0] != x[0]):
        c.fail(f"output {out} changes the rank or batch of {x}")
    if nd is not None and nd > len(x):
        c._bad("spatial_dims", f"at most the rank {len(x)}", nd)


def sort(c: NodeCheck) -> None:
    c.arity(1, None, None)
    x = c.ins(0)
    for i in range(len(c.node.outputs)):
        out = c.out(i)
        if len(out) != len(x) or any(o > n for o, n in zip(out, x, strict=True)):
            c.fail(f"output {out} is not a sort or top-k of {x}")


def gather(c: NodeCheck) -> None:
    """index/take: the output shape depends on the indices; the axis must be the input's."""
    c.arity(1, None)
    c.axes("axis", len(c.ins(0)))


def data_sized(c: NodeCheck) -> None:
    """nonzero, unique: as many rows as values found, never more than the input holds."""
    c.arity(1, None)
    x = c.ins(0)
    for i in range(len(c.node.outputs)):
        out = c.out(i)
        if len(out) > 2 or (out and out[0] > max(numel(x), 1)):
            c.fail(f"output {out} cannot come from an input of shape {x}")


def anything(c: NodeCheck) -> None:
    """constant and unknown: no operand or shape contract."""


# Every activation (from the vocabulary, so a new built-in one needs no entry here) keeps its
# input's shape; one with attributes to check (gelu) has its own rule below.
_ACTIVATIONS = tuple(sorted(builtin_vocabulary().names(Category.ACTIVATION)))
_UNARY = ("neg", "abs", "exp", "log", "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos", "erf",
          "sign", "floor", "ceil", "round", "cast", "identity", *_ACTIVATIONS)  # fmt: skip
_BINARY = ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "mod", "where", "clamp", "fma")

RULES: dict[str, Rule] = {
    "conv": conv, "linear": linear, "matmul": matmul, "dot_general": dot_general,
    "einsum": einsum, "attention": attention, "rnn": rnn,
    **dict.fromkeys(_UNARY, same_shape), **dict.fromkeys(_BINARY, broadcasting),  # gelu: below
    "compare": kind_op(("eq", "ne", "lt", "le", "gt", "ge")),
    "logical": kind_op(("and", "or", "not", "xor")),
    "gelu": gelu, "softmax": softmax, "log_softmax": softmax, "batch_norm": batch_norm,
    "layer_norm": axes_norm, "rms_norm": axes_norm, "group_norm": group_norm,
    "instance_norm": instance_norm, "max_pool": pool, "avg_pool": pool,
    "adaptive_avg_pool": adaptive_pool, "adaptive_max_pool": adaptive_pool,
    **dict.fromkeys(("reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
                     "argmax", "argmin", "reduce_var"), reduction),
    "cumsum": cumsum, "reshape": reshape, "permute": permute, "expand": expand,
    "slice": shrinking, "split": split, "concat": concat, "stack": stack, "pad": pad,
    "gather": gather, "scatter": scatter, "copy": same_numel, "tile": multiple,
    "one_hot": multiple, "flip": flip, "nonzero": data_sized, "unique": data_sized,
    "grouped_matmul": grouped_matmul, "embedding": embedding, "resize": resize, "sort": sort,
    "constant": anything, "unknown": anything,
}  # fmt: skip


def _param_slices(c: NodeCheck, node: Node) -> None:
    """{weight operand: k}: each of the node's runs reads one of k slices, 1 <= k <= repeat."""
    marks = node.attrs["param_slices"]
    if not isinstance(marks, dict):
        c._bad("param_slices", "a mapping of weight operands to slice counts", marks)
    for name, k in marks.items():
        if name not in node.inputs or name not in c.graph.params:
            c.fail(f"attribute 'param_slices' names {name!r}, not a weight operand of the node")
        if type(k) is not int or not 1 <= k <= c.repeat:
            c._bad("param_slices", f"slice counts between 1 and the repeat ({c.repeat})", marks)


def check_node_strict(graph: Graph, node: Node) -> None:
    """Run ``node``'s op rule and the attributes every op shares; GraphError on the first problem."""
    c = NodeCheck(graph, node)
    if "repeat" in node.attrs:
        c.int_("repeat", minimum=1)
    if "param_slices" in node.attrs:
        _param_slices(c, node)
    if not node.outputs:
        c.fail("produces no output")
    rule = RULES.get(node.op)
    if rule is not None:
        rule(c)
