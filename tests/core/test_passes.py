"""Canonical passes: pad folding makes Keras-style padding agree with padded convolutions;
plugin passes run after the built-ins, in order, and are listed in the report."""

from __future__ import annotations

import types
from dataclasses import replace

import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.core.passes import CanonicalPass


def _padded_conv(
    channels_last: bool, explicit_pad: bool, pad_value: float = 0.0, extra_reader: bool = False
):
    b = GraphBuilder()
    shape = (1, 8, 8, 3) if channels_last else (1, 3, 8, 8)
    x = b.input("x", shape)
    if explicit_pad:
        pads = (
            ((0, 0), (2, 2), (2, 2), (0, 0)) if channels_last else ((0, 0), (0, 0), (2, 2), (2, 2))
        )
        padded = (1, 12, 12, 3) if channels_last else (1, 3, 12, 12)
        x2 = b.op(
            "pad",
            [x],
            padded,
            {"pads": pads, "mode": "constant", "value": pad_value},
            name="zero_padding2d",
        )
        y = b.conv(x2, 4, 5, stride=2, channels_last=channels_last, name="conv")
        if extra_reader:
            b.relu(x2, name="other")
    else:
        y = b.conv(x, 4, 5, stride=2, padding=2, channels_last=channels_last, name="conv")
    return b.build(y)


def test_pad_then_valid_conv_counts_like_a_padded_conv():
    ref = analyzer.analyze(_padded_conv(False, False))
    for channels_last in (False, True):
        r = analyzer.analyze(_padded_conv(channels_last, True))
        assert r.model["passes"] == ["fold_pad_into_conv: 1 pad(s) folded"]
        for q in (
            "params",
            "macs",
            "flops",
            "total_activations",
            "peak_activations",
            "peak_live_activations",
        ):
            assert r.totals[q] == ref.totals[q], q
        assert [row.name for row in r.layers] == ["conv"]
        assert r.layer("conv").receptive_field == [5, 5]
    assert ref.model["passes"] == []


def test_pads_that_must_stay():
    nonzero = analyzer.analyze(_padded_conv(False, True, pad_value=1.0))
    shared = analyzer.analyze(_padded_conv(False, True, extra_reader=True))
    for r in (nonzero, shared):
        assert r.model["passes"] == []
        assert "zero_padding2d" in [row.name for row in r.layers]


def test_the_callers_graph_is_not_modified():
    g = _padded_conv(False, True)
    analyzer.analyze(g)
    assert "zero_padding2d" in g


# --- plugin passes (hook analyzer_register_passes) ------------------------------------------------
def drop_identities(graph: Graph) -> Graph:
    """Remove identity nodes whose output is not a graph output (the docs/plugins.md example)."""
    gone = {
        n.outputs[0]: n.inputs[0]
        for n in graph.nodes()
        if n.op == "identity" and n.outputs[0] not in graph.outputs
    }
    if not gone:
        return graph
    out = Graph(graph.name, graph.framework, graph.meta)
    for t in graph.tensors.values():
        if t.name not in gone:
            out.add_tensor(t)
    for p in graph.params.values():
        out.add_param(p)
    out.inputs = list(graph.inputs)
    for n in graph.nodes():
        if n.op != "identity" or n.outputs[0] in graph.outputs:
            out.add_node(replace(n, inputs=tuple(gone.get(t, t) for t in n.inputs)))
    out.set_outputs(list(graph.outputs))
    out.meta["passes"] = [*graph.meta.get("passes", []), f"drop_identities: {len(gone)} removed"]
    return out


def _plugin(*passes: CanonicalPass) -> types.SimpleNamespace:
    def analyzer_register_passes(register):
        for p in passes:
            register(p)

    return types.SimpleNamespace(analyzer_register_passes=hookimpl(analyzer_register_passes))


def _with_identity() -> Graph:
    b = GraphBuilder()
    x = b.input("x", (1, 8))
    y = b.identity(b.linear(x, 4, name="fc"), name="dropout")
    return b.build(b.relu(y, name="act"))


def test_a_plugin_pass_runs_after_the_builtin_ones_and_is_listed() -> None:
    seen: list[str] = []

    def spy(name):
        def run(graph: Graph) -> Graph:
            seen.append(name)
            return graph

        return CanonicalPass(name, run, "records that it ran")

    ps = analyzer.load_plugins(
        extra=[
            _plugin(spy("first"), CanonicalPass("drop_identities", drop_identities), spy("last"))
        ]
    )
    assert list(ps.passes) == ["fold_pad_into_conv", "first", "drop_identities", "last"]
    g = _with_identity()
    r = analyzer.analyze(g, plugins=ps)
    assert seen == ["first", "last"]
    assert r.model["passes_run"] == ["fold_pad_into_conv", "first", "drop_identities", "last"]
    assert r.model["passes"] == ["drop_identities: 1 removed"]
    assert [row.name for row in r.layers] == ["fc", "act"]
    assert "dropout" in g  # the caller's graph is not modified
    plain = analyzer.analyze(_with_identity())
    assert plain.model["passes_run"] == ["fold_pad_into_conv"]
    assert [row.name for row in plain.layers] == ["fc", "dropout", "act"]
    assert plain.totals["macs"] == r.totals["macs"] == 8 * 4


def test_plugin_pass_errors_name_the_pass_and_plugin() -> None:
    def boom(graph: Graph) -> Graph:
        raise RuntimeError("no\nsecond line")

    for run, message in (
        (boom, "failed: RuntimeError: no$"),
        (lambda g: None, "returned NoneType, not a Graph"),
    ):
        ps = analyzer.load_plugins(extra=[_plugin(CanonicalPass("bad", run))])
        with pytest.raises(AnalysisError, match=r"canonical pass 'bad' \(plugin .+\) " + message):
            analyzer.analyze(_with_identity(), plugins=ps)


def test_a_pass_leaving_an_invalid_graph_is_refused() -> None:
    def broken(graph: Graph) -> Graph:
        out = Graph(graph.name)
        out.set_outputs(["nowhere"])
        return out

    ps = analyzer.load_plugins(extra=[_plugin(CanonicalPass("broken", broken))])
    with pytest.raises(
        AnalysisError,
        match="canonical pass 'broken' .* left an invalid graph: graph output 'nowhere'",
    ):
        analyzer.analyze(_with_identity(), plugins=ps)


def test_duplicate_pass_names_are_refused() -> None:
    with pytest.raises(
        UsageError, match="'fold_pad_into_conv' is registered by built-in and by plugin"
    ):
        analyzer.load_plugins(extra=[_plugin(CanonicalPass("fold_pad_into_conv", lambda g: g))])
    with pytest.raises(UsageError, match="not a CanonicalPass"):
        analyzer.load_plugins(extra=[_plugin(lambda g: g)])  # type: ignore[arg-type]
