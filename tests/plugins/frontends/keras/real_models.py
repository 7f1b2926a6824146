"""Real-world Keras models for ``test_real_models.py``: keras-hub backbones (and two causal
LMs on them) built from constructor arguments (tiny: 2 layers, hidden 16, vocabulary
100; no presets, no downloads) and ``MultiHeadAttention`` with and without masks.

``CONFIGS`` holds every size the analytic counts in the test need; ``CASES`` names
each (model, tokens) pair the subprocess analyzes. Run as a script
(``KERAS_BACKEND=jax python real_models.py``) it analyzes every case under that
backend and prints one JSON document: per case, Keras's own trainable and
non-trainable weight counts beside the report's params, MACs and completeness, or
the error when the model does not build there. Importing the module imports
nothing heavy; the builders import keras and keras_hub when called.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LAYERS, HIDDEN, HEADS, FFN, VOCAB = 2, 16, 2, 32, 100
TOKENS = (128, 2048)  # the two lengths; CNN/ViT cases take images instead

CONFIGS: dict[str, dict[str, Any]] = {
    # plain transformers: 4 projections of HIDDEN x HIDDEN, MLP HIDDEN -> FFN -> HIDDEN
    "gpt2": {"layers": LAYERS, "hidden": HIDDEN, "heads": HEADS, "ffn": FFN, "vocab": VOCAB},
    "bert": {"layers": LAYERS, "hidden": HIDDEN, "heads": HEADS, "ffn": FFN, "pooler": True},
    # T5: gated-GELU/ReLU MLP (two input projections), cross-attention in the decoder
    "t5": {"layers": LAYERS, "hidden": HIDDEN, "heads": HEADS, "ffn": FFN},
    # Whisper: two conv1d (k=3; stride 1 then 2) over MELS channels, then the encoder
    "whisper": {"layers": LAYERS, "hidden": HIDDEN, "heads": HEADS, "ffn": FFN, "mels": 8},
    # grouped-query attention with a gated (SwiGLU) MLP
    "llama": {"layers": LAYERS, "hidden": HIDDEN, "q_heads": 4, "kv_heads": 2, "head_dim": 4, "ffn": FFN, "vocab": VOCAB},
    "mistral": {"layers": LAYERS, "hidden": HIDDEN, "q_heads": 4, "kv_heads": 2, "head_dim": 4, "ffn": FFN},
    # Gemma's gated MLP projects to ffn // 2 (keras-hub halves intermediate_dim)
    "gemma": {"layers": LAYERS, "hidden": HIDDEN, "q_heads": 4, "kv_heads": 2, "head_dim": 8, "ffn": FFN},
    "vit": {"layers": LAYERS, "hidden": HIDDEN, "heads": HEADS, "ffn": FFN, "image": 32, "patch": 8},
    # stem 7x7/2 conv to 64, 3x3/2 max pool, stack0: basic block 64 (identity shortcut),
    # stack1: basic block 32, stride 2, 1x1 conv shortcut; no biases
    "resnet": {"image": 32, "stem": 64, "stem_kernel": 7, "filters": (64, 32)},
    # keras.layers.MultiHeadAttention(num_heads, key_dim) on query (T, d) and value (T, d)
    "mha": {"hidden": HIDDEN, "heads": HEADS, "key_dim": 8},
}  # fmt: skip


def _hub() -> Any:
    import keras_hub

    return keras_hub.models


def gpt2(tokens: int) -> Any:
    return _hub().GPT2Backbone(
        vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS, hidden_dim=HIDDEN,
        intermediate_dim=FFN, dropout=0.0, max_sequence_length=tokens,
    )  # fmt: skip


def bert(tokens: int) -> Any:
    return _hub().BertBackbone(
        vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS, hidden_dim=HIDDEN,
        intermediate_dim=FFN, dropout=0.0, max_sequence_length=tokens,
    )  # fmt: skip


def t5(tokens: int) -> Any:
    return _hub().T5Backbone(
        vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS, hidden_dim=HIDDEN,
        intermediate_dim=FFN, dropout=0.0,
    )  # fmt: skip


def whisper(tokens: int) -> Any:
    return _hub().WhisperBackbone(
        vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS, hidden_dim=HIDDEN,
        intermediate_dim=FFN, num_mels=CONFIGS["whisper"]["mels"], dropout=0.0,
        max_encoder_sequence_length=2 * tokens, max_decoder_sequence_length=tokens,
    )  # fmt: skip


def llama(tokens: int) -> Any:
    c = CONFIGS["llama"]
    return _hub().LlamaBackbone(
        vocabulary_size=VOCAB, num_layers=LAYERS, num_query_heads=c["q_heads"], hidden_dim=HIDDEN,
        intermediate_dim=FFN, num_key_value_heads=c["kv_heads"],
    )  # fmt: skip


def mistral(tokens: int) -> Any:
    c = CONFIGS["mistral"]
    return _hub().MistralBackbone(
        vocabulary_size=VOCAB, num_layers=LAYERS, num_query_heads=c["q_heads"], hidden_dim=HIDDEN,
        intermediate_dim=FFN, num_key_value_heads=c["kv_heads"], sliding_window=tokens,
    )  # fmt: skip


def gemma(tokens: int) -> Any:
    c = CONFIGS["gemma"]
    return _hub().GemmaBackbone(
        vocabulary_size=VOCAB, num_layers=LAYERS, num_query_heads=c["q_heads"],
        num_key_value_heads=c["kv_heads"], hidden_dim=HIDDEN, intermediate_dim=FFN,
        head_dim=c["head_dim"],
    )  # fmt: skip


def vit(tokens: int) -> Any:
    c = CONFIGS["vit"]
    return _hub().ViTBackbone(
        image_shape=(c["image"], c["image"], 3), patch_size=c["patch"], num_layers=LAYERS,
        num_heads=HEADS, hidden_dim=HIDDEN, mlp_dim=FFN,
    )  # fmt: skip


def resnet(tokens: int) -> Any:
    c = CONFIGS["resnet"]
    return _hub().ResNetBackbone(
        input_conv_filters=[c["stem"]], input_conv_kernel_sizes=[c["stem_kernel"]],
        stackwise_num_filters=list(c["filters"]), stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2], block_type="basic_block",
        image_shape=(c["image"], c["image"], 3),
    )  # fmt: skip


def mha(tokens: int, mask: str) -> Any:
    """MultiHeadAttention (dropout 0: ``ops.dot_product_attention``) with ``mask``: ``none``,
    ``mask`` (a boolean attention_mask input), ``causal`` (use_causal_mask), or
    ``dropout`` (dropout 0.1: Keras's explicit einsum/softmax path) with a mask."""
    import keras

    c = CONFIGS["mha"]
    q = keras.Input((tokens, c["hidden"]), name="query")
    v = keras.Input((tokens, c["hidden"]), name="value")
    att = keras.layers.MultiHeadAttention(
        c["heads"], c["key_dim"], dropout=0.1 if mask == "dropout" else 0.0, name="mha"
    )
    if mask in ("mask", "dropout"):
        m = keras.Input((tokens, tokens), dtype="bool", name="mask")
        return keras.Model([q, v, m], att(q, v, attention_mask=m))
    return keras.Model([q, v], att(q, v, use_causal_mask=mask == "causal"))


def gpt2_lm(tokens: int) -> Any:
    """The causal LM: the backbone, then logits through the tied token embedding."""
    return _hub().GPT2CausalLM(backbone=_stateless(gpt2, tokens), preprocessor=None)


def llama_lm(tokens: int) -> Any:
    """The causal LM with an untied output projection (``reverse_embeddings``)."""
    return _hub().LlamaCausalLM(backbone=_stateless(llama, tokens), preprocessor=None)


def _stateless(build: Callable[[int], Any], tokens: int) -> Any:
    """Variables created with shapes only (never initialised): the analysis reads no values."""
    import keras

    with keras.StatelessScope(initialize_variables=False):
        return build(tokens)


TASKS: dict[str, Callable[[int], Any]] = {"gpt2_lm": gpt2_lm, "llama_lm": llama_lm}
BUILDERS: dict[str, Callable[[int], Any]] = {
    "gpt2": gpt2, "bert": bert, "t5": t5, "whisper": whisper, "llama": llama,
    "mistral": mistral, "gemma": gemma, "vit": vit, "resnet": resnet,
    **{f"mha_{m}": (lambda t, m=m: mha(t, m)) for m in ("none", "mask", "causal", "dropout")},
    **TASKS,
}  # fmt: skip
IMAGE_MODELS = ("vit", "resnet")
# 2048 tokens where the issue measured masked attention going uncounted; 128 for every model
LONG = ("gpt2", "whisper", "llama", "mistral", "mha_none", "mha_mask")
CASES: list[tuple[str, int]] = [
    *((name, t) for name in BUILDERS if name not in IMAGE_MODELS for t in TOKENS
      if t == TOKENS[0] or name in LONG),
    *((name, 0) for name in IMAGE_MODELS),
]  # fmt: skip


def input_shapes(name: str, model: Any, tokens: int) -> dict[str, tuple[int, ...]]:
    """Batch 1, ``tokens`` for every sequence dimension (Whisper: twice as many audio frames)."""
    shapes = {i.name: (1, *(tokens if d is None else d for d in i.shape[1:])) for i in model.inputs}
    if name == "whisper":
        shapes["encoder_features"] = (1, 2 * tokens, CONFIGS["whisper"]["mels"])
    return shapes


def _size(variables: list[Any]) -> int:
    import math

    return sum(math.prod(v.shape) for v in variables)


def analyze_all() -> dict[str, Any]:
    from analyzer import analyze

    out: dict[str, Any] = {}
    for name, tokens in CASES:
        key = f"{name}@{tokens}" if tokens else name
        try:
            build = BUILDERS[name]  # task models create variables: not in a stateless scope
            model = build(tokens) if name in TASKS else _stateless(build, tokens)
        except Exception as e:  # noqa: BLE001  (a model that does not build on this backend)
            out[key] = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
            continue
        start = time.perf_counter()
        report = analyze(model, input_shapes(name, model, tokens))
        out[key] = {
            "seconds": round(time.perf_counter() - start, 3),
            "keras_trainable": _size(model.trainable_weights),
            "keras_non_trainable": _size(model.non_trainable_weights),
            "keras_count_params": int(model.count_params()),
            "params": report.totals["params"],
            "non_trainable_params": report.totals["non_trainable_params"],
            "macs": report.totals["macs"],
            "flops": report.totals["flops"],
            "complete": report.complete,
            "unsupported": report.unsupported,
            "warnings": report.graph.meta.get("warnings", []),
        }
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
    print(json.dumps(analyze_all(), sort_keys=True))
