"""Canonical passes: rewrite a frontend's graph into the form every framework shares.

They run in the engine between validation and layer grouping, in this
order: the built-in passes (``BUILTIN_PASSES``, in tuple order), then the
passes plugins add through ``analyzer_register_passes``, in plugin
registration order (built-in plugins, entry points, plugins given in code),
each plugin's in the order it registers them. The report lists every pass
that ran, in order, under ``model.passes_run``; a pass that changes
something also says what in ``graph.meta["passes"]`` (``model.passes``).

A pass takes a graph and returns a graph: the same one when it changes
nothing, else a new one (the caller's graph may be analysed again, by a
sweep for instance, so it is never modified). A plugin pass's result is
validated before the next pass runs.

- ``fold_pad_into_conv``: a zero ``pad`` whose only reader is a convolution
  and which pads spatial dims only becomes the convolution's own padding.
  Keras must write a padded convolution as ``ZeroPadding2D`` + a "valid"
  convolution, while PyTorch and Flax pad inside the convolution; the two
  compute the same thing, and inference compilers fuse the pad, so the
  analyzer counts them the same way (no separate padded tensor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from analyzer.core.errors import AnalysisError, GraphError
from analyzer.core.graph import Graph
from analyzer.core.ir import Node


@dataclass(frozen=True, slots=True)
class CanonicalPass:
    """One canonical pass: ``run(graph) -> graph`` (the same graph when nothing changes)."""

    name: str
    run: Callable[[Graph], Graph]
    doc: str = ""


def _foldable_pad(graph: Graph, node: Node) -> Node | None:
    """The convolution ``node`` (a pad) can fold into, or None."""
    if (
        node.op != "pad"
        or node.attrs.get("mode", "constant") != "constant"
        or node.attrs.get("value", 0) != 0
    ):
        return None
    pads = node.attrs.get("pads")
    acts = graph.info(node.id).act_inputs
    if pads is None or "interior" in node.attrs or any(lo < 0 or hi < 0 for lo, hi in pads):
        return None  # cropping or dilating pads are not a convolution's padding
    if len(acts) != 1 or len(node.outputs) != 1 or node.outputs[0] in graph.outputs:
        return None
    readers = graph.consumers(node.outputs[0])
    if len(readers) != 1 or readers[0].op != "conv" or readers[0].attrs.get("transposed"):
        return None
    conv = readers[0]
    if conv.inputs[0] != node.outputs[0] or node.outputs[0] in conv.inputs[1:]:
        return None
    rank = len(pads)
    c_axis = conv.attrs.get("channel_axis", 1) % rank
    if any(pads[d] != (0, 0) for d in (0, c_axis)):
        return None  # padding batch or channels is not a convolution's padding
    return conv


def fold_pad_into_conv(graph: Graph) -> Graph:
    """Return ``graph`` with foldable pads merged into their convolutions (a new graph if any)."""
    folds: dict[str, Node] = {}  # pad id -> conv
    for node in graph.nodes():
        conv = _foldable_pad(graph, node) if node.op == "pad" else None
        if conv is not None:
            folds[node.id] = conv
    if not folds:
        return graph
    rewritten: dict[str, Node] = {}
    for pad_id, conv in folds.items():
        pad = graph.node(pad_id)
        rank = len(pad.attrs["pads"])
        c_axis = conv.attrs.get("channel_axis", 1) % rank
        spatial = [d for d in range(1, rank) if d != c_axis]
        old = conv.attrs.get("padding", ((0, 0),) * len(spatial))
        padding = tuple(
            (lo + pad.attrs["pads"][d][0], hi + pad.attrs["pads"][d][1])
            for d, (lo, hi) in zip(spatial, old, strict=True)
        )
        source = graph.info(pad_id).act_inputs[0]
        rewritten[conv.id] = replace(
            conv, inputs=(source, *conv.inputs[1:]), attrs={**conv.attrs, "padding": padding}
        )
    out = Graph(
        graph.name, graph.framework, dict(graph.meta)
    )  # a copy: the input graph stays as it was
    dropped = {t for p in folds for t in graph.node(p).outputs}
    for t in graph.tensors.values():
        if t.name not in dropped:
            out.add_tensor(t)
    for p in graph.params.values():
        out.add_param(p)
    out.inputs = list(graph.inputs)
    for node in graph.nodes():
        if node.id not in folds:
            out.add_node(rewritten.get(node.id, node))
    out.set_outputs(list(graph.outputs))
    out.meta["passes"] = [
        *graph.meta.get("passes", []),
        f"fold_pad_into_conv: {len(folds)} pad(s) folded",
    ]
    return out


BUILTIN_PASSES: tuple[CanonicalPass, ...] = (
    CanonicalPass(
        "fold_pad_into_conv",
        fold_pad_into_conv,
        "a zero spatial pad read only by a conv becomes its padding",
    ),
)


def canonicalize(
    graph: Graph,
    passes: Iterable[CanonicalPass] = BUILTIN_PASSES,
    origins: dict[str, str] | None = None,
) -> Graph:
    """Run ``passes`` in order. ``origins`` (pass name -> plugin) marks plugin passes: their
    result is checked (a Graph that validates), and a failure names the pass and its plugin."""
    for p in passes:
        plugin = (origins or {}).get(p.name)
        if plugin is None:  # a built-in pass
            graph = p.run(graph)
            continue
        where = f"canonical pass {p.name!r} (plugin {plugin})"
        try:
            out = p.run(graph)
        except Exception as e:
            first = (str(e).strip().splitlines() or [""])[0]
            raise AnalysisError(f"{where} failed: {type(e).__name__}: {first}") from e
        if not isinstance(out, Graph):
            raise AnalysisError(f"{where} returned {type(out).__name__}, not a Graph")
        try:
            out.validate()
        except GraphError as e:
            raise AnalysisError(f"{where} left an invalid graph: {e}") from None
        graph = out
    return graph
