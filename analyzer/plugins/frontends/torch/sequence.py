"""Handlers of sequence layers: attention (SDPA kernels, MultiheadAttention's and
TransformerEncoderLayer's fused fast paths, unfused) and recurrent layers.

Same contract as ``handlers``: ``fn(rec, call)`` names every output of the call.
"""

from __future__ import annotations

from analyzer.plugins.frontends.torch.call import Call
from analyzer.plugins.frontends.torch.handlers import unknown
from analyzer.plugins.frontends.torch.recorder import Recorder, V


# --- attention ------------------------------------------------------------------------------------
def sdpa(rec: Recorder, c: Call) -> None:
    """Every scaled-dot-product-attention kernel (math, flash, efficient, cudnn): one node."""
    q, k, v = c["query"], c["key"], c["value"]
    mask = c.get("attn_mask") if "attn_mask" in c.bound else c.get("attn_bias")
    attrs = {"is_causal": bool(c.get("is_causal", False))}
    if c.get("scale") is not None:
        attrs["scale"] = float(c["scale"])
    if c.get("enable_gqa"):
        attrs["enable_gqa"] = True
    rec.emit("attention", [q, k, v, mask], c.outs, attrs, c.source, c.op)


def _heads(rec: Recorder, c: Call, x: V, b: int, n: int, h: int) -> V:
    """(B, L, H*D) -> (B, H, L, D) as views."""
    split = rec.tmp((b, n, h, x.shape[-1] // h), x.dtype)
    rec.emit("reshape", [x], [split], {}, c.source, c.op)
    out = rec.tmp((b, h, n, x.shape[-1] // h), x.dtype)
    rec.emit("permute", [split], [out], {"perm": (0, 2, 1, 3)}, c.source, c.op)
    return out


def _mha(
    rec: Recorder, c: Call, q: V, k: V, v: V, out: V, weights: V | None, prefix: str = ""
) -> None:
    """The body of nn.MultiheadAttention's fused kernels: projections, attention, output projection."""
    h, e = int(c["num_head" if "num_head" in c.bound else "num_heads"]), int(c["embed_dim"])
    w_qkv, b_qkv = rec.weight(c["qkv_weight"], "weight"), rec.weight(c.get("qkv_bias"), "bias")
    bsz, lq, lk = q.shape[0], q.shape[1], k.shape[1]
    if q is k and k is v:  # self-attention: one packed projection
        qkv = rec.tmp((bsz, lq, 3 * e), q.dtype)
        rec.emit("linear", [q, w_qkv, b_qkv], [qkv], {}, c.source, c.op)
        parts = [rec.tmp((bsz, lq, e), q.dtype) for _ in range(3)]
        rec.emit("split", [qkv], parts, {"axis": 2}, c.source, c.op)
    else:  # three projections through slices of the packed weight: MACs per slice
        parts = []
        for x in (q, k, v):
            p = rec.tmp((bsz, x.shape[1], e), x.dtype)
            rec.emit("linear", [x, w_qkv, b_qkv], [p], {}, c.source, c.op)
            parts.append(p)
    qh, kh, vh = (_heads(rec, c, p, bsz, n, h) for p, n in zip(parts, (lq, lk, lk), strict=True))
    att = rec.tmp((bsz, h, lq, e // h), q.dtype)
    outs = [att] + ([weights] if weights is not None else [])
    rec.emit("attention", [qh, kh, vh, c.get("mask")], outs, {"is_causal": False}, c.source, c.op)
    merged = rec.tmp((bsz, lq, h, e // h), q.dtype)
    rec.emit("permute", [att], [merged], {"perm": (0, 2, 1, 3)}, c.source, c.op)
    flat = rec.tmp((bsz, lq, e), q.dtype)
    rec.emit("reshape", [merged], [flat], {}, c.source, c.op)
    ins = [flat, rec.weight(c["proj_weight"], "weight"), rec.weight(c.get("proj_bias"), "bias")]
    rec.emit("linear", ins, [out], {}, c.source, c.op)


def native_mha(rec: Recorder, c: Call) -> None:
    """``aten._native_multi_head_attention`` (MultiheadAttention's inference fast path)."""
    weights = c.outs[1] if len(c.outs) > 1 else None
    _mha(rec, c, c["query"], c["key"], c["value"], c.outs[0], weights)


def encoder_layer_fwd(rec: Recorder, c: Call) -> None:
    """``aten._transformer_encoder_layer_fwd`` (TransformerEncoderLayer's fast path), unfused."""
    x, out = c["src"], c.outs[0]
    eps = float(c.get("eps", 1e-5))

    def norm(t: V, i: int) -> V:
        o = rec.tmp(t.shape, t.dtype)
        ins = [
            t,
            rec.weight(c[f"norm_weight_{i}"], "scale"),
            rec.weight(c[f"norm_bias_{i}"], "shift"),
        ]
        rec.emit("layer_norm", ins, [o], {"axes": (-1,), "eps": eps}, c.source, c.op)
        return o

    def add(a: V, b: V, o: V | None = None) -> V:
        o = o or rec.tmp(a.shape, a.dtype)
        rec.emit("add", [a, b], [o], {}, c.source, c.op)
        return o

    def ffn(t: V) -> V:
        hidden = c["ffn_weight_1"].shape[0]
        h1 = rec.tmp((*t.shape[:-1], hidden), t.dtype)
        rec.emit(
            "linear",
            [t, rec.weight(c["ffn_weight_1"]), rec.weight(c["ffn_bias_1"], "bias")],
            [h1],
            {},
            c.source,
            c.op,
        )
        act = rec.tmp(h1.shape, t.dtype)
        rec.emit("gelu" if c.get("use_gelu") else "relu", [h1], [act], {}, c.source, c.op)
        h2 = rec.tmp(t.shape, t.dtype)
        rec.emit(
            "linear",
            [act, rec.weight(c["ffn_weight_2"]), rec.weight(c["ffn_bias_2"], "bias")],
            [h2],
            {},
            c.source,
            c.op,
        )
        return h2

    def attn(t: V) -> V:
        o = rec.tmp(t.shape, t.dtype)
        _mha(rec, c, t, t, t, o, None)
        return o

    if c.get("norm_first"):
        y = add(x, attn(norm(x, 1)))
        add(y, ffn(norm(y, 2)), out)
    else:
        y = norm(add(x, attn(x)), 1)
        z = add(y, ffn(y))
        rec.emit("layer_norm", [z, rec.weight(c["norm_weight_2"], "scale"), rec.weight(c["norm_bias_2"], "shift")],
                 [out], {"axes": (-1,), "eps": eps}, c.source, c.op)  # fmt: skip


# --- recurrent layers -------------------------------------------------------------------------------
_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def rnn(rec: Recorder, c: Call) -> None:
    """aten.lstm / gru / rnn_tanh / rnn_relu on padded input -> one ``rnn`` node."""
    if c.overload != "input":  # packed sequences: step count is data
        unknown(rec, c)
        return
    x, params = c["input"], c["params"]
    layers, bidir = int(c["num_layers"]), bool(c["bidirectional"])
    batch_first = bool(c.get("batch_first", False))
    per_layer = len(params) // (layers * (2 if bidir else 1))
    has_bias = bool(c["has_biases"])
    gates = _GATES[c.op]
    hidden = params[0].shape[0] // gates
    if len(x.shape) == 2:
        steps, batch = x.shape[0], 1
    else:
        steps, batch = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    attrs = {
        "cell": "rnn" if c.op.startswith("rnn") else c.op, "input_size": x.shape[-1], "hidden_size": hidden,
        "num_layers": layers, "bidirectional": bidir, "steps": steps, "batch": batch,
        "n_biases": 2 if has_bias else 0, "batch_first": batch_first,
    }  # fmt: skip
    if c.op.startswith("rnn"):
        attrs["nonlinearity"] = c.op.removeprefix("rnn_")
    if per_layer > (4 if has_bias else 2):  # LSTM with projections: w_hr per layer
        attrs["proj_size"] = params[per_layer - 1].shape[0]
    hx = c["hx"] if isinstance(c["hx"], list | tuple) else [c["hx"]]
    weights = [
        rec.weight(p, "bias" if has_bias and i % per_layer in (2, 3) else "weight")
        for i, p in enumerate(params)
    ]
    rec.emit("rnn", [x, *hx, *weights], c.outs, attrs, c.source, c.op)
