"""The compute metric evaluates signature formulas once per distinct signature: the counts must
be those of evaluating every formula on every node (docs/metrics.md's rule, written out here with
``FormulaTables.count``), and formulas that do not declare themselves signature-only run per node."""

from __future__ import annotations

from typing import Any

import pytest

import analyzer
from analyzer import GraphBuilder, zoo
from analyzer.core import dtypes
from analyzer.core.formulas import OpView, signature_formula
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ops import Category, OpDef
from analyzer.core.options import AnalysisOptions
from analyzer.core.plugins import PluginSet, default_plugins

FIELDS = ("macs", "flops", "mac_flops", "other_flops", "int_ops", "mac_int_ops", "ops")


def node_by_node(graph: Graph, rows: list[Any], options: AnalysisOptions, ps: PluginSet) -> dict[str, dict]:
    """Each layer's counts from every formula evaluated on every node (no memo, no sharing)."""
    out = {}
    for row in rows:
        sums = dict.fromkeys(FIELDS, 0)
        dtype = ""
        for nid in row.nodes:
            node = graph.node(nid)
            opdef = ps.vocabulary.get(node.op)
            if opdef is None:
                continue
            if opdef.category is Category.CONTRACTION and node.inputs:
                node_dtype = graph.spec(node.inputs[0]).dtype
            else:
                node_dtype = graph.tensors[node.outputs[0]].dtype if node.outputs else "float32"
            if not dtype and node.op == row.op:
                dtype = node_dtype
            if not ps.formulas.supports(opdef):
                continue
            view, r = OpView(node, graph, options), node.repeat
            macs = ps.formulas.count("macs", opdef, view) * r
            mac = 2 * macs
            if macs:
                mac += ps.formulas.count("bias", opdef, view) * r
                if options.exact_flops:
                    mac -= ps.formulas.count("dots", opdef, view) * r
            other = ps.formulas.count("flops", opdef, view) * r
            part = "flops" if dtypes.is_float(node_dtype) else "int_ops"
            sums["macs"] += macs
            sums[part] += mac + other
            sums["mac_flops" if part == "flops" else "mac_int_ops"] += mac
            sums["other_flops"] += other if part == "flops" else 0
            sums["ops"] += mac + other
        out[row.name] = {**sums, "dtype": dtype}
    return out


def mixed_dtypes() -> Graph:
    """The same conv, linear and relu signatures (op, attrs, shapes) at three dtypes, two layer
    norms apart only in a parameter's role, and a conv whose attrs hold a list (unhashable:
    counted without a signature)."""
    b = GraphBuilder("mixed")
    outs = []
    for dtype in ("float32", "int8", "float16", "float32"):
        x = b.input(f"x_{len(outs)}", (2, 3, 8, 8), dtype=dtype)
        with b.scope(f"branch{len(outs)}"):
            y = b.conv(x, 4, 3, padding=1, name="conv")
            y = b.relu(y, name="relu")
            y = b.reshape(y, (2, 256), name="flat")
            outs.append(b.linear(y, 10, name="fc"))
    x = b.input("x_list", (2, 3, 8, 8))
    w = b.param("listconv.weight", (4, 3, 3, 3))
    attrs = {"kernel_size": [3, 3], "stride": (1, 1), "padding": ((1, 1), (1, 1)), "dilation": (1, 1),
             "groups": 1, "in_channels": 3, "out_channels": 4, "channel_axis": 1}  # fmt: skip
    outs.append(b.op("conv", [x, w], (2, 4, 8, 8), attrs, name="listconv"))
    outs.append(b.op("conv", [x, w], (2, 4, 8, 8), dict(attrs), name="listconv2"))
    for name, role in (("norm_affine", "shift"), ("norm_scaled", "weight")):  # 5 + 2 and 5 + 1 per element
        ps = [b.param(f"{name}.scale", (256,), role="scale"), b.param(f"{name}.{role}", (256,), role=role)]
        outs.append(b.op("layer_norm", [y, *ps], (2, 256), {"axes": (-1,)}, name=name))
    return b.build(*outs)


GRAPHS = {
    "alexnet": zoo.alexnet,
    "mobilenet_v2": lambda: zoo.mobilenet_v2(resolution=64),
    "transformer": lambda: zoo.transformer_encoder(seq=16, d_model=32, heads=2, ffn=64),
    "tiny_cnn_int8": lambda: zoo.tiny_cnn(dtype="int8"),
    "mixed": mixed_dtypes,
}
OPTIONS = {"default": {}, "exact": {"exact_flops": True}, "no_bias": {"bias": False}}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=list(OPTIONS))
@pytest.mark.parametrize("build", GRAPHS.values(), ids=list(GRAPHS))
def test_counts_equal_every_formula_on_every_node(build, options: dict) -> None:
    ps = default_plugins()
    report = analyzer.analyze(build(), plugins=ps, **options)
    expected = node_by_node(report.graph, report.layers, AnalysisOptions(**options), ps)
    for row in report.layers:
        got = {k: row.values[k] for k in (*FIELDS, "dtype")}
        assert got == expected[row.name], row.name
    for k in FIELDS:
        assert report.totals[k] == sum(e[k] for e in expected.values()), k


def test_equal_signatures_at_other_dtypes_count_apart() -> None:
    r = analyzer.analyze(mixed_dtypes())
    f32, i8 = r.layer("branch0.conv"), r.layer("branch1.conv")
    assert f32["macs"] == i8["macs"] == 2 * 4 * 8 * 8 * 3 * 9
    assert f32["flops"] == f32["ops"] and f32["int_ops"] == 0
    assert i8["int_ops"] == i8["ops"] == f32["flops"] and i8["flops"] == 0
    assert r.layer("branch1.conv")["dtype"] == "int8" and r.layer("branch2.fc")["dtype"] == "float16"
    assert r.layer("listconv")["macs"] == r.layer("listconv2")["macs"] == f32["macs"]
    assert r.layer("norm_affine")["flops"] == 7 * 512 and r.layer("norm_scaled")["flops"] == 6 * 512


