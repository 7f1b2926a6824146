"""Real-world JAX model styles for the real-model suite and ``bench/jax_vs_xla.py``.

Tiny configs, weight-free (``jax.eval_shape`` / ``eqx.filter_eval_shape``):
Flax linen transformers with ``nn.scan`` (and ``nn.remat``), a Flax NNX
transformer scanned over ``nnx.vmap``-stacked layers, an Equinox transformer
whose ``eqx.filter_vmap``-stacked blocks run under ``lax.scan``, a Flax
ResNet with BatchNorm called HF-Flax style (``apply(variables, x,
train=False)``), and a plain-JAX LLM (RMSNorm, gated MLP, grouped-query
attention) with stacked weights under ``lax.scan``.

Each ``*_case`` returns a ``Case``: what to hand to ``analyzer.analyze``,
what to hand to ``jax.jit(...).lower`` (for XLA's cost analysis), and the
reference counts: parameters from the framework's own pytree, MACs from the
analytic formula written beside the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import nnx

S = jax.ShapeDtypeStruct
F32 = jnp.float32


def leaf_size(tree: Any) -> int:
    return sum(math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(tree))


@dataclass
class Case:
    """One model: ``analyze(model, inputs, params=params, ...)`` and its references."""

    model: Any
    inputs: Any
    params: Any
    frontend_options: dict[str, Any]
    xla_fn: Callable[..., Any]  # jax.jit(xla_fn).lower(*xla_args)
    xla_args: tuple[Any, ...]
    ref_params: int
    ref_non_trainable: int
    ref_macs: int
    framework: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def transformer_macs(b: int, t: int, d: int, layers: int, ff: int, vocab: int, gated: bool = False,
                     heads: int = 0, kv_heads: int = 0) -> int:  # fmt: skip
    """MACs of a decoder: per layer the Q, K, V and output projections, QKᵀ and AV per head
    (each ``t × t × head_dim``, ``heads × head_dim = d``), the MLP (three matrices when gated),
    then the vocabulary head. ``kv_heads`` < ``heads``: K and V project to ``kv_heads × head_dim``."""
    kv = d if not kv_heads else d * kv_heads // heads
    projections = b * t * (d * d + 2 * d * kv + d * d)
    scores = 2 * b * t * t * d  # QKᵀ and AV, all heads together
    mlp = (3 if gated else 2) * b * t * d * ff
    return layers * (projections + scores + mlp) + b * t * d * vocab


# --- Flax linen transformer, layers under nn.scan ------------------------------------------
class LinenBlock(nn.Module):
    heads: int
    ff: int

    @nn.compact
    def __call__(self, x, _):
        h = nn.LayerNorm()(x)
        mask = nn.make_causal_mask(jnp.ones(x.shape[:2], jnp.int32))
        x = x + nn.MultiHeadDotProductAttention(num_heads=self.heads, deterministic=True)(
            h, h, mask=mask
        )
        h = nn.Dense(self.ff)(nn.LayerNorm()(x))
        return x + nn.Dense(x.shape[-1])(nn.gelu(h)), None


class LinenScanLM(nn.Module):
    vocab: int = 256
    d: int = 32
    heads: int = 4
    ff: int = 64
    layers: int = 3
    remat: bool = False

    @nn.compact
    def __call__(self, ids):
        x = nn.Embed(self.vocab, self.d)(ids)
        block = nn.remat(LinenBlock, prevent_cse=False) if self.remat else LinenBlock
        stack = nn.scan(
            block, variable_axes={"params": 0}, split_rngs={"params": True}, length=self.layers
        )
        x, _ = stack(self.heads, self.ff, name="layers")(x, None)
        return nn.Dense(self.vocab)(nn.LayerNorm()(x))


def linen_scan_case(remat: bool = False, b: int = 2, t: int = 16) -> Case:
    model = LinenScanLM(remat=remat)
    ids = S((b, t), jnp.int32)
    variables = jax.eval_shape(model.init, jax.random.key(0), ids)
    macs = transformer_macs(b, t, model.d, model.layers, model.ff, model.vocab)
    return Case(model, ids, None, {}, model.apply, (variables, ids),
                leaf_size(variables["params"]), 0, macs)  # fmt: skip


# --- Flax NNX transformer: nnx.vmap-stacked layers under nnx.scan ----------------------------
class NNXBlock(nnx.Module):
    def __init__(self, d: int, heads: int, ff: int, rngs: nnx.Rngs):
        self.ln1 = nnx.LayerNorm(d, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(heads, d, decode=False, deterministic=True, rngs=rngs)
        self.ln2 = nnx.LayerNorm(d, rngs=rngs)
        self.up = nnx.Linear(d, ff, rngs=rngs)
        self.down = nnx.Linear(ff, d, rngs=rngs)

    def __call__(self, x):
        h = self.ln1(x)
        x = x + self.attn(h)
        return x + self.down(nnx.gelu(self.up(self.ln2(x))))


class NNXScanLM(nnx.Module):
    def __init__(self, vocab: int, d: int, heads: int, ff: int, layers: int, rngs: nnx.Rngs):
        self.embed = nnx.Embed(vocab, d, rngs=rngs)

        @nnx.split_rngs(splits=layers)
        @nnx.vmap(in_axes=(0,), out_axes=0)
        def make(rngs: nnx.Rngs) -> NNXBlock:
            return NNXBlock(d, heads, ff, rngs)

        self.layers = make(rngs)
        self.ln = nnx.LayerNorm(d, rngs=rngs)
        self.head = nnx.Linear(d, vocab, rngs=rngs)

    def __call__(self, ids):
        x = self.embed(ids)

        @nnx.scan(in_axes=(nnx.Carry, 0), out_axes=nnx.Carry)
        def run(x, block):
            return block(x)

        x = run(x, self.layers)
        return self.head(self.ln(x))


def nnx_scan_case(b: int = 2, t: int = 16) -> Case:
    vocab, d, heads, ff, layers = 256, 32, 4, 64, 3
    model = nnx.eval_shape(lambda: NNXScanLM(vocab, d, heads, ff, layers, nnx.Rngs(0)))
    ids = S((b, t), jnp.int32)
    graphdef, state = nnx.split(model)

    def xla_fn(state, ids):
        return nnx.merge(graphdef, state)(ids)

    params = leaf_size(nnx.state(model, nnx.Param))
    macs = transformer_macs(b, t, d, layers, ff, vocab)
    return Case(model, ids, None, {}, xla_fn, (state, ids), params, 0, macs)


# --- Equinox transformer: eqx.filter_vmap-stacked blocks under lax.scan ----------------------
class EqxBlock(eqx.Module):
    ln1: eqx.nn.LayerNorm
    attn: eqx.nn.MultiheadAttention
    ln2: eqx.nn.LayerNorm
    up: eqx.nn.Linear
    down: eqx.nn.Linear

    def __init__(self, d: int, heads: int, ff: int, key: Any):
        k1, k2, k3 = jax.random.split(key, 3)
        self.ln1 = eqx.nn.LayerNorm(d)
        self.attn = eqx.nn.MultiheadAttention(heads, d, use_query_bias=True, use_key_bias=True,
                                              use_value_bias=True, use_output_bias=True, key=k1)  # fmt: skip
        self.ln2 = eqx.nn.LayerNorm(d)
        self.up = eqx.nn.Linear(d, ff, key=k2)
        self.down = eqx.nn.Linear(ff, d, key=k3)

    def __call__(self, x):  # x: (tokens, d), one example
        t = x.shape[0]
        h = jax.vmap(self.ln1)(x)
        x = x + self.attn(h, h, h, mask=jnp.tril(jnp.ones((t, t), bool)))
        h = jax.vmap(self.up)(jax.vmap(self.ln2)(x))
        return x + jax.vmap(self.down)(jax.nn.gelu(h))


class EqxScanLM(eqx.Module):
    embed: eqx.nn.Embedding
    blocks: EqxBlock  # every array leaf stacked along a leading layer axis
    ln: eqx.nn.LayerNorm
    head: eqx.nn.Linear

    def __init__(self, vocab: int, d: int, heads: int, ff: int, layers: int, key: Any):
        k1, k2, k3 = jax.random.split(key, 3)
        self.embed = eqx.nn.Embedding(vocab, d, key=k1)
        make = eqx.filter_vmap(lambda k: EqxBlock(d, heads, ff, k))
        self.blocks = make(jax.random.split(k2, layers))
        self.ln = eqx.nn.LayerNorm(d)
        self.head = eqx.nn.Linear(d, vocab, key=k3)

    def __call__(self, ids):
        x = jax.vmap(self.embed)(ids)
        arrays, static = eqx.partition(self.blocks, eqx.is_array)

        def step(x, layer):
            return eqx.combine(layer, static)(x), None

        x, _ = jax.lax.scan(step, x, arrays)
        return jax.vmap(self.head)(jax.vmap(self.ln)(x))


def eqx_scan_case(t: int = 16) -> Case:
    vocab, d, heads, ff, layers = 256, 32, 4, 64, 3
    model = eqx.filter_eval_shape(EqxScanLM, vocab, d, heads, ff, layers, jax.random.key(0))
    ids = S((t,), jnp.int32)
    arrays, static = eqx.partition(model, lambda x: isinstance(x, S) or eqx.is_array(x))

    def xla_fn(arrays, ids):
        return eqx.combine(arrays, static)(ids)

    macs = transformer_macs(1, t, d, layers, ff, vocab)
    return Case(model, ids, None, {}, xla_fn, (arrays, ids), leaf_size(arrays), 0, macs)


# --- Flax ResNet with BatchNorm, called HF-Flax style ----------------------------------------
class BasicBlock(nn.Module):
    features: int
    stride: int = 1

    @nn.compact
    def __call__(self, x, train: bool = False):
        norm = lambda: nn.BatchNorm(use_running_average=not train)  # noqa: E731
        h = nn.Conv(self.features, (3, 3), self.stride, padding=1, use_bias=False)(x)
        h = nn.relu(norm()(h))
        h = norm()(nn.Conv(self.features, (3, 3), padding=1, use_bias=False)(h))
        if x.shape != h.shape:
            x = norm()(nn.Conv(self.features, (1, 1), self.stride, use_bias=False)(x))
        return nn.relu(x + h)


class FlaxResNet(nn.Module):
    """ResNet-18 layout (``stages=(2, 2, 2, 2)``, ``width=64``), NHWC; tiny by default."""

    stages: tuple[int, ...] = (1, 1)
    width: int = 8
    classes: int = 10

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.Conv(self.width, (7, 7), 2, padding=3, use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train)(x))
        x = nn.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))
        for i, n in enumerate(self.stages):
            for j in range(n):
                x = BasicBlock(self.width * 2**i, 2 if i > 0 and j == 0 else 1)(x, train)
        return nn.Dense(self.classes)(jnp.mean(x, axis=(1, 2)))


def resnet_macs(model: FlaxResNet, b: int, hw: int, c_in: int = 3) -> int:
    """Conv MACs ``h_o w_o c_o c_i k_h k_w`` per conv, then the classifier."""

    def conv(size: int, c_i: int, c_o: int, k: int, s: int) -> tuple[int, int]:
        out = (size + 2 * (k // 2) - k) // s + 1
        return b * out * out * c_o * c_i * k * k, out

    macs, size = conv(hw, c_in, model.width, 7, 2)
    size = (size + 2 - 3) // 2 + 1  # max pool 3x3/2, padding 1
    c = model.width
    for i, n in enumerate(model.stages):
        for j in range(n):
            c_o, s = model.width * 2**i, 2 if i > 0 and j == 0 else 1
            m1, out = conv(size, c, c_o, 3, s)
            m2, _ = conv(out, c_o, c_o, 3, 1)
            macs += m1 + m2
            if s != 1 or c != c_o:
                macs += conv(size, c, c_o, 1, s)[0]
            c, size = c_o, out
    return macs + b * c * model.classes


def hf_resnet_case(stages: tuple[int, ...] = (1, 1), width: int = 8, b: int = 2, hw: int = 32,
                   bound_apply: bool = False) -> Case:  # fmt: skip
    """``apply_fn(variables, x)`` with ``{'params', 'batch_stats'}``, as HF Flax models call
    their module (``module.apply(variables, pixel_values, train=False)``)."""
    model = FlaxResNet(stages, width)
    x = S((b, hw, hw, 3), F32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)

    def apply_fn(variables, x):
        return model.apply(variables, x, train=False)

    if bound_apply:
        fn, options = model.apply, {"call_kwargs": {"train": False}}
    else:
        fn, options = apply_fn, {}
    return Case(fn, x, variables, options, apply_fn, (variables, x), leaf_size(variables["params"]),
                leaf_size(variables["batch_stats"]), resnet_macs(model, b, hw), framework="jax")  # fmt: skip


# --- plain JAX LLM: stacked weights under lax.scan, RMSNorm, gated MLP, GQA -------------------
@dataclass(frozen=True)
class LLMConfig:
    vocab: int = 256
    d: int = 32
    heads: int = 4
    kv_heads: int = 2
    ff: int = 64
    layers: int = 3

    @property
    def head_dim(self) -> int:
        return self.d // self.heads


def llm_params(c: LLMConfig) -> dict[str, Any]:
    L, d, dh = c.layers, c.d, c.head_dim  # noqa: N806
    return {
        "embed": S((c.vocab, d), F32),
        "layers": {
            "attn_norm": S((L, d), F32),
            "wq": S((L, d, c.heads * dh), F32),
            "wk": S((L, d, c.kv_heads * dh), F32),
            "wv": S((L, d, c.kv_heads * dh), F32),
            "wo": S((L, c.heads * dh, d), F32),
            "mlp_norm": S((L, d), F32),
            "w_gate": S((L, d, c.ff), F32),
            "w_up": S((L, d, c.ff), F32),
            "w_down": S((L, c.ff, d), F32),
        },
        "final_norm": S((d,), F32),
        "head": S((d, c.vocab), F32),
    }


def rms_norm(x, w, eps: float = 1e-6):
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, positions):
    half = x.shape[-1] // 2
    freqs = 1.0 / (10000.0 ** (jnp.arange(half) / half))
    angles = positions[:, None] * freqs[None, :]
    lead = (1,) * (x.ndim - 3)  # head dims between the tokens and the features
    sin = jnp.sin(angles).reshape(positions.shape[0], *lead, half)
    cos = jnp.cos(angles).reshape(positions.shape[0], *lead, half)
    x1, x2 = x[..., :half], x[..., half:]
    return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


def llm_layer(c: LLMConfig, x, w):
    b, t, _ = x.shape
    dh, groups = c.head_dim, c.heads // c.kv_heads
    pos = jnp.arange(t)
    h = rms_norm(x, w["attn_norm"])
    q = rope((h @ w["wq"]).reshape(b, t, c.kv_heads, groups, dh), pos)
    k = rope((h @ w["wk"]).reshape(b, t, c.kv_heads, dh), pos)
    v = (h @ w["wv"]).reshape(b, t, c.kv_heads, dh)
    scores = jnp.einsum("bqkgd,bskd->bkgqs", q, k) / jnp.sqrt(dh).astype(x.dtype)
    mask = jnp.tril(jnp.ones((t, t), bool))
    probs = jax.nn.softmax(jnp.where(mask, scores, -1e9), axis=-1)
    o = jnp.einsum("bkgqs,bskd->bqkgd", probs, v).reshape(b, t, c.heads * dh)
    x = x + o @ w["wo"]
    h = rms_norm(x, w["mlp_norm"])
    return x + (jax.nn.silu(h @ w["w_gate"]) * (h @ w["w_up"])) @ w["w_down"]


def llm_apply(c: LLMConfig, params, ids):
    x = params["embed"][ids]
    x, _ = jax.lax.scan(lambda x, w: (llm_layer(c, x, w), None), x, params["layers"])
    return rms_norm(x, params["final_norm"]) @ params["head"]


def llm_case(c: LLMConfig = LLMConfig(), b: int = 2, t: int = 16) -> Case:
    params = llm_params(c)
    ids = S((b, t), jnp.int32)

    def apply_fn(params, ids):
        return llm_apply(c, params, ids)

    macs = transformer_macs(b, t, c.d, c.layers, c.ff, c.vocab, gated=True, heads=c.heads,
                            kv_heads=c.kv_heads)  # fmt: skip
    return Case(apply_fn, ids, params, {}, apply_fn, (params, ids), leaf_size(params), 0, macs,
                framework="jax")  # fmt: skip


# --- a Flax transformer without scan (the speed comparison) -----------------------------
class LinenLM(nn.Module):
    vocab: int = 1000
    d: int = 128
    heads: int = 4
    ff: int = 512
    layers: int = 4

    @nn.compact
    def __call__(self, ids):
        x = nn.Embed(self.vocab, self.d)(ids)
        for _ in range(self.layers):
            x, _ = LinenBlock(self.heads, self.ff)(x, None)
        return nn.Dense(self.vocab)(nn.LayerNorm()(x))


def linen_lm_case(b: int = 2, t: int = 64) -> Case:
    model = LinenLM()
    ids = S((b, t), jnp.int32)
    variables = jax.eval_shape(model.init, jax.random.key(0), ids)
    macs = transformer_macs(b, t, model.d, model.layers, model.ff, model.vocab)
    return Case(model, ids, None, {}, model.apply, (variables, ids),
                leaf_size(variables["params"]), 0, macs)  # fmt: skip


CASES: dict[str, Callable[[], Case]] = {
    "linen_scan": linen_scan_case,
    "linen_remat_scan": lambda: linen_scan_case(remat=True),
    "nnx_scan": nnx_scan_case,
    "equinox_scan": eqx_scan_case,
    "hf_resnet_variables": hf_resnet_case,
    "hf_resnet_bound_apply": lambda: hf_resnet_case(bound_apply=True),
    "llm_gqa_scan": llm_case,
}
