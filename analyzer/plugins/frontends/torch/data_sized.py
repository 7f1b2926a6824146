"""Handlers of ops whose output size is set by tensor values (docs/frontends/torch.md,
"Data-dependent sizes"): nonzero, one-argument where, unique, masked_select, boolean
indexing, repeat_interleave with tensor repeats, bincount, torchvision's nms.

A real trace knows these sizes; the node says they came from the example
inputs' values (``node.meta["data_dependent"]``) and the graph warns once
(``Recorder.finish``). A meta trace never gets here: these ops have no meta
kernel, and the capture says that the size needs values.

Same contract as ``handlers``: ``fn(rec, call)`` names every output of the call.
"""

from __future__ import annotations

from typing import Any

from analyzer.plugins.frontends.torch.call import Call
from analyzer.plugins.frontends.torch.recorder import Recorder, V


def _data_dependent(
    rec: Recorder, op: str, ins: list[Any], c: Call, attrs: dict | None = None
) -> None:
    rec.emit(op, ins, c.outs, attrs or {}, c.source, c.op, meta={"data_dependent": True})


def nonzero(rec: Recorder, c: Call) -> None:
    """nonzero, argwhere, nonzero_numpy and one-argument ``where(cond)``: indices of the nonzero
    elements, one (count, rank) tensor or, as a tuple, rank tensors of (count,)."""
    if c.op == "nonzero_static":  # the caller fixed the count
        rec.emit("nonzero", [c.first()], c.outs, {}, c.source, c.op)
        return
    _data_dependent(rec, "nonzero", [c.first()], c)


def where(rec: Recorder, c: Call) -> None:
    """``where(cond, a, b)`` selects elementwise; ``where(cond)`` alone is ``nonzero``."""
    if c.overload == "default":
        nonzero(rec, c)
    else:
        rec.emit("where", list(c.tensors()), c.outs, {}, c.source, c.op)


def unique(rec: Recorder, c: Call) -> None:
    _data_dependent(rec, "unique", [c.first()], c)


def masked_select(rec: Recorder, c: Call) -> None:
    _data_dependent(rec, "gather", list(c.tensors()), c)


def index(rec: Recorder, c: Call) -> None:
    """``x[idx]``: a gather; with a mask among the indices (bool, or uint8 as PyTorch still
    reads it) its size is the mask's count."""
    ins = list(c.tensors())
    if any(v is not None and v.dtype in ("bool", "uint8") for v in c["indices"]):
        _data_dependent(rec, "gather", ins, c)
    else:
        rec.emit("gather", ins, c.outs, {}, c.source, c.op)


def repeat_interleave(rec: Recorder, c: Call) -> None:
    """Repeats given as a tensor make the output size their sum (unless ``output_size`` says it)."""
    ins = list(c.tensors())
    if not isinstance(c.get("repeats"), V) or c.get("output_size") is not None:
        rec.emit("tile", ins[:1], c.outs, {}, c.source, c.op)
    else:
        _data_dependent(rec, "gather", ins, c)


def histogram(rec: Recorder, c: Call) -> None:
    """histc, bincount: a scatter-add of ones into zeroed bins (bincount's bin count is the
    largest value + 1 unless ``minlength`` covers it: set by values)."""
    out = c.outs[0]
    bins = rec.tmp(out.shape, out.dtype)
    rec.emit("constant", [], [bins], {"kind": "zeros"}, c.source, c.op)
    ins = [bins, *c.tensors()]
    if c.op == "bincount":
        _data_dependent(rec, "scatter", ins, c)
    else:
        rec.emit("scatter", ins, c.outs, {}, c.source, c.op)


def nms(rec: Recorder, c: Call) -> None:
    """torchvision's non-maximum suppression: the kept boxes' indices by decreasing score, a
    ``sort`` of the scores that drops the suppressed ones (the IoU tests are not counted)."""
    attrs = {"kind": "nms", "iou_threshold": float(c.get("iou_threshold", 0.0))}
    _data_dependent(rec, "sort", [c["scores"], c["dets"]], c, attrs)