class _ScopedOp:
    """A plugin op whose FLOP formula reads the node's scope: not a function of its signature."""

    def __init__(self, marked: bool):
        self.marked = marked
        self.calls = 0

    @hookimpl
    def analyzer_register_ops(self, register):
        register(OpDef("scoped", Category.ELEMENTWISE, "costs the length of its scope per element"))

    @hookimpl
    def analyzer_register_formulas(self, register):
        def flops(v: OpView) -> int:
            self.calls += 1
            return len(v.node.scope) * v.out_numel(0)

        register("flops", "scoped", signature_formula(flops) if self.marked else flops)


def scoped_graph() -> Graph:
    b = GraphBuilder("s")
    x = b.input("x", (1, 4))
    for name in ("a", "bb", "ccc", "bb2"):
        x = b.op("scoped", [x], (1, 4), name=name)
    return b.build()


def test_a_formula_not_marked_as_a_signature_formula_runs_on_every_node() -> None:
    plugin = _ScopedOp(marked=False)
    r = analyzer.analyze(scoped_graph(), plugins=analyzer.load_plugins(entry_points=False, extra=[plugin]))
    assert [r.layer(n)["flops"] for n in ("a", "bb", "ccc", "bb2")] == [4, 8, 12, 12]
    assert plugin.calls == 4


def test_a_signature_formula_runs_once_per_signature() -> None:
    plugin = _ScopedOp(marked=True)  # (wrongly marked: it shows the memo at work)
    r = analyzer.analyze(scoped_graph(), plugins=analyzer.load_plugins(entry_points=False, extra=[plugin]))
    assert plugin.calls == 1
    assert [r.layer(n)["flops"] for n in ("a", "bb", "ccc", "bb2")] == [4, 4, 4, 4]


def test_equal_node_counts_share_one_dict_and_layers_are_columns() -> None:
    from analyzer.core.layers import group_layers
    from analyzer.core.metric import MetricContext
    from analyzer.plugins.metrics.compute import ComputeMetric

    ps = default_plugins()
    g = zoo.resnet50(resolution=64)
    g.validate()
    layers = group_layers(g, ps.vocabulary)
    ctx = MetricContext(g, layers, AnalysisOptions().resolve(ps.metrics.values()), ps.formulas, ps.vocabulary)
    res = ComputeMetric().compute(ctx)
    assert len({id(v) for v in res.nodes.values()}) < len(res.nodes) / 2
    assert list(res.layers) == [layer.name for layer in layers]
    first = layers[0].name
    assert dict(res.layers[first]) == {**res.nodes[layers[0].nodes[0]], "dtype": "float32"}


def test_counts_beyond_64_bits_stay_exact() -> None:
    b = GraphBuilder("huge")
    y = b.linear(b.input("x", (1, 4096)), 4096, bias=False, name="fc")  # 2^24 MACs a run
    b.graph.node(y).attrs["repeat"] = 2**41  # 2^65 MACs in all
    r = analyzer.analyze(b.build())
    assert r.layer("fc")["macs"] == r.totals["macs"] == 2**65
    assert r.layer("fc")["flops"] == 2**66


def test_node_counts_cover_every_supported_node() -> None:
    from analyzer.core.layers import group_layers
    from analyzer.core.metric import MetricContext
    from analyzer.plugins.metrics.compute import ComputeMetric

    ps = default_plugins()
    b = GraphBuilder("n")
    x = b.input("x", (1, 3, 8, 8))
    y = b.conv(x, 4, 3, padding=1, name="conv")
    y = b.relu(y, name="relu")
    y = b.op("frobnicate", [y], (1, 4, 8, 8), name="odd")  # outside the vocabulary: unsupported
    b.reshape(y, (1, 256), name="flat")
    g = b.build()
    opts = AnalysisOptions().resolve(ps.metrics.values())
    ctx = MetricContext(g, group_layers(g, ps.vocabulary), opts, ps.formulas, ps.vocabulary)
    nodes = ComputeMetric().compute(ctx).nodes
    assert list(nodes) == ["conv", "relu", "flat"] and len(nodes) == 3
    assert nodes["conv"]["macs"] == 4 * 64 * 27 and nodes["conv"]["mac_flops"] == 2 * 4 * 64 * 27 + 4 * 64
    assert nodes["relu"] == {**dict.fromkeys(FIELDS, 0), "flops": 256, "other_flops": 256, "ops": 256}
    assert nodes.get("flat") == dict.fromkeys(FIELDS, 0) and "flat" in nodes
    assert "odd" not in nodes and nodes.get("odd") is None and nodes.get("nowhere", 1) == 1
    with pytest.raises(KeyError):
        nodes["odd"]


def test_the_result_holds_no_reference_cycle_through_the_context() -> None:
    # MetricResult.nodes counts nodes on demand: it must not keep ctx (and every result) in a cycle
    import gc

    from analyzer.core.layers import group_layers
    from analyzer.core.metric import MetricContext
    from analyzer.plugins.metrics.compute import ComputeMetric

    ps = default_plugins()
    g = zoo.tiny_cnn()
    opts = AnalysisOptions().resolve(ps.metrics.values())
    gc.collect()
    gc.disable()
    try:
        ctx = MetricContext(g, group_layers(g, ps.vocabulary), opts, ps.formulas, ps.vocabulary)
        ctx.results["compute"] = ComputeMetric().compute(ctx)
        del ctx
        assert gc.collect() == 0
    finally:
        gc.enable()
