"""What a kernel costs inside a network beyond its time alone: learned on synthetic networks.

A micro-benchmark repeats one call, so its weights and code stay in the
caches; inside a network each layer reads weights it last touched one
inference ago (from DRAM or a shared last-level cache) and re-enters
dispatch code other layers evicted. ``calibrate`` therefore also times a
few seeded synthetic networks (MobileNet-like inverted residuals with and
without squeeze-excite, ResNet-like basic blocks, pre-norm transformer
encoders; random widths, resolutions and depths, not any real model's
layers) whole, predicts them with the fitted kernel trees, and fits the
difference as ``s_per_op`` x (ops run) + ``s_per_weight_byte`` x
(weight bytes of ops doing fewer than 16 MACs per weight byte) +
``s_per_activation_byte`` x (activation bytes read and written by ops doing
fewer than 4 MACs per byte), non-negative least squares on relative
errors: a compute-bound kernel hides its traffic behind its arithmetic. The kernel
model adds both terms per op (``KernelModel``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from analyzer.plugins.hardware.kernel_bench import _c8


def _mobile(torch: Any, rng: random.Random) -> tuple[Any, Any]:
    nn = torch.nn
    act = rng.choice((nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU))
    se = rng.random() < 0.5

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, t: int, s: int, k: int):
            super().__init__()
            mid = cin * t
            self.pw = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), act())
            self.dw = nn.Sequential(
                nn.Conv2d(mid, mid, k, s, k // 2, groups=mid, bias=False),
                nn.BatchNorm2d(mid),
                act(),
            )
            self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, max(8, mid // 4), 1), nn.ReLU(),
                                    nn.Conv2d(max(8, mid // 4), mid, 1), nn.Hardsigmoid()) if se else None  # fmt: skip
            self.pwl = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.res = s == 1 and cin == cout

        def forward(self, x: Any) -> Any:
            y = self.dw(self.pw(x))
            if self.se is not None:
                y = y * self.se(y)
            y = self.pwl(y)
            return x + y if self.res else y

    c = _c8(rng, 8, 40)
    res = rng.choice((96, 128, 160, 192, 224))
    layers: list[Any] = [nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), act()]
    for _ in range(rng.randint(3, 5)):
        cout = min(_c8(rng, c, c * 2 + 8), 320)
        t, k = rng.choice((1, 3, 4, 6)), rng.choice((3, 3, 5))
        for i in range(rng.randint(1, 3)):
            layers.append(Block(c, cout, t, 2 if i == 0 and rng.random() < 0.7 else 1, k))
            c = cout
    head = _c8(rng, 256, 1280)
    layers += [
        nn.Conv2d(c, head, 1),
        act(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(head, rng.choice((10, 100, 1000))),
    ]
    return nn.Sequential(*layers), torch.randn(1, 3, res, res)


def _resnet(torch: Any, rng: random.Random) -> tuple[Any, Any]:
    nn = torch.nn

    class Basic(nn.Module):
        def __init__(self, cin: int, cout: int, s: int):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.BatchNorm2d(cout)
            self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.act = nn.ReLU()
            self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, s, bias=False), nn.BatchNorm2d(cout))
                         if s != 1 or cin != cout else None)  # fmt: skip

        def forward(self, x: Any) -> Any:
            y = self.b2(self.c2(self.act(self.b1(self.c1(x)))))
            return self.act(y + (self.down(x) if self.down is not None else x))

    c = _c8(rng, 16, 48)
    res = rng.choice((64, 96, 128, 160))
    layers: list[Any] = [
        nn.Conv2d(3, c, 7, 2, 3, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    for stage in range(rng.randint(2, 4)):
        cout = _c8(rng, c, c * 2 + 8)
        for i in range(rng.randint(1, 2)):
            layers.append(Basic(c, cout, 2 if i == 0 and stage else 1))
            c = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, rng.choice((10, 1000)))]
    return nn.Sequential(*layers), torch.randn(1, 3, res, res)


def _transformer(torch: Any, rng: random.Random) -> tuple[Any, Any]:
    nn, f = torch.nn, torch.nn.functional
    heads = rng.choice((2, 3, 4, 6))
    d = heads * rng.choice((24, 32, 40, 48, 64))
    tokens = rng.choice((24, 40, 72, 100, 144, 180))

    class Attn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

        def forward(self, x: Any) -> Any:
            b, n, _ = x.shape
            q, k, v = (
                self.qkv(x).reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4).unbind(0)
            )
            return self.proj(
                f.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d)
            )

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            hidden = d * rng.choice((2, 3, 4))
            self.n1, self.attn, self.n2 = nn.LayerNorm(d), Attn(), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.n1(x))
            return x + self.mlp(self.n2(x))

    model = nn.Sequential(*[Block() for _ in range(rng.randint(2, 4))], nn.LayerNorm(d))
    return model, torch.randn(1, tokens, d)


BUILDERS: tuple[Callable[[Any, random.Random], tuple[Any, Any]], ...] = (
    _mobile,
    _mobile,
    _resnet,
    _transformer,
)


def synthetic_networks(torch: Any, count: int, seed: int = 7) -> list[tuple[Any, Any]]:
    rng = random.Random(seed)
    return [BUILDERS[i % len(BUILDERS)](torch, rng) for i in range(count)]


TERMS = ("s_per_op", "s_per_weight_byte", "s_per_activation_byte")
MEMORY_BOUND_MACS_PER_BYTE = (
    4.0  # default: below this many MACs per activation byte an op waits on memory
)
WEIGHT_BOUND_MACS_PER_BYTE = (
    16.0  # default: below this many MACs per weight byte, on its cold weights
)
# the bounds calibration chooses from, by the synthetic networks' error (never the validation models)
BOUND_CHOICES = (4.0, 16.0, 64.0, 256.0)


def op_quantities(shape: Any, act_bound: float = MEMORY_BOUND_MACS_PER_BYTE,
                  weight_bound: float = WEIGHT_BOUND_MACS_PER_BYTE) -> dict[str, float]:  # fmt: skip
    """What each in-network term is multiplied by for one op (views: nothing).

    A compute-bound kernel hides its traffic behind its arithmetic (hardware prefetch): the
    activation term counts only ops doing fewer than ``act_bound`` MACs per activation byte,
    the weight term only ops doing fewer than ``weight_bound`` MACs per weight byte.
    """
    from analyzer.core.ir import numel
    from analyzer.plugins.hardware import kernel_features as kf

    if kf.kernel_class(shape) == "view":
        return dict.fromkeys(TERMS, 0.0)
    act = sum(numel(t) for t in (*shape.inputs, *shape.outputs)) * shape.itemsize
    weights = kf.weight_elems(shape) * shape.itemsize
    macs = kf.macs(shape)
    if macs > act_bound * act:
        act = 0
    if macs > weight_bound * weights:
        weights = 0
    return {"s_per_op": 1.0, "s_per_weight_byte": float(weights),
            "s_per_activation_byte": float(act)}  # fmt: skip


def fit_bounds(
    warm: list[float], shapes: list[list[Any]], measured: list[float]
) -> dict[str, float]:
    """The bounds (BOUND_CHOICES) and terms that fit the networks best (relative squared error)."""
    best: tuple[float, dict[str, float]] = (float("inf"), {})
    m = np.asarray(measured)
    for act_bound in BOUND_CHOICES:
        for weight_bound in BOUND_CHOICES:
            qs = [_summed(net, act_bound, weight_bound) for net in shapes]
            fitted = fit_context(warm, qs, measured)
            pred = np.array(
                [w + sum(fitted[t] * q[t] for t in TERMS) for w, q in zip(warm, qs, strict=True)]
            )
            err = float(np.sum(((pred - m) / m) ** 2))
            if err < best[0] - 1e-12:
                best = (err, {**fitted, "activation_bound_macs_per_byte": act_bound,
                              "weight_bound_macs_per_byte": weight_bound})  # fmt: skip
    return best[1]


def _summed(net: list[Any], act_bound: float, weight_bound: float) -> dict[str, float]:
    per_op = [op_quantities(s, act_bound, weight_bound) for s in net]
    return {t: sum(q[t] for q in per_op) for t in TERMS}


def fit_context(
    warm: list[float], quantities: list[dict[str, float]], measured: list[float]
) -> dict[str, float]:
    """Non-negative coefficients of TERMS minimising the relative error of warm + terms vs measured."""
    from scipy.optimize import nnls

    m = np.asarray(measured)
    a = np.array([[q[t] for t in TERMS] for q in quantities]) / m[:, None]
    scale = np.maximum(np.abs(a).max(axis=0), 1e-30)  # conditioning: columns of one magnitude
    coef, _ = nnls(a / scale, (m - np.asarray(warm)) / m)
    return {t: float(c / sc) for t, c, sc in zip(TERMS, coef, scale, strict=True)}
