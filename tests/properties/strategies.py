"""Hypothesis strategies shared by the property tests and ``bench/fuzz.py``.

Two generators:

- ``architectures()``: one framework-neutral description of a CNN (conv /
  grouped / depthwise / batch norm / activation / pooling / residual blocks,
  then flatten or global pooling and a dense head of linear / layer norm /
  activation / residual blocks), which the cross-framework tests build in
  PyTorch, Keras and Flax and ``build_arch_ir`` builds with ``GraphBuilder``.
- ``ir_recipes()``: a random valid IR graph as a replayable list of
  ``GraphBuilder`` calls (the CNN description plus branches, concatenation,
  token mixing with matmul / einsum / attention / softmax), so the same
  graph can be rebuilt at another batch size.

Sizes stay small: every example analyses in milliseconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from analyzer import GraphBuilder
from analyzer.core.graph import Graph
from analyzer.core.shapes import ntuple, resolve_padding

# Multiplies every example budget: 1 in CI, large in bench/fuzz.py.
SCALE_VARIABLE = "ANALYZER_FUZZ_SCALE"


def budget(examples: int) -> settings:
    """Settings for a property: ``examples`` in CI, times $ANALYZER_FUZZ_SCALE in long runs.

    CI runs are derandomized (the same examples every run: a red build is
    reproducible); long runs explore with fresh random seeds.
    """
    fuzzing = SCALE_VARIABLE in os.environ
    scale = float(os.environ.get(SCALE_VARIABLE, "1"))
    return settings(
        max_examples=max(1, round(examples * scale)),
        deadline=None,
        derandomize=not fuzzing,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


CI = budget(30)  # framework-free graphs analyse in milliseconds
CI_FRAMEWORKS = budget(8)  # three framework captures per example

# activation functions every framework (and the builder) has under one meaning
ACTIVATIONS = (
    "relu", "relu6", "sigmoid", "tanh", "silu", "gelu", "gelu_tanh", "hardswish", "hardsigmoid",
    "hardtanh", "leaky_relu", "elu", "selu", "softplus", "mish", "softmax",
)  # fmt: skip
# GraphBuilder.activation's kinds (the random IR graphs use them all)
BUILDER_ACTIVATIONS = (
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "sigmoid", "tanh",
    "hardswish", "hardsigmoid", "softplus", "mish", "hardtanh",
)  # fmt: skip


# --- the architecture description -------------------------------------------
@dataclass(frozen=True)
class Conv:
    """(height, width) kernel, stride and symmetric padding: non-square on purpose."""

    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    groups: int
    bias: bool
    dilation: int = 1  # > 1 only with stride 1 (Keras refuses both)
    tf_same: bool = False  # padding "same" by TensorFlow's rule (low side gets the smaller half)


@dataclass(frozen=True)
class Depthwise:
    kernel: int
    stride: int
    padding: int
    bias: bool


@dataclass(frozen=True)
class BatchNorm:
    pass


@dataclass(frozen=True)
class GroupNorm:
    groups: int


@dataclass(frozen=True)
class Dropout:
    pass


@dataclass(frozen=True)
class Activation:
    kind: str


@dataclass(frozen=True)
class Pool:
    kind: str  # "max" | "avg"
    kernel: int
    stride: int


@dataclass(frozen=True)
class Residual:
    body: tuple[Any, ...]  # shape-preserving blocks; the block returns x + body(x)


@dataclass(frozen=True)
class Linear:
    out_features: int
    bias: bool


@dataclass(frozen=True)
class LayerNorm:
    pass


@dataclass(frozen=True)
class Arch:
    """``batch`` x ``channels`` x ``size`` (height, width) in, ``features`` on the image,
    ``head`` ("flatten", "gap" or "gmp": global average / max pooling) to a vector,
    then ``classifier`` on the vector."""

    batch: int
    channels: int
    size: tuple[int, int]
    features: tuple[Any, ...]
    head: str
    classifier: tuple[Any, ...]


def conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def same_pads(hw: tuple[int, int], conv: Conv) -> tuple[tuple[int, int], tuple[int, int]]:
    """(low, high) padding per dim of ``padding="same"``: output ceil(size / stride)."""
    pads = []
    for n, k, s in zip(hw, conv.kernel, conv.stride, strict=True):
        total = max((-(-n // s) - 1) * s + conv.dilation * (k - 1) + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads[0], pads[1]


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


Size = tuple[int, int]  # (height, width)


@st.composite
def _conv(draw, c: int, hw: Size, same: bool) -> Conv:
    """A convolution from ``c`` channels at ``hw``; ``same``: keeps the shape."""
    dilation = 1
    if same:
        kernel = (draw(st.sampled_from((1, 3))), draw(st.sampled_from((1, 3))))
        stride, padding, out = (1, 1), ((kernel[0] - 1) // 2, (kernel[1] - 1) // 2), c
    else:
        out = draw(st.integers(1, 8))
        padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
        kernel = tuple(
            draw(st.integers(1, min(3, n + 2 * p))) for n, p in zip(hw, padding, strict=True)
        )
        stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        fits = all(
            2 * (k - 1) + 1 <= n + 2 * p for k, n, p in zip(kernel, hw, padding, strict=True)
        )
        if stride == (1, 1) and max(kernel) > 1 and fits:
            dilation = draw(st.integers(1, 2))
    groups = draw(st.sampled_from(divisors(math.gcd(c, out))))
    tf_same = not same and draw(st.integers(0, 2)) == 0
    if tf_same:
        padding = (0, 0)
    return Conv(out, kernel, stride, padding, groups, draw(st.booleans()), dilation, tf_same)  # type: ignore[arg-type]


@st.composite
def _depthwise(draw, hw: Size, same: bool) -> Depthwise:
    if same:
        kernel = draw(st.sampled_from((1, 3)))
        return Depthwise(kernel, 1, (kernel - 1) // 2, draw(st.booleans()))
    padding = draw(st.integers(0, 1))
    kernel = draw(st.integers(1, min(3, min(hw) + 2 * padding)))
    return Depthwise(kernel, draw(st.integers(1, 2)), padding, draw(st.booleans()))


@st.composite
def _feature_block(draw, c: int, hw: Size, same: bool, depth: int) -> Any:
    kinds = ["conv", "depthwise", "bn", "gn", "act", "dropout"]
    if not same:
        kinds.append("pool")
    if depth <= 1:  # residuals nest once
        kinds.append("residual")
    kind = draw(st.sampled_from(kinds))
    if kind == "conv":
        return draw(_conv(c, hw, same))
    if kind == "depthwise":
        return draw(_depthwise(hw, same))
    if kind == "bn":
        return BatchNorm()
    if kind == "gn":
        return GroupNorm(draw(st.sampled_from(divisors(c))))
    if kind == "dropout":
        return Dropout()
    if kind == "act":
        return Activation(draw(st.sampled_from(ACTIVATIONS)))
    if kind == "pool":
        kernel = draw(st.integers(1, min(3, *hw)))
        return Pool(draw(st.sampled_from(("max", "avg"))), kernel, draw(st.integers(1, 2)))
    body = tuple(draw(st.lists(_feature_block(c, hw, True, depth + 1), min_size=1, max_size=3)))
    return Residual(body)


def feature_shape(block: Any, c: int, hw: Size) -> tuple[int, Size]:
    """Channels and (height, width) after ``block``."""
    h, w = hw
    if isinstance(block, Conv) and block.tf_same:
        return block.out_channels, (-(-h // block.stride[0]), -(-w // block.stride[1]))
    if isinstance(block, Conv):
        k, s, p, d = block.kernel, block.stride, block.padding, block.dilation
        return block.out_channels, (
            conv_out(h, k[0], s[0], p[0], d),
            conv_out(w, k[1], s[1], p[1], d),
        )
    if isinstance(block, Depthwise):
        k, s, p = block.kernel, block.stride, block.padding
        return c, (conv_out(h, k, s, p), conv_out(w, k, s, p))
    if isinstance(block, Pool):
        return c, (
            conv_out(h, block.kernel, block.stride, 0),
            conv_out(w, block.kernel, block.stride, 0),
        )
    return c, hw


@st.composite
def _dense_block(draw, f: int, depth: int) -> Any:
    kinds = ["linear", "ln", "bn", "act", "dropout"] + (["residual"] if depth <= 1 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "linear":
        out = f if depth else draw(st.integers(1, 12))
        return Linear(out, draw(st.booleans()))
    if kind == "ln":
        return LayerNorm()
    if kind == "bn":
        return BatchNorm()
    if kind == "dropout":
        return Dropout()
    if kind == "act":
        return Activation(draw(st.sampled_from(ACTIVATIONS)))
    return Residual(tuple(draw(st.lists(_dense_block(f, depth + 1), min_size=1, max_size=3))))


@st.composite
def architectures(draw, max_blocks: int = 5) -> Arch:
    batch = draw(st.integers(1, 3))
    c = channels = draw(st.integers(1, 6))
    hw = size = (draw(st.integers(3, 10)), draw(st.integers(3, 10)))
    features = []
    for _ in range(draw(st.integers(0, max_blocks))):
        block = draw(_feature_block(c, hw, False, 0))
        features.append(block)
        c, hw = feature_shape(block, c, hw)
    head = draw(st.sampled_from(("flatten", "gap", "gmp")))
    f = c * hw[0] * hw[1] if head == "flatten" else c
    classifier = []
    for _ in range(draw(st.integers(0, 3))):
        block = draw(_dense_block(f, 0))
        classifier.append(block)
        if isinstance(block, Linear):
            f = block.out_features
    return Arch(batch, channels, size, tuple(features), head, tuple(classifier))


# --- the description built with GraphBuilder (NCHW) ------------------------
def build_arch_ir(arch: Arch, batch: int | None = None) -> Graph:
    b = GraphBuilder("arch")
    x = b.input("x", (batch or arch.batch, arch.channels, *arch.size))
    for i, block in enumerate(arch.features):
        x = _ir_block(b, block, x, f"b{i}")
    if arch.head == "gap":
        x = b.global_avg_pool(x, name="gap")
    elif arch.head == "gmp":
        attrs = {"output_size": (1, 1), "channel_axis": 1}
        x = b.op("adaptive_max_pool", [x], (*b.shape(x)[:2], 1, 1), attrs, name="gmp")  # type: ignore[assignment]
    x = b.flatten(x, name="flatten")
    for i, block in enumerate(arch.classifier):
        x = _ir_block(b, block, x, f"fc{i}")
    return b.build(x)


def _ir_block(b: GraphBuilder, block: Any, x: str, name: str) -> str:
    if isinstance(block, Conv):
        padding = "same" if block.tf_same else block.padding
        return b.conv(x, block.out_channels, block.kernel, block.stride, padding,
                      block.dilation, block.groups, block.bias, name=name)  # fmt: skip
    if isinstance(block, Depthwise):
        c = b.shape(x)[1]
        return b.conv(x, c, block.kernel, block.stride, block.padding, groups=c,
                      bias=block.bias, name=name)  # fmt: skip
    if isinstance(block, BatchNorm):
        return b.batch_norm(x, name=name)
    if isinstance(block, GroupNorm):
        c = b.shape(x)[1]
        scale = b.param(f"{name}.weight", (c,), role="scale")
        shift = b.param(f"{name}.bias", (c,), role="shift")
        attrs = {"groups": block.groups, "channel_axis": 1}
        return b.op("group_norm", [x, scale, shift], b.shape(x), attrs, name=name)  # type: ignore[return-value]
    if isinstance(block, Dropout):
        return b.identity(x, name=name)
    if isinstance(block, Activation):
        if block.kind == "softmax":
            return b.softmax(x, axis=1, name=name)  # channels: NCHW images, vectors alike
        if block.kind == "gelu_tanh":
            return b.activation("gelu", x, name=name, approximate="tanh")
        return b.activation(block.kind, x, name=name)
    if isinstance(block, Pool):
        pool = b.max_pool if block.kind == "max" else b.avg_pool
        return pool(x, block.kernel, block.stride, name=name)
    if isinstance(block, Linear):
        return b.linear(x, block.out_features, block.bias, name=name)
    if isinstance(block, LayerNorm):
        return b.layer_norm(x, name=name)
    assert isinstance(block, Residual)
    y = x
    for j, inner in enumerate(block.body):
        y = _ir_block(b, inner, y, f"{name}.body.{j}")
    return b.add(x, y, name=name)


# --- random IR graphs as replayable GraphBuilder calls -----------------------
def _tied_linear(b: GraphBuilder, x: str, weight: str, bias: str | None, *, name: str) -> str:
    """A linear layer reusing an earlier layer's weight (tied weights: counted once)."""
    ins = [x, weight] + ([bias] if bias else [])
    out = (*b.shape(x)[:-1], b.graph.params[weight].shape[0])
    return b.op("linear", ins, out, name=name)  # type: ignore[return-value]


