"""Real-world models built from code (tiny configs, random init, no downloads).

``CATALOG`` maps a name to a zero-argument builder returning ``(model, inputs)``,
``inputs`` as ``analyzer.analyze`` accepts them (a tensor, a tuple of tensors
or a dict of keyword tensors). A builder raises ``pytest.skip`` (through
``importorskip``) when its library is absent. Models are returned in eval mode
unless noted; test modules decide what they check on each.

transformers models come from their ``XxxConfig`` classes; timm from
``create_model(pretrained=False)``; torchvision through ``tv_shim`` (its C++
ops do not load beside the pinned torch).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pytest
import torch

Builder = Callable[[], tuple[torch.nn.Module, Any]]


def _seeded(seed: int = 0) -> None:
    torch.manual_seed(seed)


def _tokens(vocab: int, batch: int = 1, length: int = 8) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(1))


def _image(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(2))


# --- transformers --------------------------------------------------------------------------------
def _transformers() -> Any:
    if importlib.util.find_spec("torchvision") is not None:  # transformers imports torchvision lazily:
        from tests.plugins.frontends.torch import (
            tv_shim,  # its custom ops first, whatever ran before
        )

        tv_shim.load()
    return pytest.importorskip("transformers")


def gpt2() -> tuple[torch.nn.Module, Any]:
    tf = _transformers()
    _seeded()
    config = tf.GPT2Config(vocab_size=96, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                            bos_token_id=0, eos_token_id=0)  # fmt: skip
    return tf.GPT2LMHeadModel(config).eval(), {"input_ids": _tokens(96)}


def bert() -> tuple[torch.nn.Module, Any]:
    tf = _transformers()
    _seeded()
    config = tf.BertConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, max_position_embeddings=32)  # fmt: skip
    ids = _tokens(96, batch=2)
    return tf.BertModel(config).eval(), {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def llama_gqa() -> tuple[torch.nn.Module, Any]:
    tf = _transformers()
    _seeded()
    config = tf.LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)  # fmt: skip
    return tf.LlamaForCausalLM(config).eval(), {"input_ids": _tokens(96)}


def mistral_sliding_window() -> tuple[torch.nn.Module, Any]:
    """Default cache (use_cache=True) with a sliding window shorter than the sequence."""
    tf = _transformers()
    _seeded()
    config = tf.MistralConfig(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                              sliding_window=4)  # fmt: skip
    return tf.MistralForCausalLM(config).eval(), {"input_ids": _tokens(96)}


def _mixtral(experts: str | None) -> tuple[torch.nn.Module, Any]:
    tf = _transformers()
    _seeded()
    kwargs = {"experts_implementation": experts} if experts else {}
    config = tf.MixtralConfig(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                              num_local_experts=4, num_experts_per_tok=2, **kwargs)  # fmt: skip
    return tf.MixtralForCausalLM(config).eval(), {"input_ids": _tokens(96)}


def mixtral_grouped_mm() -> tuple[torch.nn.Module, Any]:
    """transformers 5's default experts: ``grouped_mm`` over tokens sorted by expert."""
    return _mixtral(None)


def mixtral_eager() -> tuple[torch.nn.Module, Any]:
    """The eager expert loop: ``torch.where(mask)`` per expert, data-dependent sizes."""
    return _mixtral("eager")


def qwen3_moe() -> tuple[torch.nn.Module, Any]:
    """Another MoE family: ``moe_intermediate_size`` experts, default grouped_mm."""
    tf = _transformers()
    _seeded()
    config = tf.Qwen3MoeConfig(vocab_size=96, hidden_size=32, intermediate_size=64, moe_intermediate_size=24,
                               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                               num_experts=4, num_experts_per_tok=2, max_position_embeddings=64)  # fmt: skip
    return tf.Qwen3MoeForCausalLM(config).eval(), {"input_ids": _tokens(96)}


def t5() -> tuple[torch.nn.Module, Any]:
    tf = _transformers()
    _seeded()
    config = tf.T5Config(vocab_size=96, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                         num_heads=4, decoder_start_token_id=0)  # fmt: skip
    return tf.T5ForConditionalGeneration(config).eval(), {
        "input_ids": _tokens(96),
        "decoder_input_ids": _tokens(96, length=5),
    }


def whisper() -> tuple[torch.nn.Module, Any]:
    tf = _transformers()
    _seeded()
    config = tf.WhisperConfig(vocab_size=96, num_mel_bins=16, d_model=32, encoder_layers=2, decoder_layers=2,
                              encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
                              decoder_ffn_dim=64, max_source_positions=16, max_target_positions=16,
                              pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1)  # fmt: skip
    features = _image(1, 16, 32)  # 2 x max_source_positions frames (the encoder's conv stride is 2)
    return tf.WhisperForConditionalGeneration(config).eval(), {
        "input_features": features,
        "decoder_input_ids": _tokens(96, length=4),
    }


def wav2vec2() -> tuple[torch.nn.Module, Any]:
    """Audio: a convolutional feature extractor and a weight-normalized positional convolution."""
    tf = _transformers()
    _seeded()
    config = tf.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                               conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3),
                               num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4)  # fmt: skip
    return tf.Wav2Vec2Model(config).eval(), {"input_values": _image(1, 400)}


