"""Real Keras models on every backend: keras-hub backbones and MultiHeadAttention with masks.

Each backend runs in its own process (the Keras backend is fixed per process):
``real_models.py`` builds every case there and prints Keras's own weight counts
beside the report's. Here params must equal Keras's (trainable and non-trainable
apart), MACs the analytic count written below from the sizes in ``CONFIGS``, and
every total must be complete. Counts are for batch 1.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .real_models import CASES, CONFIGS

pytestmark = [pytest.mark.keras, pytest.mark.slow]
SCRIPT = Path(__file__).with_name("real_models.py")
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # backend -> module


# --- analytic MACs --------------------------------------------------------------------
def attention(tq: int, tk: int, d: int, q_heads: int, kv_heads: int, head_dim: int) -> int:
    """Q from ``tq`` tokens, K and V from ``tk`` (GQA: fewer K/V heads), output projection,
    then QK^T and AV for every query head."""
    projections = tq * d * q_heads * head_dim + 2 * tk * d * kv_heads * head_dim
    projections += tq * q_heads * head_dim * d
    return projections + 2 * q_heads * tq * tk * head_dim


def mha(t: int, d: int, heads: int, tk: int | None = None) -> int:
    return attention(t, t if tk is None else tk, d, heads, heads, d // heads)


def mlp(t: int, d: int, f: int, gated: bool = False) -> int:
    """d -> f -> d; a gated MLP has two input projections (gate and up)."""
    return (3 if gated else 2) * t * d * f


def conv(out_pixels: int, k: int, c_in: int, c_out: int) -> int:
    return out_pixels * k * c_in * c_out  # k: kernel elements


def analytic_macs(name: str, t: int) -> int:
    c = CONFIGS[name.split("_")[0]]
    if name.endswith("_lm"):  # the backbone, then logits: hidden -> vocabulary per token
        return analytic_macs(name.split("_")[0], t) + t * c["hidden"] * c["vocab"]
    if name in ("gpt2", "bert"):
        layer = mha(t, c["hidden"], c["heads"]) + mlp(t, c["hidden"], c["ffn"])
        return c["layers"] * layer + (c["hidden"] ** 2 if c.get("pooler") else 0)  # CLS pooler
    if name == "t5":
        d, h, f = c["hidden"], c["heads"], c["ffn"]
        encoder = mha(t, d, h) + mlp(t, d, f, gated=True)
        decoder = 2 * mha(t, d, h) + mlp(t, d, f, gated=True)  # self + cross attention
        return c["layers"] * (encoder + decoder)
    if name == "whisper":
        d, h, f = c["hidden"], c["heads"], c["ffn"]
        stem = conv(2 * t, 3, c["mels"], d) + conv(t, 3, d, d)  # 2t frames, stride 2 -> t
        encoder = mha(t, d, h) + mlp(t, d, f)
        decoder = 2 * mha(t, d, h) + mlp(t, d, f)
        return stem + c["layers"] * (encoder + decoder)
    if name in ("llama", "mistral", "gemma"):
        d, hd = c["hidden"], c["head_dim"]
        f = c["ffn"] // 2 if name == "gemma" else c["ffn"]
        layer = attention(t, t, d, c["q_heads"], c["kv_heads"], hd) + mlp(t, d, f, gated=True)
        return c["layers"] * layer
    if name == "vit":
        patches = (c["image"] // c["patch"]) ** 2
        n = patches + 1  # the class token
        embed = conv(patches, c["patch"] ** 2, 3, c["hidden"])
        return embed + c["layers"] * (
            mha(n, c["hidden"], c["heads"]) + mlp(n, c["hidden"], c["ffn"])
        )
    if name == "resnet":
        s = c["image"] // 2  # 7x7/2 stem
        f0, f1 = c["filters"]
        stem = conv(s * s, c["stem_kernel"] ** 2, 3, c["stem"])
        s //= 2  # 3x3/2 max pool
        block0 = 2 * conv(s * s, 9, c["stem"], f0)
        s //= 2  # stack1 stride 2
        block1 = conv(s * s, 1, f0, f1) + conv(s * s, 9, f0, f1) + conv(s * s, 9, f1, f1)
        return stem + block0 + block1
    if name.startswith("mha_"):  # any mask, and the explicit dropout path: the same products
        return attention(t, t, c["hidden"], c["heads"], c["heads"], c["key_dim"])
    raise KeyError(name)


def test_analytic_counts_by_hand():
    """The formulas above against numbers worked out by hand for two small cases."""
    # GPT-2, 8 tokens: per layer 4*8*16*16 + 2*8*8*16 + 2*8*16*32 = 8192 + 2048 + 8192
    assert analytic_macs("gpt2", 8) == 2 * 18_432
    # ResNet on 32x32: stem 16*16*49*3*64, block0 2*8*8*9*64*64, block1 16*(64*32 + 9*64*32 + 9*32*32)
    assert analytic_macs("resnet", 0) == 2_408_448 + 4_718_592 + 32_768 + 294_912 + 147_456


# --- the runs -----------------------------------------------------------------------------
_RUNS: dict[str, subprocess.Popen] = {}
_RESULTS: dict[str, dict] = {}


def _start_all() -> None:
    """One process per backend, all started at once (each spends most of its time importing)."""
    if _RUNS or importlib.util.find_spec("keras_hub") is None:
        return
    for backend, module in BACKENDS.items():
        if importlib.util.find_spec(module) is None:
            continue
        env = {
            **os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        }  # fmt: skip
        _RUNS[backend] = subprocess.Popen(
            [sys.executable, str(SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env,
        )  # fmt: skip


def results(backend: str) -> dict:
    if backend not in _RESULTS:
        if importlib.util.find_spec("keras_hub") is None:
            pytest.skip("keras-hub is not installed (requirements-nodeps.txt)")
        if importlib.util.find_spec(BACKENDS[backend]) is None:
            pytest.skip(f"the {backend} backend needs {BACKENDS[backend]}")
        _start_all()
        proc = _RUNS[backend]
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"{backend}: {err[-3000:]}"
        _RESULTS[backend] = json.loads(out.strip().splitlines()[-1])
    return _RESULTS[backend]


def case_id(case: tuple[str, int]) -> str:
    return f"{case[0]}@{case[1]}" if case[1] else case[0]


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_real_model(backend: str, case: tuple[str, int]):
    r = results(backend)[case_id(case)]
    assert "error" not in r, r.get("error")
    assert (r["params"], r["non_trainable_params"]) == (
        r["keras_trainable"],
        r["keras_non_trainable"],
    )
    assert r["params"] + r["non_trainable_params"] == r["keras_count_params"]
    assert r["macs"] == analytic_macs(*case), r["warnings"]
    assert r["complete"] and not r["unsupported"], (r["unsupported"], r["warnings"])


def test_same_macs_and_flops_on_every_backend():
    """Masked or not, fused attention (JAX, torch) or explicit einsums (TensorFlow): one count;
    the mask costs one FLOP per score on either path (a select, or the fused op's mask add)."""
    by_backend = {b: results(b) for b in BACKENDS}
    for case in CASES:
        key = case_id(case)
        assert len({by_backend[b][key]["macs"] for b in BACKENDS}) == 1, key
        assert len({by_backend[b][key]["flops"] for b in BACKENDS}) == 1, key