def _repeat(b: GraphBuilder, node: str, times: int) -> None:
    """Mark ``node`` as a loop body run ``times`` times (docs/ir.md, Loops)."""
    b.graph.node(node).attrs["repeat"] = times


def _unused(b: GraphBuilder, name: str, shape: tuple[int, ...], trainable: bool) -> None:
    """A parameter no op reads: counted in the totals, in no layer (docs/metrics.md)."""
    b.param(name, shape, trainable=trainable)


def _padded_conv(b: GraphBuilder, x: str, out: int, kernel, stride, padding, dilation, groups, bias,
                 *, name: str) -> str:  # fmt: skip
    """``conv(x, padding=p)`` written as a zero ``pad`` then an unpadded conv (Keras's form)."""
    spatial = b.shape(x)[2:]
    k, s, d = ntuple(kernel, 2, "k"), ntuple(stride, 2, "s"), ntuple(dilation, 2, "d")
    pairs = resolve_padding(padding, spatial, k, s, d)
    padded = (*b.shape(x)[:2], *(n + lo + hi for n, (lo, hi) in zip(spatial, pairs, strict=True)))
    attrs = {"pads": ((0, 0), (0, 0), *pairs), "mode": "constant", "value": 0}
    p = b.op("pad", [x], padded, attrs, name=f"{name}.pad")
    return b.conv(p, out, kernel, stride, 0, dilation, groups, bias, name=name)  # type: ignore[arg-type]


