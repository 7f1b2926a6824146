"""The micro-benchmarks of the host's kernel-level calibration, and how they are timed.

``design(quick)`` is a fixed, seeded set of ops per kernel class:
convolutions (dense, grouped, depthwise, pointwise) across channel counts,
spatial sizes, kernel sizes and strides; linear and batched matmul across
m, n, k; scaled-dot-product attention; elementwise ops (cheap to
transcendental, with and without broadcasting); batch/layer/group norm and
softmax; max/average/global pooling; reductions; concat, copies, padding,
embedding lookups. Channel counts and sizes are drawn at random (multiples
of 8 mostly, as real models use), so the set does not contain the layers of
any particular model: ``bench/latency_accuracy.py`` checks that none of its
validation models' layers is in it.

``time_call`` times one with PyTorch eager: warm-up, then the fastest of
repeats of the mean time of as many calls as fit in a short window. The
clock is the calling thread's CPU time with one thread (other processes on
a shared machine do not inflate it; the intra-op pool is this thread), wall
time with more.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from analyzer.core.ir import numel
from analyzer.plugins.hardware.kernel_features import OpShape

SEED = 20261130
ROTATE_BYTES = (
    8 << 20
)  # copies of a benchmark's tensors cycled until they exceed a core's L2 many times
MAX_COPIES = 16
MAX_MACS = 3e8  # one call stays under ~30 ms on one core


@dataclass(frozen=True)
class Case:
    """One micro-benchmark: the op as the kernel model sees it, and how to build its PyTorch call."""

    shape: OpShape
    build: Callable[[Any], Callable[[], Any]]  # torch -> zero-argument call


def clock_for(threads: int) -> Callable[[], float]:
    """Thread CPU time for one thread (robust on a shared machine), wall time otherwise."""
    return time.thread_time if threads == 1 else time.perf_counter


def rotated(case: Case, torch: Any, working_set: float = ROTATE_BYTES) -> Callable[[], Any]:
    """One call of ``case`` per invocation, cycling through copies (own inputs and weights) that
    together exceed ``working_set`` bytes: in a network every layer reads weights it has not
    touched since the last inference and inputs another layer just wrote, not the warm buffers
    of a call repeated in a loop."""
    s = case.shape
    nbytes = sum(numel(t) for t in (*s.inputs, *s.params, *s.outputs)) * s.itemsize
    copies = max(1, min(MAX_COPIES, math.ceil(working_set / max(nbytes, 1))))
    fns = [case.build(torch) for _ in range(copies)]
    if copies == 1:
        return fns[0]
    it = itertools.cycle(fns)
    return lambda: next(it)()


def time_call(
    fn: Callable[[], Any], window_s: float, repeats: int, clock: Callable[[], float]
) -> float:
    """The fastest over ``repeats`` of the mean time of the calls fitting in ``window_s`` (other
    processes on the machine only ever slow a window down)."""
    fn()
    t0 = clock()
    fn()
    one = max(clock() - t0, 1e-7)
    n = max(1, min(10000, int(window_s / one)))
    samples = []
    for _ in range(repeats):
        t0 = clock()
        for _ in range(n):
            fn()
        samples.append((clock() - t0) / n)
    return min(samples)


def _c8(rng: random.Random, lo: int, hi: int) -> int:
    """A channel count in [lo, hi], log-uniform: a multiple of 32 a third of the time, of 8 most
    of the rest (as real models use: vector kernels block channels by 8, 16 or 64)."""
    v = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    r = rng.random()
    if r < 0.35 and v >= 32:
        return max(lo, v - v % 32)
    return max(lo, v - v % 8) if r < 0.85 and v >= 8 else max(1, v)


def _conv_out(h: int, k: int, s: int, p: int) -> int:
    return (h + 2 * p - k) // s + 1


def _conv_cases(rng: random.Random, n: int) -> list[Case]:
    out: list[Case] = []
    while len(out) < n:
        kind = rng.choice(
            (
                "dense",
                "dense",
                "pointwise",
                "pointwise",
                "depthwise",
                "depthwise",
                "grouped",
                "stem",
            )
        )
        h = rng.choice(
            (7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160)
        )
        s = 2 if rng.random() < 0.25 else 1
        if kind == "stem":
            cin, cout, k, g = (
                rng.choice((1, 3, 4)),
                _c8(rng, 8, 96),
                rng.choice((3, 4, 5, 7, 16)),
                1,
            )
            h = rng.choice((64, 96, 128, 160, 192, 224, 256))
            s = rng.choice((1, 2, 4)) if k < 16 else k
        elif kind == "pointwise":
            cin, cout, k, g = _c8(rng, 8, 2048), _c8(rng, 8, 2048), 1, 1
        elif kind == "depthwise":
            cin = cout = g = _c8(rng, 8, 1536)
            k = rng.choice((3, 3, 5, 7))
        elif kind == "grouped":
            g = rng.choice((2, 4, 8, 16, 32))
            cin, cout = g * _c8(rng, 4, 64), g * _c8(rng, 4, 64)
            k = 3
        else:
            cin, cout, k, g = _c8(rng, 8, 768), _c8(rng, 8, 768), rng.choice((3, 3, 3, 5, 7)), 1
        p = 0 if kind == "stem" and k == 16 else k // 2
        ho = _conv_out(h, k, s, p)
        if ho < 1:
            continue
        macs = cout * ho * ho * (cin // g) * k * k
        if macs > MAX_MACS or macs < 1e3:
            continue
        bias = rng.random() < 0.4
        params = ((cout, cin // g, k, k),) + (((cout,),) if bias else ())
        attrs = {"kernel_size": (k, k), "stride": (s, s), "padding": ((p, p), (p, p)), "dilation": (1, 1),
                 "groups": g, "in_channels": cin, "out_channels": cout}  # fmt: skip
        shape = OpShape("conv", ((1, cin, h, h),), ((1, cout, ho, ho),), params, attrs)

        def build(
            torch: Any, cin=cin, cout=cout, h=h, k=k, s=s, p=p, g=g, bias=bias
        ) -> Callable[[], Any]:
            x, w = torch.randn(1, cin, h, h), torch.randn(cout, cin // g, k, k)
            b = torch.randn(cout) if bias else None
            return lambda: torch.nn.functional.conv2d(x, w, b, s, p, 1, g)

        out.append(Case(shape, build))
    return out


def _gemm_cases(rng: random.Random, n: int) -> list[Case]:
    out: list[Case] = []
    while len(out) < n:
        if rng.random() < 0.7:  # linear layers: tokens x features
            m = rng.choice((1, 1, 2, 4, 8, 16, 32, 49, 64, 100, 128, 196, 256, 384, 512, 1024))
            k, nn_ = _c8(rng, 8, 4096), _c8(rng, 8, 4096)
            if m * k * nn_ > MAX_MACS:
                continue
            bias = rng.random() < 0.8
            lead = (1, m) if rng.random() < 0.6 else (m,)
            shape = OpShape(
                "linear",
                (lead + (k,),),
                (lead + (nn_,),),
                ((nn_, k),) + (((nn_,),) if bias else ()),
            )

            def build(torch: Any, lead=lead, k=k, n=nn_, bias=bias) -> Callable[[], Any]:
                x, w, b = torch.randn(*lead, k), torch.randn(n, k), torch.randn(n) if bias else None
                return lambda: torch.nn.functional.linear(x, w, b)
        else:  # batched matmuls of attention written by hand (QK^T, AV)
            b, m, k = (
                rng.choice((1, 2, 3, 4, 6, 8, 12, 16)),
                rng.choice((8, 16, 32, 50, 64, 128, 197, 256)),
                rng.choice((16, 32, 48, 64, 128)),
            )
            nn_ = rng.choice((m, k))
            if b * m * k * nn_ > MAX_MACS:
                continue
            shape = OpShape("matmul", ((1, b, m, k), (1, b, k, nn_)), ((1, b, m, nn_),))

            def build(torch: Any, b=b, m=m, k=k, n=nn_) -> Callable[[], Any]:
                x, y = torch.randn(1, b, m, k), torch.randn(1, b, k, n)
                return lambda: torch.matmul(x, y)

        out.append(Case(shape, build))
    return out


def _attention_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for _ in range(n):
        h, length, e = (
            rng.choice((1, 2, 3, 4, 6, 8, 12, 16)),
            rng.choice((8, 16, 24, 40, 50, 72, 100, 120, 144, 200, 240, 320, 400)),
            rng.choice((16, 32, 48, 64, 96, 128)),
        )
        causal = rng.random() < 0.3
        q = (1, h, length, e)
        shape = OpShape("attention", (q, q, q), (q,), (), {"is_causal": causal})

        def build(torch: Any, q=q, causal=causal) -> Callable[[], Any]:
            a, b, c = torch.randn(*q), torch.randn(*q), torch.randn(*q)
            return lambda: torch.nn.functional.scaled_dot_product_attention(
                a, b, c, is_causal=causal
            )

        out.append(Case(shape, build))
    return out


_UNARY = {"relu": "relu", "gelu": "gelu", "silu": "silu", "sigmoid": "sigmoid", "hardswish": "hardswish",
          "hardsigmoid": "hardsigmoid", "tanh": "tanh", "relu6": "relu6"}  # fmt: skip
_BINARY = {"add": "add", "mul": "mul", "div": "div", "sub": "sub"}


def _act_shape(rng: random.Random) -> tuple[int, ...]:
    if rng.random() < 0.6:
        c, h = _c8(rng, 8, 1024), rng.choice((7, 10, 14, 20, 28, 40, 56, 80, 112))
        return (1, c, h, h)
    return (1, rng.choice((1, 8, 32, 49, 64, 128, 196, 256, 512)), _c8(rng, 8, 3072))


def _elementwise_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for _ in range(n):
        shape = _act_shape(rng)
        if rng.random() < 0.5:
            op = rng.choice(list(_UNARY))

            def build(torch: Any, shape=shape, op=op) -> Callable[[], Any]:
                x = torch.randn(*shape)
                fn = getattr(torch.nn.functional, _UNARY[op])
                return lambda: fn(x)

            out.append(Case(OpShape(op, (shape,), (shape,)), build))
            continue
        op = rng.choice(list(_BINARY))
        other = shape
        if rng.random() < 0.35:  # broadcast: a per-channel scale (squeeze-excite) or a row vector
            other = (1, shape[1], 1, 1) if len(shape) == 4 else (shape[-1],)

        def build2(torch: Any, shape=shape, other=other, op=op) -> Callable[[], Any]:
            x, y = torch.randn(*shape), torch.rand(*other) + 0.5
            fn = getattr(torch, _BINARY[op])
            return lambda: fn(x, y)

        out.append(Case(OpShape(op, (shape, other), (shape,)), build2))
    return out


def _norm_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for _ in range(n):
        kind = rng.choice(
            ("batch_norm", "batch_norm", "layer_norm", "layer_norm", "group_norm", "softmax")
        )
        if kind in ("batch_norm", "group_norm"):
            c, h = _c8(rng, 8, 1024), rng.choice((7, 10, 14, 20, 28, 40, 56, 80, 112))
            shape = (1, c, h, h)
            params = ((c,), (c,)) + (((c,), (c,)) if kind == "batch_norm" else ())
            attrs: dict[str, Any] = {
                "channel_axis": 1,
                "groups": 1 if kind == "batch_norm" or c % 8 else rng.choice((1, 8)),
            }
        elif kind == "layer_norm":
            shape = (1, rng.choice((1, 8, 49, 64, 128, 196, 256, 512)), _c8(rng, 8, 2048))
            params, attrs = ((shape[-1],), (shape[-1],)), {"axes": (-1,)}
        else:
            shape = (
                1,
                rng.choice((1, 2, 4, 8, 12)),
                rng.choice((16, 64, 128, 197, 256)),
                rng.choice((16, 64, 128, 197, 256)),
            )
            params, attrs = (), {"axis": -1}

        def build(torch: Any, kind=kind, shape=shape, attrs=attrs) -> Callable[[], Any]:
            f = torch.nn.functional
            x = torch.randn(*shape)
            c = shape[1]
            if kind == "batch_norm":
                mean, var, w, b = (
                    torch.randn(c),
                    torch.rand(c) + 0.5,
                    torch.randn(c),
                    torch.randn(c),
                )
                return lambda: f.batch_norm(x, mean, var, w, b, False)
            if kind == "group_norm":
                w, b = torch.randn(c), torch.randn(c)
                return lambda: f.group_norm(x, attrs["groups"], w, b)
            if kind == "layer_norm":
                w, b = torch.randn(shape[-1]), torch.randn(shape[-1])
                return lambda: f.layer_norm(x, shape[-1:], w, b)
            return lambda: torch.softmax(x, -1)

        out.append(Case(OpShape(kind, (shape,), (shape,), params, attrs), build))
    return out


def _pool_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for _ in range(n):
        kind = rng.choice(("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_avg_pool"))
        c, h = _c8(rng, 8, 2048), rng.choice((4, 7, 8, 10, 14, 20, 28, 40, 56, 80, 112, 144))
        if c * h * h > 4e6:  # a pool reads each input once: keep the big ones to a few ms
            c = max(8, int(4e6 / (h * h)) // 8 * 8)
        k, s, p = rng.choice(((3, 2, 1), (2, 2, 0), (3, 1, 1)))
        if kind == "adaptive_avg_pool":
            k, s, p, ho = h, 1, 0, 1
        else:
            ho = _conv_out(h, k, s, p)
        attrs = {"kernel_size": (k, k), "stride": (s, s), "padding": ((p, p), (p, p))}

        def build(torch: Any, kind=kind, c=c, h=h, k=k, s=s, p=p) -> Callable[[], Any]:
            f, x = torch.nn.functional, torch.randn(1, c, h, h)
            if kind == "max_pool":
                return lambda: f.max_pool2d(x, k, s, p)
            if kind == "avg_pool":
                return lambda: f.avg_pool2d(x, k, s, p)
            return lambda: f.adaptive_avg_pool2d(x, 1)

        out.append(Case(OpShape(kind, ((1, c, h, h),), ((1, c, ho, ho),), (), attrs), build))
    return out


def _reduction_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for _ in range(n):
        shape = _act_shape(rng)
        if len(shape) == 4:  # odd spatial sizes: squeeze-excite means of real models stay held out
            shape = shape[:2] + (shape[2] + 1,) * 2
        axes = (2, 3) if len(shape) == 4 else (1,)
        oshape = tuple(1 if i in axes else d for i, d in enumerate(shape))

        def build(torch: Any, shape=shape, axes=axes) -> Callable[[], Any]:
            x = torch.randn(*shape)
            return lambda: x.mean(axes, keepdim=True)

        out.append(Case(OpShape("reduce_mean", (shape,), (oshape,), (), {"axes": axes}), build))
    return out


def _movement_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for _ in range(n):
        kind = rng.choice(("concat", "concat", "copy", "copy", "pad", "embedding"))
        shape = _act_shape(rng)
        if kind == "concat":
            other = (
                shape[:1] + (_c8(rng, 8, 512),) + shape[2:]
                if len(shape) == 4
                else shape[:1] + (rng.choice((1, 4, 16)),) + shape[2:]
            )
            axis = 1
            oshape = tuple(
                a + b if i == axis else a for i, (a, b) in enumerate(zip(shape, other, strict=True))
            )

            def build(torch: Any, shape=shape, other=other) -> Callable[[], Any]:
                x, y = torch.randn(*shape), torch.randn(*other)
                return lambda: torch.cat([x, y], 1)

            out.append(Case(OpShape("concat", (shape, other), (oshape,), (), {"axis": 1}), build))
        elif kind == "copy":

            def build_c(torch: Any, shape=shape) -> Callable[[], Any]:
                x = torch.randn(*shape).transpose(-1, -2)
                return lambda: x.contiguous()

            out.append(Case(OpShape("copy", (shape,), (shape,)), build_c))
        elif kind == "pad":
            o = (
                shape[:-2] + (shape[-2] + 2, shape[-1] + 2)
                if len(shape) == 4
                else shape[:-1] + (shape[-1] + 2,)
            )

            def build_p(torch: Any, shape=shape) -> Callable[[], Any]:
                x = torch.randn(*shape)
                pad = (1, 1, 1, 1) if len(shape) == 4 else (1, 1)
                return lambda: torch.nn.functional.pad(x, pad)

            out.append(Case(OpShape("pad", (shape,), (o,)), build_p))
        else:
            vocab, dim, tokens = (
                rng.choice((512, 1000, 8000, 30522)),
                _c8(rng, 16, 1024),
                rng.choice((1, 8, 32, 64, 128, 256)),
            )

            def build_e(torch: Any, vocab=vocab, dim=dim, tokens=tokens) -> Callable[[], Any]:
                idx, table = torch.randint(0, vocab, (1, tokens)), torch.randn(vocab, dim)
                return lambda: torch.nn.functional.embedding(idx, table)

            out.append(
                Case(
                    OpShape("embedding", ((1, tokens),), ((1, tokens, dim),), ((vocab, dim),)),
                    build_e,
                )
            )
    return out


# cases per class: (quick, full)
COUNTS = {"conv": (60, 320), "gemm": (30, 160), "attention": (10, 50), "elementwise": (20, 120),
          "normalization": (16, 80), "pooling": (10, 80), "reduction": (6, 30), "movement": (12, 60)}  # fmt: skip
_MAKERS = {"conv": _conv_cases, "gemm": _gemm_cases, "attention": _attention_cases, "elementwise": _elementwise_cases,
           "normalization": _norm_cases, "pooling": _pool_cases, "reduction": _reduction_cases,
           "movement": _movement_cases}  # fmt: skip


def design(
    quick: bool = False, counts: dict[str, int] | None = None, exclude: Collection[Any] = ()
) -> list[Case]:
    """The seeded micro-benchmark set (``counts`` overrides the number per class, e.g. in tests).

    ``exclude``: ``OpShape.key()``s that must not be benchmarked (a validation set's layers:
    held out); a case drawn with one of them is skipped and another drawn in its place.
    """
    rng = random.Random(SEED)
    cases: list[Case] = []
    for klass, maker in _MAKERS.items():
        n = COUNTS[klass][0 if quick else 1] if counts is None else counts.get(klass, 0)
        kept: list[Case] = []
        for _ in range(20):
            kept += [c for c in maker(rng, n - len(kept)) if c.shape.key() not in exclude]
            if len(kept) >= n:
                break
        cases += kept
    return cases


def overheads(
    torch: Any, window_s: float, repeats: int, clock: Callable[[], float]
) -> dict[str, float]:
    """Per-call costs of the runtime: a module call and a view op.

    A module call costs ``nn.Module.__call__`` plus its Python ``forward`` around the kernel:
    measured as module(x) - the functional call on the same tiny tensors, the median over
    the common leaf modules (conv, linear, batch/layer norm, ReLU, GELU).
    """
    nn, f = torch.nn, torch.nn.functional
    x, v = torch.randn(1, 8, 4, 4), torch.randn(1, 4, 8)
    conv, lin, bn, ln = (
        nn.Conv2d(8, 8, 1),
        nn.Linear(8, 8),
        nn.BatchNorm2d(8).eval(),
        nn.LayerNorm(8),
    )
    relu, gelu = nn.ReLU(), nn.GELU()
    pairs = [
        (lambda: conv(x), lambda: f.conv2d(x, conv.weight, conv.bias)),
        (lambda: lin(v), lambda: f.linear(v, lin.weight, lin.bias)),
        (lambda: bn(x), lambda: f.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False)),
        (lambda: ln(v), lambda: f.layer_norm(v, (8,), ln.weight, ln.bias)),
        (lambda: relu(x), lambda: f.relu(x)),
        (lambda: gelu(x), lambda: f.gelu(x)),
    ]  # fmt: skip
    diffs = [
        time_call(m, window_s, repeats, clock) - time_call(fn, window_s, repeats, clock)
        for m, fn in pairs
    ]
    module = max(statistics.median(diffs), 0.0)
    views = [lambda: x.reshape(8, 16), lambda: x.transpose(0, 1), lambda: x[:, 1:], lambda: x.unsqueeze(0),
             lambda: torch.nn.functional.dropout(x, 0.1, False)]  # fmt: skip
    view = statistics.median(time_call(v, window_s, repeats, clock) for v in views)
    return {"module_call_s": module, "view_s": view}


def fusion(torch: Any, window_s: float, repeats: int, clock: Callable[[], float]) -> dict[str, Any]:
    """Does the runtime fuse conv+bias and conv+activation? Measured: one call against two."""
    f = torch.nn.functional
    # a pointwise conv with few input channels: the bias add and the ReLU cost as much as the conv
    x, w, b = torch.randn(1, 8, 64, 64), torch.randn(64, 8, 1, 1), torch.randn(64)
    bias4 = b.view(1, -1, 1, 1)
    reps = repeats * 2 + 1
    conv_b = time_call(lambda: f.conv2d(x, w, b), window_s, reps, clock)
    conv = time_call(lambda: f.conv2d(x, w), window_s, reps, clock)
    y = f.conv2d(x, w)
    add = time_call(lambda: y + bias4, window_s, reps, clock)
    relu = time_call(lambda: f.relu(y), window_s, reps, clock)
    conv_relu = time_call(lambda: f.relu(f.conv2d(x, w, b)), window_s, reps, clock)
    return {
        "conv_bias": {"together_s": conv_b, "apart_s": conv + add, "fused": conv_b - conv < 0.5 * add},
        "conv_activation": {"together_s": conv_relu, "apart_s": conv_b + relu,
                            "fused": conv_relu - conv_b < 0.5 * relu},
        "note": "PyTorch eager runs one kernel per op: conv+bias is one oneDNN call when the bias is the "
                "conv's own; an activation after it is a kernel of its own unless 'fused' says otherwise",
    }  # fmt: skip