def vit_hf() -> tuple[torch.nn.Module, Any]:
    tf = _transformers()
    _seeded()
    config = tf.ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=4, intermediate_size=64)  # fmt: skip
    return tf.ViTModel(config).eval(), {"pixel_values": _image(1, 3, 32, 32)}


# --- timm --------------------------------------------------------------------------------------
def _timm(name: str, size: int, **kwargs: Any) -> tuple[torch.nn.Module, Any]:
    _tv()  # timm imports torchvision
    timm = pytest.importorskip("timm")
    _seeded()
    model = timm.create_model(name, pretrained=False, **kwargs)
    return model.eval(), _image(1, 3, size, size)


def timm_resnet() -> tuple[torch.nn.Module, Any]:
    return _timm("resnet18", 64, num_classes=10)


def timm_vit() -> tuple[torch.nn.Module, Any]:
    return _timm("vit_tiny_patch16_224", 32, img_size=32, num_classes=10)


def timm_efficientnet() -> tuple[torch.nn.Module, Any]:
    return _timm("efficientnet_b0", 64, num_classes=10)


def timm_convnext() -> tuple[torch.nn.Module, Any]:
    return _timm("convnext_atto", 64, num_classes=10)


# --- torchvision -----------------------------------------------------------------------------------
def _tv() -> Any:
    from tests.plugins.frontends.torch import tv_shim

    if importlib.util.find_spec("torchvision") is None:  # importorskip would import it unshimmed
        pytest.skip("torchvision is not installed")
    _seeded()
    return tv_shim.load()


def vit_torchvision() -> tuple[torch.nn.Module, Any]:
    """nn.MultiheadAttention, whose fused fast path runs under eval + no_grad."""
    from_tv = _tv().models.vision_transformer
    model = from_tv.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                      hidden_dim=32, mlp_dim=64, num_classes=10)  # fmt: skip
    return model.eval(), _image(1, 3, 32, 32)


def swin_v2() -> tuple[torch.nn.Module, Any]:
    """Swin-v2: cosine attention (vector norms), a log-spaced relative position MLP."""
    swin = _tv().models.swin_transformer
    model = swin.SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[1, 1], num_heads=[2, 2],
                                 window_size=[4, 4], num_classes=10, block=swin.SwinTransformerBlockV2,
                                 downsample_layer=swin.PatchMergingV2)  # fmt: skip
    return model.eval(), _image(1, 3, 32, 32)


def faster_rcnn() -> tuple[torch.nn.Module, Any]:
    from_tv = _tv().models.detection
    model = from_tv.fasterrcnn_mobilenet_v3_large_fpn(
        weights=None, weights_backbone=None, num_classes=3, min_size=64, max_size=96,
        rpn_pre_nms_top_n_test=50, rpn_post_nms_top_n_test=20, box_detections_per_img=10,
    )  # fmt: skip
    return model.eval(), ([_image(3, 64, 80)],)


def ssdlite() -> tuple[torch.nn.Module, Any]:
    from_tv = _tv().models.detection
    model = from_tv.ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=3, topk_candidates=20, detections_per_img=10,
    )  # fmt: skip
    model.transform.min_size, model.transform.max_size = (96,), 96
    return model.eval(), ([_image(3, 96, 96)],)


def deeplabv3() -> tuple[torch.nn.Module, Any]:
    seg = _tv().models.segmentation
    model = seg.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=4)
    return model.eval(), _image(1, 3, 64, 64)


def fcn() -> tuple[torch.nn.Module, Any]:
    seg = _tv().models.segmentation
    model = seg.fcn_resnet50(weights=None, weights_backbone=None, num_classes=4, aux_loss=True)
    return model.eval(), _image(1, 3, 32, 32)


def r3d_18() -> tuple[torch.nn.Module, Any]:
    video = _tv().models.video
    return video.r3d_18(weights=None, num_classes=5).eval(), _image(1, 3, 4, 32, 32)


def raft_small() -> tuple[torch.nn.Module, Any]:
    flow = _tv().models.optical_flow
    model = flow.raft_small(weights=None)
    images = _image(1, 3, 128, 128), _image(1, 3, 128, 128)  # the smallest it accepts
    return model.eval(), (*images, 2)  # num_flow_updates=2 keeps the iterations few


CATALOG: dict[str, Builder] = {
    "gpt2": gpt2,
    "bert": bert,
    "llama_gqa": llama_gqa,
    "mistral_sliding_window": mistral_sliding_window,
    "mixtral_grouped_mm": mixtral_grouped_mm,
    "mixtral_eager": mixtral_eager,
    "qwen3_moe": qwen3_moe,
    "t5": t5,
    "whisper": whisper,
    "wav2vec2": wav2vec2,
    "vit_hf": vit_hf,
    "timm_resnet": timm_resnet,
    "timm_vit": timm_vit,
    "timm_efficientnet": timm_efficientnet,
    "timm_convnext": timm_convnext,
    "vit_torchvision": vit_torchvision,
    "swin_v2": swin_v2,
    "faster_rcnn": faster_rcnn,
    "ssdlite": ssdlite,
    "deeplabv3": deeplabv3,
    "fcn": fcn,
    "r3d_18": r3d_18,
    "raft_small": raft_small,
}