def _enter(b: GraphBuilder, scope: str) -> None:
    """Open ``b.scope(scope)``: the unnamed ops until ``_exit`` share it (one layer)."""
    manager = b.scope(scope)
    manager.__enter__()
    b.__dict__.setdefault("_open_scopes", []).append(manager)


def _exit(b: GraphBuilder) -> None:
    b.__dict__["_open_scopes"].pop().__exit__(None, None, None)


EXTRA_CALLS = {
    "tied_linear": _tied_linear, "repeat": _repeat, "unused": _unused, "enter": _enter, "exit": _exit,
    "padded_conv": _padded_conv,
}  # fmt: skip


def _apply(b: GraphBuilder, method: str, args: tuple, kwargs: dict) -> Any:
    if method in EXTRA_CALLS:
        return EXTRA_CALLS[method](b, *args, **kwargs)
    return getattr(b, method)(*args, **kwargs)


@dataclass(frozen=True)
class Recipe:
    """GraphBuilder calls ``(method, args, kwargs)`` (plus ``EXTRA_CALLS``) at ``dtype``;
    ``"input"`` shapes omit the batch, so the graph can be rebuilt at any batch size."""

    batch: int
    dtype: str
    calls: tuple[tuple[str, tuple, dict], ...]

    def with_explicit_pads(self) -> Recipe:
        """The same graph with each padded convolution written as ``pad`` + conv."""
        calls = tuple(
            ("padded_conv", args, kwargs) if method == "conv" and not kwargs.get("transposed") else
            (method, args, kwargs)
            for method, args, kwargs in self.calls
        )  # fmt: skip
        return Recipe(self.batch, self.dtype, calls)

    def build(self, batch: int | None = None) -> Graph:
        b = GraphBuilder("random", framework="builder", dtype=self.dtype)
        for method, args, kwargs in self.calls:
            if method == "input":
                name, shape = args
                b.input(name, (batch or self.batch, *shape))
            else:
                _apply(b, method, args, kwargs)
        return b.build()


