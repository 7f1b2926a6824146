"""Keras structural layers as canonical ops: merging, reshaping, regularization,
preprocessing, embeddings and recurrent layers.

- ``Add``/``Multiply``/``Maximum``/``Minimum`` of n inputs are n-1 binary ops;
  ``Average`` adds a division by n.
- Dropout and the other regularization layers are ``identity`` (inference).
- ``Rescaling`` is ``x * scale (+ offset)``; ``Normalization`` is
  ``(x - mean) / sqrt(variance)`` on its (non-trainable) statistics.
- ``LSTM``/``GRU``/``SimpleRNN`` (and ``Bidirectional`` around one) are one
  ``rnn`` node: Keras keeps one bias vector per gate (``n_biases=1``), two for
  a GRU with ``reset_after=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.core.shapes import broadcast_shapes
from analyzer.plugins.frontends.keras.capture import Event
from analyzer.plugins.frontends.keras.emitter import Emitter, Spec, is_keras_tensor, is_variable
from analyzer.plugins.frontends.keras.handlers import first_input, layer, out, outputs, tensor_args


def _chain(em: Emitter, op_name: str, xs: list[Any], y: Any) -> str:
    """Fold ``xs`` with a binary op; the last step produces ``y``."""
    acc = xs[0]
    for i, x in enumerate(xs[1:], start=2):
        target = (
            y if i == len(xs) else Spec(broadcast_shapes(em.shape(acc), em.shape(x)), em.dtype(y))
        )
        acc = em.emit(op_name, [acc, x], target)
    return acc


_MERGE = {
    "Add": "add",
    "Subtract": "sub",
    "Multiply": "mul",
    "Maximum": "maximum",
    "Minimum": "minimum",
}


@layer(*_MERGE)
def merge(em: Emitter, ev: Event) -> None:
    _chain(em, _MERGE[type(ev.op).__name__], tensor_args(ev), out(ev))


@layer("Average")
def average(em: Emitter, ev: Event) -> None:
    xs, y = tensor_args(ev), out(ev)
    total = _chain(em, "add", xs, Spec(em.shape(y), em.dtype(y)))
    em.emit("div", [total, em.constant(np.float32(len(xs)))], y)


@layer("Concatenate")
def concatenate(em: Emitter, ev: Event) -> None:
    y = out(ev)
    em.emit("concat", tensor_args(ev), y, {"axis": ev.op.axis % len(em.shape(y))})


# --- reshaping ------------------------------------------------------------------------
@layer("Flatten", "Reshape")
def reshape(em: Emitter, ev: Event) -> None:
    em.emit("reshape", [first_input(ev)], out(ev))


@layer("Permute")
def permute(em: Emitter, ev: Event) -> None:
    em.emit("permute", [first_input(ev)], out(ev), {"perm": (0, *ev.op.dims)})


@layer("RepeatVector")
def repeat_vector(em: Emitter, ev: Event) -> None:
    em.emit("tile", [first_input(ev)], out(ev), {"axis": 1, "repeats": ev.op.n})


@layer("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(em: Emitter, ev: Event) -> None:
    em.emit(
        "slice",
        [first_input(ev)],
        out(ev),
        {"cropping": tuple(map(tuple, np.atleast_2d(ev.op.cropping).tolist()))},
    )


@layer("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(em: Emitter, ev: Event) -> None:
    x = first_input(ev)
    spatial = [(int(lo), int(hi)) for lo, hi in np.atleast_2d(ev.op.padding).tolist()]
    pads = (
        [(0, 0)] + spatial + [(0, 0)]
        if ev.op.data_format == "channels_last"
        else [(0, 0), (0, 0)] + spatial
    )
    em.emit("pad", [x], out(ev), {"pads": tuple(pads), "mode": "constant"})


_RESIZE_MODES = {"nearest": "nearest", "bilinear": "linear", "bicubic": "cubic"}


@layer("UpSampling1D", "UpSampling2D", "UpSampling3D",
       accepts=lambda lay: getattr(lay, "interpolation", "nearest") in _RESIZE_MODES)  # fmt: skip
def upsampling(em: Emitter, ev: Event) -> None:
    x = first_input(ev)
    mode = _RESIZE_MODES[getattr(ev.op, "interpolation", "nearest")]
    em.emit("resize", [x], out(ev), {"mode": mode, "spatial_dims": len(em.shape(x)) - 2})


@layer("Resizing", accepts=lambda lay: lay.interpolation in _RESIZE_MODES
       and not (lay.crop_to_aspect_ratio or getattr(lay, "pad_to_aspect_ratio", False)))  # fmt: skip
def resizing(em: Emitter, ev: Event) -> None:
    x = first_input(ev)
    em.emit(
        "resize",
        [x],
        out(ev),
        {"mode": _RESIZE_MODES[ev.op.interpolation], "spatial_dims": len(em.shape(x)) - 2},
    )


# --- inference no-ops -------------------------------------------------------------------
@layer("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
       "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity")  # fmt: skip
def identity(em: Emitter, ev: Event) -> None:
    em.emit("identity", [first_input(ev)], out(ev))


# --- preprocessing ------------------------------------------------------------------------
@layer("Rescaling")
def rescaling(em: Emitter, ev: Event) -> None:
    lay, x, y = ev.op, first_input(ev), out(ev)
    scale = em.constant(np.asarray(lay.scale, dtype=np.float32))
    offset = np.asarray(lay.offset, dtype=np.float32)
    if not offset.any():
        em.emit("mul", [x, scale], y)
        return
    z = em.emit("mul", [x, scale], Spec(em.shape(y), em.dtype(y)))
    em.emit("add", [z, em.constant(offset)], y)


def _stat(em: Emitter, lay: Any, var_attr: str, tensor_attr: str, target: tuple[int, ...]) -> str:
    """A Normalization statistic as an operand broadcasting against ``target``."""
    v = getattr(lay, var_attr, None)
    if is_variable(v):
        name = em.param(v, "mean" if "mean" in var_attr else "var")
        try:
            broadcast_shapes(em.shape(name), target)
            return name
        except ValueError:
            shape = tuple(int(d) for d in lay._broadcast_shape)
            return em.emit("reshape", [name], Spec(shape, em.dtype(name)))
    return em.constant(getattr(lay, tensor_attr))


@layer("Normalization", accepts=lambda lay: not lay.invert and lay.mean is not None)
def normalization(em: Emitter, ev: Event) -> None:
    lay, x, y = ev.op, first_input(ev), out(ev)
    ys = em.shape(y)
    mean = _stat(em, lay, "adapt_mean", "mean", ys)
    var = _stat(em, lay, "adapt_variance", "variance", ys)
    centered = em.emit("sub", [x, mean], Spec(ys, em.dtype(y)))
    std = em.emit("sqrt", [var], Spec(em.shape(var), em.dtype(y)))
    em.emit("div", [centered, std], y)


# --- embeddings ----------------------------------------------------------------------------
@layer(
    "Embedding",
    accepts=lambda lay: not lay.lora_enabled and getattr(lay, "quantization_mode", None) is None,
)
def embedding(em: Emitter, ev: Event) -> None:
    em.emit("embedding", [first_input(ev), em.param(ev.op.embeddings, "embedding")], out(ev))


# --- recurrent -------------------------------------------------------------------------------
_CELLS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}


def _rnn_attrs(rnn: Any, x_shape: tuple[int, ...]) -> dict[str, Any]:
    cell = rnn.cell
    kind = _CELLS[type(rnn).__name__]
    n_biases = (2 if kind == "gru" and cell.reset_after else 1) if cell.use_bias else 0
    attrs = {
        "cell": kind, "input_size": x_shape[-1], "hidden_size": cell.units, "num_layers": 1,
        "bidirectional": False, "steps": x_shape[1], "batch": x_shape[0], "n_biases": n_biases,
    }  # fmt: skip
    if kind == "rnn":
        attrs["nonlinearity"] = getattr(cell.activation, "__name__", "tanh")
    return attrs


def _rnn_weights(em: Emitter, rnn: Any) -> list[str]:
    cell = rnn.cell
    ws = [em.param(cell.kernel, "weight"), em.param(cell.recurrent_kernel, "weight")]
    if cell.use_bias:
        ws.append(em.param(cell.bias, "bias"))
    return ws


def _rnn_node(em: Emitter, ev: Event, attrs: dict[str, Any], weights: list[str]) -> None:
    x = first_input(ev)
    states = [t for t in tensor_args(ev)[1:] if is_keras_tensor(t)]  # initial states, masks
    em.emit("rnn", [x, *weights, *states], outputs(ev), attrs)


def _plain_rnn(lay: Any) -> bool:
    return type(lay).__name__ in _CELLS and not getattr(lay, "time_major", False)


@layer("LSTM", "GRU", "SimpleRNN", accepts=_plain_rnn)
def recurrent(em: Emitter, ev: Event) -> None:
    _rnn_node(em, ev, _rnn_attrs(ev.op, em.shape(first_input(ev))), _rnn_weights(em, ev.op))


@layer(
    "Bidirectional",
    accepts=lambda lay: _plain_rnn(lay.forward_layer) and _plain_rnn(lay.backward_layer),
)
def bidirectional(em: Emitter, ev: Event) -> None:
    """One ``rnn`` node with ``bidirectional=True``; the merge (concat by default) is part of it."""
    lay = ev.op
    attrs = _rnn_attrs(lay.forward_layer, em.shape(first_input(ev)))
    attrs.update(bidirectional=True, merge_mode=lay.merge_mode)
    _rnn_node(
        em, ev, attrs, _rnn_weights(em, lay.forward_layer) + _rnn_weights(em, lay.backward_layer)
    )
