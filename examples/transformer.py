"""One transformer encoder layer in PyTorch, Keras 3 and Flax linen.

``nn.TransformerEncoderLayer(512, 8, 2048, batch_first=True)``: d_model 512,
8 heads of 64, FFN 2048 with ReLU, post-norm (``norm1(x + attn(x))``,
``norm2(x + ffn(x))``), LayerNorm eps 1e-5, dropout 0.1 (identity at
inference); batch 1, sequence 128. 3,152,384 params, 419,430,400 MACs.
Layers carry PyTorch's module names (``self_attn``, ``linear1``, ``norm2``).

    python -m analyzer compare examples/transformer.py:torch_model \
        examples/transformer.py:keras_model examples/transformer.py:flax_model

Each SPEC imports only its own framework, when called.
"""

from __future__ import annotations

from typing import Any

NAME = "transformer_encoder"
D_MODEL, HEADS, FFN, SEQ, EPS, DROPOUT = 512, 8, 2048, 128, 1e-5, 0.1


def torch_model() -> dict[str, Any]:
    """PyTorch's own encoder layer, on the meta device, in eval mode (dropout off)."""
    import torch
    from torch import nn

    with torch.device("meta"):
        model = nn.TransformerEncoderLayer(D_MODEL, HEADS, FFN, DROPOUT, batch_first=True).eval()
    return {"model": model, "inputs": (1, SEQ, D_MODEL), "name": NAME}


def keras_model() -> dict[str, Any]:
    """Keras 3 functional: MultiHeadAttention (key_dim 64 per head), Dense FFN."""
    import keras
    from keras import layers

    with keras.StatelessScope(initialize_variables=False):  # shapes only: no weight initialisation
        x = inp = keras.Input((SEQ, D_MODEL), name="input")
        a = layers.MultiHeadAttention(HEADS, D_MODEL // HEADS, dropout=DROPOUT, name="self_attn")(
            x, x
        )
        a = layers.Dropout(DROPOUT, name="dropout1")(a)
        x = layers.LayerNormalization(epsilon=EPS, name="norm1")(layers.Add(name="add")([x, a]))
        f = layers.Dense(FFN, name="linear1")(x)
        f = layers.ReLU(name="relu")(f)
        f = layers.Dropout(DROPOUT, name="dropout")(f)
        f = layers.Dense(D_MODEL, name="linear2")(f)
        f = layers.Dropout(DROPOUT, name="dropout2")(f)
        x = layers.LayerNormalization(epsilon=EPS, name="norm2")(layers.Add(name="add_1")([x, f]))
        model = keras.Model(inp, x, name=NAME)
    return {"model": model, "inputs": (1, SEQ, D_MODEL), "name": NAME}


def flax_model() -> dict[str, Any]:
    """Flax linen: MultiHeadDotProductAttention, Dense FFN, deterministic dropout."""
    import flax.linen as nn

    class EncoderLayer(nn.Module):
        @nn.compact
        def __call__(self, x):
            a = nn.MultiHeadDotProductAttention(
                num_heads=HEADS,
                qkv_features=D_MODEL,
                dropout_rate=DROPOUT,
                deterministic=True,
                name="self_attn",
            )(x)
            a = nn.Dropout(DROPOUT, deterministic=True, name="dropout1")(a)
            x = nn.LayerNorm(epsilon=EPS, name="norm1")(x + a)
            f = nn.relu(nn.Dense(FFN, name="linear1")(x))
            f = nn.Dropout(DROPOUT, deterministic=True, name="dropout")(f)
            f = nn.Dense(D_MODEL, name="linear2")(f)
            f = nn.Dropout(DROPOUT, deterministic=True, name="dropout2")(f)
            return nn.LayerNorm(epsilon=EPS, name="norm2")(x + f)

    return {"model": EncoderLayer(), "inputs": (1, SEQ, D_MODEL), "name": NAME}