class _Recorder:
    """A GraphBuilder at batch 1 that records each call, so draws can read shapes."""

    def __init__(self, dtype: str) -> None:
        self.b = GraphBuilder("random", dtype=dtype)
        self.calls: list[tuple[str, tuple, dict]] = []
        self.images: list[str] = []  # rank-4 activations, NCHW
        self.tokens: list[str] = []  # rank-3 activations, (N, L, D)
        self.vectors: list[str] = []  # rank-2 activations
        self.linears: list[tuple[str, str | None]] = []  # (weight, bias) of linear layers
        self.contractions: list[str] = []
        self.scopes: list[str] = []  # scopes of fused layers, to reopen later (layer "s#1")
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}{self.n}"

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((method, args, kwargs))
        out = _apply(self.b, method, args, kwargs)
        if not isinstance(out, str):
            return out
        rank = len(self.b.shape(out))
        {4: self.images, 3: self.tokens, 2: self.vectors}[rank].append(out)
        node = self.b.graph.node(out)
        if node.op in ("conv", "linear", "matmul", "einsum", "attention"):
            self.contractions.append(out)
        if method == "linear":
            bias = node.inputs[2] if len(node.inputs) > 2 else None
            self.linears.append((node.inputs[1], bias))
        return out

    def input(self, name: str, shape: tuple[int, ...]) -> str:
        self.calls.append(("input", (name, shape), {}))
        out = self.b.input(name, (1, *shape))
        {3: self.images, 2: self.tokens, 1: self.vectors}[len(shape)].append(out)
        return out

    def shape(self, t: str) -> tuple[int, ...]:
        return self.b.shape(t)


