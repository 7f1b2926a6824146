"""A framework-free way to build IR graphs.

Used by the core and metric tests, the built-in example models and plugin
authors. Layer helpers (``conv``, ``linear``, ``batch_norm``...) infer the
output shape, create the parameters and put the op in a scope of its own,
named like a module path::

    b = GraphBuilder("tiny")
    x = b.input("x", (1, 3, 32, 32))
    x = b.conv(x, 16, 3, padding=1, name="conv1")
    x = b.relu(x, name="relu1")
    x = b.flatten(x)
    x = b.linear(x, 10, name="fc")
    graph = b.build(x)

``with b.scope("layer1.0"):`` nests names, like a parent module.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from analyzer.core.graph import Graph
from analyzer.core.ir import Shape, numel
from analyzer.core.ops import Category, builtin_vocabulary
from analyzer.core.recorder import Names, Recorder
from analyzer.core.shapes import (
    broadcast_shapes,
    conv_output_size,
    conv_transpose_output_size,
    ntuple,
    resolve_padding,
)

_ACTIVATIONS = builtin_vocabulary().names(Category.ACTIVATION)  # from op categories, not a list


def _ints(value: tuple[Any, ...]) -> bool:
    """A tuple of ints or of tuples of ints (exact ints: ``(True,) == (1,)`` must not be merged)."""
    return all(type(x) is int or type(x) is tuple and all(type(y) is int for y in x) for x in value)


class GraphBuilder:
    """Builds a ``Graph`` op by op; every helper returns the output tensor name(s).

    A layer on the core ``Recorder`` (``self.rec``), which names and adds everything.
    """

    def __init__(self, name: str = "model", framework: str = "builder", dtype: str = "float32"):
        self.rec = Recorder(name, framework)
        self.graph: Graph = self.rec.graph
        self.dtype = dtype
        self._prefix: list[str] = []
        self._layer_names = Names()  # conv, conv_1...: default names of unnamed layers
        self._values: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # attribute tuples, shared

    # --- naming -------------------------------------------------------------
    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Nest the names of ops created inside, like a parent module."""
        self._prefix.append(name)
        try:
            yield
        finally:
            self._prefix.pop()

    def _scoped(self, name: str | None) -> str:
        parts = [*self._prefix, name] if name else list(self._prefix)
        return ".".join(parts)

    # --- primitives ---------------------------------------------------------
    def input(self, name: str, shape: Sequence[int], dtype: str | None = None) -> str:
        return self.rec.input(name, shape, dtype or self.dtype)

    def param(
        self,
        name: str,
        shape: Sequence[int],
        *,
        dtype: str | None = None,
        trainable: bool = True,
        buffer: bool = False,
        role: str = "weight",
    ) -> str:
        """Declare a parameter (declaring the same one twice shares it)."""
        return self.rec.param(
            name, shape, dtype or self.dtype, trainable=trainable, buffer=buffer, role=role
        )

    def constant(self, name: str, shape: Sequence[int] = (), dtype: str | None = None) -> str:
        return self.rec.constant(name, shape, dtype or self.dtype, unique=False)

    def op(
        self,
        op: str,
        inputs: Sequence[str],
        out_shapes: Sequence[Shape] | Shape,
        attrs: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        dtype: str | None = None,
        scope: str | None = None,
        source_op: str = "",
        out_names: Sequence[str] | None = None,
    ) -> str | tuple[str, ...]:
        """Add one node; returns its output name, or a tuple when it has several.

        ``out_shapes`` is one shape or a list of shapes. The node's scope is
        ``scope`` if given, else the current prefix plus ``name``. Outputs are
        named after the node (``id``, or ``id:0``, ``id:1``...) unless
        ``out_names`` names them.
        """
        many = bool(out_shapes) and not isinstance(out_shapes[0], int)
        shapes = [tuple(s) for s in out_shapes] if many else [tuple(out_shapes)]  # type: ignore[arg-type]
        node_scope = scope if scope is not None else self._scoped(name)
        out_dtype = dtype or (self.graph.spec(inputs[0]).dtype if inputs else self.dtype)
        outs = self.rec.node(
            op, inputs, [(s, out_dtype) for s in shapes], self._attrs(attrs), scope=node_scope,
            base=node_scope or op, source_op=source_op, out_names=out_names,
        )  # fmt: skip
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _attrs(self, attrs: dict[str, Any] | None) -> dict[str, Any]:
        """A copy of ``attrs`` whose tuples of ints (kernel sizes, strides, paddings...) are one
        object per distinct value: a graph of repeated blocks holds a few of them, not millions."""
        if not attrs:
            return {}
        values = self._values
        return {
            k: values.setdefault(v, v) if type(v) is tuple and _ints(v) else v
            for k, v in attrs.items()
        }

    def build(self, *outputs: str, validate: bool = True) -> Graph:
        """Finish: mark ``outputs`` (default: tensors nobody consumes) and validate."""
        return self.rec.finish(list(outputs) if outputs else None, validate=validate)

    def shape(self, t: str) -> Shape:
        return self.graph.shape(t)

    # --- layers -------------------------------------------------------------
    def conv(
        self,
        x: str,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] | Sequence[Sequence[int]] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        transposed: bool = False,
        output_padding: int | Sequence[int] = 0,
        channels_last: bool = False,
        name: str | None = None,
    ) -> str:
        """N-d convolution (N = rank of ``x`` - 2), NCHW unless ``channels_last``."""
        shape = self.shape(x)
        nd = len(shape) - 2
        c_axis = len(shape) - 1 if channels_last else 1
        spatial = shape[2:] if not channels_last else shape[1:-1]
        in_channels = shape[c_axis]
        k = ntuple(kernel_size, nd, "kernel_size")
        s = ntuple(stride, nd, "stride")
        d = ntuple(dilation, nd, "dilation")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"channels {in_channels}->{out_channels} not divisible by groups {groups}")
        pad = resolve_padding(padding, spatial, k, s, d)
        if transposed:
            op_ = ntuple(output_padding, nd, "output_padding")
            out_sp = [conv_transpose_output_size(*a) for a in zip(spatial, k, s, pad, d, op_, strict=True)]
            w_shape = (in_channels, out_channels // groups, *k)
        else:
            out_sp = [conv_output_size(*a) for a in zip(spatial, k, s, pad, d, strict=True)]
            w_shape = (out_channels, in_channels // groups, *k)
        out = (shape[0], *out_sp, out_channels) if channels_last else (shape[0], out_channels, *out_sp)
        scope = self._scoped(name or self._unique_name("conv"))
        ins = [x, self.param(f"{scope}.weight", w_shape)]
        if bias:
            ins.append(self.param(f"{scope}.bias", (out_channels,), role="bias"))
        attrs = dict(
            kernel_size=k, stride=s, padding=pad, dilation=d, groups=groups,
            in_channels=in_channels, out_channels=out_channels, channel_axis=c_axis,
            transposed=transposed,
        )  # fmt: skip
        return self.op("conv", ins, out, attrs, scope=scope)  # type: ignore[return-value]

    def linear(self, x: str, out_features: int, bias: bool = True, *, name: str | None = None) -> str:
        shape = self.shape(x)
        scope = self._scoped(name or self._unique_name("linear"))
        ins = [x, self.param(f"{scope}.weight", (out_features, shape[-1]))]
        if bias:
            ins.append(self.param(f"{scope}.bias", (out_features,), role="bias"))
        return self.op("linear", ins, (*shape[:-1], out_features), scope=scope)  # type: ignore[return-value]

    def batch_norm(self, x: str, *, channels_last: bool = False, name: str | None = None) -> str:
        shape = self.shape(x)
        c_axis = len(shape) - 1 if channels_last else 1
        c = shape[c_axis]
        scope = self._scoped(name or self._unique_name("bn"))
        ins = [
            x,
            self.param(f"{scope}.weight", (c,), role="scale"),
            self.param(f"{scope}.bias", (c,), role="shift"),
            self.param(f"{scope}.running_mean", (c,), trainable=False, buffer=True, role="mean"),
            self.param(f"{scope}.running_var", (c,), trainable=False, buffer=True, role="var"),
        ]
        return self.op("batch_norm", ins, shape, {"channel_axis": c_axis}, scope=scope)  # type: ignore[return-value]

    def layer_norm(self, x: str, axes: Sequence[int] = (-1,), *, affine: bool = True, name: str | None = None) -> str:
        shape = self.shape(x)
        nshape = tuple(shape[a] for a in axes)
        scope = self._scoped(name or self._unique_name("ln"))
        ins = [x]
        if affine:
            ins += [self.param(f"{scope}.weight", nshape, role="scale"),
                    self.param(f"{scope}.bias", nshape, role="shift")]  # fmt: skip
        return self.op("layer_norm", ins, shape, {"axes": tuple(axes)}, scope=scope)  # type: ignore[return-value]

    def activation(self, kind: str, x: str, *, name: str | None = None, **attrs: Any) -> str:
        if kind not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {kind!r}")
        return self.op(kind, [x], self.shape(x), attrs, name=name)  # type: ignore[return-value]

    def relu(self, x: str, *, name: str | None = None) -> str:
        return self.activation("relu", x, name=name)

    def _pool(self, op: str, x: str, kernel_size, stride, padding, ceil_mode, channels_last, name) -> str:
        shape = self.shape(x)
        nd = len(shape) - 2
        spatial = shape[1:-1] if channels_last else shape[2:]
        k = ntuple(kernel_size, nd, "kernel_size")
        s = ntuple(stride if stride is not None else kernel_size, nd, "stride")
        pad = resolve_padding(padding, spatial, k, s, (1,) * nd)
        out_sp = [conv_output_size(i, kk, ss, p, 1, ceil_mode) for i, kk, ss, p in zip(spatial, k, s, pad, strict=True)]
        c_axis = len(shape) - 1 if channels_last else 1
        out = (shape[0], *out_sp, shape[-1]) if channels_last else (*shape[:2], *out_sp)
        attrs = {"kernel_size": k, "stride": s, "padding": pad, "dilation": (1,) * nd, "channel_axis": c_axis}
        return self.op(op, [x], out, attrs, name=name)  # type: ignore[return-value]

    def max_pool(self, x: str, kernel_size, stride=None, padding=0, *, ceil_mode=False,
                 channels_last=False, name: str | None = None) -> str:  # fmt: skip
        return self._pool("max_pool", x, kernel_size, stride, padding, ceil_mode, channels_last, name)

    def avg_pool(self, x: str, kernel_size, stride=None, padding=0, *, ceil_mode=False,
                 channels_last=False, name: str | None = None) -> str:  # fmt: skip
        return self._pool("avg_pool", x, kernel_size, stride, padding, ceil_mode, channels_last, name)

    def global_avg_pool(self, x: str, *, channels_last: bool = False, name: str | None = None) -> str:
        shape = self.shape(x)
        nd = len(shape) - 2
        c_axis = len(shape) - 1 if channels_last else 1
        out = (shape[0], *(1,) * nd, shape[-1]) if channels_last else (*shape[:2], *(1,) * nd)
        attrs = {"output_size": (1,) * nd, "channel_axis": c_axis}
        return self.op("adaptive_avg_pool", [x], out, attrs, name=name)  # type: ignore[return-value]

    def elementwise(self, op: str, *xs: str, name: str | None = None) -> str:
        shape = broadcast_shapes(*(self.shape(t) for t in xs))
        return self.op(op, list(xs), shape, name=name)  # type: ignore[return-value]

    def add(self, a: str, b: str, *, name: str | None = None) -> str:
        return self.elementwise("add", a, b, name=name)

    def mul(self, a: str, b: str, *, name: str | None = None) -> str:
        return self.elementwise("mul", a, b, name=name)

    def reshape(self, x: str, shape: Sequence[int], *, name: str | None = None) -> str:
        shape = tuple(shape)
        if -1 in shape:
            known = numel(tuple(d for d in shape if d != -1))
            shape = tuple(numel(self.shape(x)) // known if d == -1 else d for d in shape)
        return self.op("reshape", [x], shape, name=name)  # type: ignore[return-value]

    def flatten(self, x: str, start_dim: int = 1, *, name: str | None = None) -> str:
        s = self.shape(x)
        return self.reshape(x, (*s[:start_dim], numel(s[start_dim:])), name=name)

    def permute(self, x: str, perm: Sequence[int], *, name: str | None = None) -> str:
        s = self.shape(x)
        return self.op("permute", [x], tuple(s[p] for p in perm), {"perm": tuple(perm)}, name=name)  # type: ignore[return-value]

    def identity(self, x: str, *, name: str | None = None) -> str:
        return self.op("identity", [x], self.shape(x), name=name)  # type: ignore[return-value]

    def softmax(self, x: str, axis: int = -1, *, name: str | None = None) -> str:
        return self.op("softmax", [x], self.shape(x), {"axis": axis}, name=name)  # type: ignore[return-value]

    def concat(self, xs: Sequence[str], axis: int = 1, *, name: str | None = None) -> str:
        shapes = [self.shape(t) for t in xs]
        ax = axis % len(shapes[0])
        out = list(shapes[0])
        out[ax] = sum(s[ax] for s in shapes)
        return self.op("concat", list(xs), tuple(out), {"axis": ax}, name=name)  # type: ignore[return-value]

    def matmul(self, a: str, b: str, *, name: str | None = None) -> str:
        sa, sb = self.shape(a), self.shape(b)
        if len(sa) < 2 or len(sb) < 2:
            raise ValueError("builder.matmul needs operands of rank >= 2")
        if sa[-1] != sb[-2]:
            raise ValueError(f"matmul contraction mismatch {sa} @ {sb}")
        batch = broadcast_shapes(sa[:-2], sb[:-2])
        return self.op("matmul", [a, b], (*batch, sa[-2], sb[-1]), name=name)  # type: ignore[return-value]

    def einsum(self, equation: str, *xs: str, name: str | None = None) -> str:
        lhs, rhs = equation.replace(" ", "").split("->")
        sizes: dict[str, int] = {}
        for term, t in zip(lhs.split(","), xs, strict=True):
            for letter, dim in zip(term, self.shape(t), strict=True):
                if letter not in string.ascii_letters:
                    raise ValueError("builder.einsum takes explicit letters only")
                sizes[letter] = dim
        out = tuple(sizes[c] for c in rhs)
        return self.op("einsum", list(xs), out, {"equation": f"{lhs}->{rhs}"}, name=name)  # type: ignore[return-value]

    def attention(self, q: str, k: str, v: str, mask: str | None = None, *, name: str | None = None) -> str:
        sq, sv = self.shape(q), self.shape(v)
        ins = [q, k, v] + ([mask] if mask else [])
        return self.op("attention", ins, (*sq[:-1], sv[-1]), name=name)  # type: ignore[return-value]

    def embedding(self, idx: str, num: int, dim: int, *, name: str | None = None) -> str:
        scope = self._scoped(name or self._unique_name("embedding"))
        table = self.param(f"{scope}.weight", (num, dim), role="embedding")
        return self.op("embedding", [idx, table], (*self.shape(idx), dim), dtype=self.dtype, scope=scope)  # type: ignore[return-value]

    def _unique_name(self, base: str) -> str:
        return self._layer_names.fresh(base)