@st.composite
def _image_step(draw, r: _Recorder) -> None:
    x = draw(st.sampled_from(r.images))
    _, c, h, w = r.shape(x)
    kinds = ("conv", "conv", "tconv", "bn", "act", "pool", "add", "mul", "concat", "tokens", "gap")
    kind = draw(st.sampled_from(kinds))
    name = r.name(kind)
    if kind == "conv":
        out = draw(st.integers(1, 8))
        dilation = draw(st.integers(1, 2))
        kernel = draw(st.integers(1, 3))
        stride = draw(st.integers(1, 2))
        groups = draw(st.sampled_from(divisors(math.gcd(c, out))))
        padding = draw(st.sampled_from((0, 1, "same", ((0, 1), (1, 0)))))
        lo_hi = [(0, 0), (0, 0)]
        if isinstance(padding, int):
            lo_hi = [(padding, padding)] * 2
        elif isinstance(padding, tuple):
            lo_hi = list(padding)
        span = dilation * (kernel - 1) + 1
        if padding != "same" and any(
            dim + lo + hi < span for dim, (lo, hi) in zip((h, w), lo_hi, strict=True)
        ):
            padding = "same"
        r.call(
            "conv",
            x,
            out,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            draw(st.booleans()),
            name=name,
        )
    elif kind == "tconv":  # transposed: (i-1)s - 2p + d(k-1) + output_padding + 1
        out = draw(st.integers(1, 6))
        kernel, stride, dilation = (
            draw(st.integers(1, 3)),
            draw(st.integers(1, 3)),
            draw(st.integers(1, 2)),
        )
        padding = draw(st.integers(0, dilation * (kernel - 1) // 2))
        output_padding = draw(st.integers(0, max(stride, dilation) - 1))
        channels_last = draw(st.booleans())  # then the last dim is the channels, (c, h) the map
        in_channels = w if channels_last else c
        groups = draw(st.sampled_from(divisors(math.gcd(in_channels, out))))
        r.call("conv", x, out, kernel, stride, padding, dilation, groups, draw(st.booleans()),
               transposed=True, output_padding=output_padding, channels_last=channels_last,
               name=name)  # fmt: skip
    elif kind == "bn":
        r.call("batch_norm", x, name=name)
    elif kind == "act":
        r.call("activation", draw(st.sampled_from(BUILDER_ACTIVATIONS)), x, name=name)
    elif kind == "pool":
        kernel = draw(st.integers(1, min(3, h, w)))
        method = draw(st.sampled_from(("max_pool", "avg_pool")))
        padding = draw(st.integers(0, kernel // 2))  # PyTorch's limit: at most half the window
        r.call(
            method,
            x,
            kernel,
            draw(st.integers(1, 2)),
            padding,
            ceil_mode=draw(st.booleans()),
            name=name,
        )
    elif kind in ("add", "mul", "concat"):
        same = [t for t in r.images if r.shape(t)[2:] == (h, w)]
        y = draw(st.sampled_from(same))
        if kind in ("add", "mul"):
            y = y if r.shape(y) == r.shape(x) else x
            r.call(kind, x, y, name=name)
        else:
            r.call("concat", [x, y], 1, name=name)
    elif kind == "gap":
        r.call("flatten", r.call("global_avg_pool", x, name=name), name=r.name("flat"))
    else:  # image -> tokens: (N, C, H*W) then (N, H*W, C)
        t = r.call("reshape", x, (-1, c, h * w), name=name)
        if draw(st.booleans()):
            r.call("permute", t, (0, 2, 1), name=r.name("perm"))


@st.composite
def _fused_step(draw, r: _Recorder) -> None:
    """Two or three unnamed ops under one scope: one layer of several nodes whose
    intermediate tensors are fused (sometimes a scope seen before: a ``#k`` layer)."""
    pools = [p for p in (r.images, r.tokens, r.vectors) if p]
    x = draw(st.sampled_from(draw(st.sampled_from(pools))))
    reuse = bool(r.scopes) and draw(st.integers(0, 3)) == 0
    scope = draw(st.sampled_from(r.scopes)) if reuse else r.name("fused")
    r.scopes.append(scope)
    r.call("enter", scope)
    y = x
    for _ in range(draw(st.integers(2, 3))):
        kind = draw(st.sampled_from(("act", "add", "mul", "softmax")))
        if kind == "act":
            y = r.call("activation", draw(st.sampled_from(BUILDER_ACTIVATIONS)), y)
        elif kind == "softmax":
            y = r.call("softmax", y)
        else:
            y = r.call(kind, y, x)
    r.call("exit")


@st.composite
def _token_step(draw, r: _Recorder) -> None:
    x = draw(st.sampled_from(r.tokens))
    _, seq, d = r.shape(x)
    kind = draw(
        st.sampled_from(
            ("linear", "ln", "act", "softmax", "matmul", "einsum", "attention", "add", "flatten")
        )
    )
    name = r.name(kind)
    if kind == "linear":
        r.call("linear", x, draw(st.integers(1, 8)), draw(st.booleans()), name=name)
    elif kind == "ln":
        r.call("layer_norm", x, affine=draw(st.booleans()), name=name)
    elif kind == "act":
        r.call("activation", draw(st.sampled_from(BUILDER_ACTIVATIONS)), x, name=name)
    elif kind == "softmax":
        r.call("softmax", x, name=name)
    elif kind == "matmul":  # x @ x^T: (N, L, L)
        xt = r.call("permute", x, (0, 2, 1), name=r.name("perm"))
        r.call("matmul", x, xt, name=name)
    elif kind == "einsum":
        xt = r.call("permute", x, (0, 2, 1), name=r.name("perm"))
        r.call("einsum", "bld,bdm->blm", x, xt, name=name)
    elif kind == "attention":
        others = [t for t in r.tokens if r.shape(t)[2] == d]
        k = draw(st.sampled_from(others))
        v = draw(st.sampled_from([t for t in r.tokens if r.shape(t)[1] == r.shape(k)[1]]))
        r.call("attention", x, k, v, name=name)
    elif kind == "add":
        same = [t for t in r.tokens if r.shape(t) == r.shape(x)]
        r.call("add", x, draw(st.sampled_from(same)), name=name)
    else:
        r.call("flatten", x, name=name)


@st.composite
def _vector_step(draw, r: _Recorder) -> None:
    x = draw(st.sampled_from(r.vectors))
    d = r.shape(x)[-1]
    tied = [(w, bias) for w, bias in r.linears if r.b.graph.params[w].shape[1] == d]
    kinds = ("linear", "linear", "ln", "act", "softmax", "add") + (("tied",) if tied else ())
    kind = draw(st.sampled_from(kinds))
    name = r.name(kind)
    if kind == "tied":
        weight, bias = draw(st.sampled_from(tied))
        r.call("tied_linear", x, weight, bias, name=name)
    elif kind == "linear":
        r.call("linear", x, draw(st.integers(1, 12)), draw(st.booleans()), name=name)
    elif kind == "ln":
        r.call("layer_norm", x, name=name)
    elif kind == "act":
        r.call("activation", draw(st.sampled_from(BUILDER_ACTIVATIONS)), x, name=name)
    elif kind == "softmax":
        r.call("softmax", x, name=name)
    else:
        same = [t for t in r.vectors if r.shape(t) == r.shape(x)]
        r.call("add", x, draw(st.sampled_from(same)), name=name)


DTYPES = ("float32", "float32", "float16", "bfloat16", "int8")


@st.composite
def ir_recipes(draw, max_steps: int = 12) -> Recipe:
    """A random valid graph: one or two inputs, then steps on any earlier activation;
    some contractions run in a loop (``repeat``), some parameters are unused."""
    dtype = draw(st.sampled_from(DTYPES))
    r = _Recorder(dtype)
    r.input("x", (draw(st.integers(1, 6)), draw(st.integers(3, 9)), draw(st.integers(3, 9))))
    if draw(st.booleans()):
        r.input("t", (draw(st.integers(1, 6)), draw(st.integers(1, 8))))
    steps = {"images": _image_step, "tokens": _token_step, "vectors": _vector_step}
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from([k for k in steps if getattr(r, k)] + ["fused"]))
        draw(_fused_step(r) if kind == "fused" else steps[kind](r))
    for node in (
        draw(st.lists(st.sampled_from(r.contractions), max_size=2, unique=True))
        if r.contractions
        else ()
    ):
        r.call("repeat", node, draw(st.integers(2, 4)))
    if draw(st.integers(0, 4)) == 0:
        r.call("unused", "unused.weight", (draw(st.integers(1, 5)), 3), draw(st.booleans()))
    return Recipe(draw(st.integers(1, 4)), dtype, tuple(r.calls))


@dataclass(frozen=True)
class ArchRecipe:
    """An architecture description as a graph recipe (same ``build(batch)`` as ``Recipe``)."""

    arch: Arch

    def build(self, batch: int | None = None) -> Graph:
        return build_arch_ir(self.arch, batch)


def ir_graphs() -> st.SearchStrategy[Recipe | ArchRecipe]:
    """Random IR graphs of both generators."""
    return st.one_of(ir_recipes(), architectures().map(ArchRecipe))
