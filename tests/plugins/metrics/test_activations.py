"""Activations (docs/metrics.md): total, lecture peak, live peak; views and in-place
activations create no storage; activation_bits."""

from __future__ import annotations

import analyzer
from analyzer import GraphBuilder
from analyzer.core.graph import Graph


def residual() -> Graph:
    """x (1,2,4,4)=32 -> conv1 (4 ch)=64 -> relu1 -> conv2 (2 ch)=32 -> add(x, .)=32 -> relu2."""
    b = GraphBuilder("res")
    x = b.input("x", (1, 2, 4, 4))
    y = b.conv(x, 4, 3, padding=1, name="conv1")
    y = b.relu(y, name="relu1")
    y = b.conv(y, 2, 3, padding=1, name="conv2")
    y = b.add(x, y, name="add")
    y = b.relu(y, name="relu2")
    return b.build(y)


def test_residual_block_totals() -> None:
    r = analyzer.analyze(residual())
    t = r.totals
    # storages: x 32, conv1 64 (relu1 in place), conv2 32, add 32 (relu2 in place) = 160
    assert t["total_activations"] == 160
    assert t["total_activation_bytes"] == 640  # float32
    # lecture peak: conv1 reads x 32 + writes 64 = 96 (conv2 64+32 and add 32+32+32 tie)
    assert t["peak_activations"] == 96
    assert t["peak_activation_bytes"] == 384
    # live peak while conv2 runs: x (kept for the add) 32 + conv1 64 + conv2 32 = 128 > 96
    assert t["peak_live_activations"] == 128
    assert t["peak_live_activation_bytes"] == 512
    assert r.details["activations"]["peak_live_layer"] == "conv2"
    assert r.details["activations"]["peak_layer"] == "conv1"


def test_residual_block_per_layer() -> None:
    r = analyzer.analyze(residual())
    names = ["conv1", "relu1", "conv2", "add", "relu2"]
    # new storage: relus are in place
    assert [r.layer(n)["activations"] for n in names] == [64, 0, 32, 32, 0]
    # io: conv1 {x, c1} 96; relu1 {c1} 64; conv2 {c1, c2} 96; add {x, c2, a} 96; relu2 {a} 32
    assert [r.layer(n)["io_activations"] for n in names] == [96, 64, 96, 96, 32]
    # live: x lives to add, c1 to conv2, c2 from conv2 to add, a from add to the end
    # conv1 32+64, relu1 32+64, conv2 32+64+32, add 32+32+32, relu2 32
    assert [r.layer(n)["live_activations"] for n in names] == [96, 96, 128, 96, 32]


def test_activation_bits() -> None:
    r = analyzer.analyze(residual(), activation_bits=8)
    assert r.totals["total_activations"] == 160  # elements do not change
    assert r.totals["total_activation_bytes"] == 160
    assert r.totals["peak_activation_bytes"] == 96
    assert r.totals["peak_live_activation_bytes"] == 128
    # 4 bits: per storage ceil(n * 4 / 8): 16 + 32 + 16 + 16 = 80
    assert analyzer.analyze(residual(), activation_bits=4).totals["total_activation_bytes"] == 80


def test_dtype_bytes() -> None:
    b = GraphBuilder("h", dtype="float16")
    x = b.input("x", (1, 10))
    b.linear(x, 6, name="fc")
    r = analyzer.analyze(b.build())
    assert r.totals["total_activations"] == 16  # 10 + 6
    assert r.totals["total_activation_bytes"] == 32  # 2 bytes each


def test_views_create_no_storage() -> None:
    b = GraphBuilder("v")
    x = b.input("x", (1, 2, 3, 3))  # 18
    y = b.conv(x, 4, 1, name="conv")  # (1,4,3,3) = 36
    y = b.flatten(y, name="flatten")  # view
    y = b.identity(y, name="dropout")  # view
    b.linear(y, 5, name="fc")  # 5
    r = analyzer.analyze(b.build())
    assert r.totals["total_activations"] == 18 + 36 + 5
    assert r.layer("flatten")["activations"] == 0
    assert r.layer("dropout")["activations"] == 0
    assert r.layer("flatten")["io_activations"] == 36  # reads and "writes" the conv storage
    assert r.layer("fc")["io_activations"] == 36 + 5


def test_relu_with_two_readers_allocates() -> None:
    b = GraphBuilder("two")
    x = b.input("x", (1, 2, 3, 3))  # 18
    c = b.conv(x, 2, 1, name="conv")  # 18, read by relu and add
    r_ = b.relu(c, name="relu")  # not in place: conv's output has another reader
    b.add(c, r_, name="add")  # 18
    r = analyzer.analyze(b.build())
    assert r.layer("relu")["activations"] == 18
    assert r.totals["total_activations"] == 18 * 4


def test_relu_on_a_graph_output_allocates() -> None:
    b = GraphBuilder("out")
    x = b.input("x", (1, 2, 3, 3))  # 18
    c = b.conv(x, 2, 1, name="conv")  # 18, returned by the graph
    y = b.relu(c, name="relu")
    r = analyzer.analyze(b.build(c, y))
    assert r.layer("relu")["activations"] == 18
    assert r.totals["total_activations"] == 54
    # both outputs live to the end: at relu x is dead, c and y alive = 36
    assert r.layer("relu")["live_activations"] == 36


def test_relu_sole_reader_in_place() -> None:
    b = GraphBuilder("one")
    x = b.input("x", (1, 2, 3, 3))
    c = b.conv(x, 2, 1, name="conv")
    b.relu(c, name="relu")
    r = analyzer.analyze(b.build())
    assert r.layer("relu")["activations"] == 0
    assert r.totals["total_activations"] == 36


def test_fused_layer_internals_are_not_activations() -> None:
    # a JAX-style Dense: dot_general + add in one scope is one layer; its intermediate is fused
    b = GraphBuilder("dense")
    x = b.input("x", (2, 8))  # 16
    w = b.param("dense.kernel", (8, 4))
    bias = b.param("dense.bias", (4,), role="bias")
    with b.scope("dense"):
        y = b.op("dot_general", [x, w], (2, 4), {"lhs_contracting": (1,), "rhs_contracting": (0,),
                                                 "lhs_batch": (), "rhs_batch": ()}, scope="dense")  # fmt: skip
        y = b.op("add", [y, bias], (2, 4), scope="dense")
    r = analyzer.analyze(b.build(y))
    assert len(r.layers) == 1
    assert r.totals["total_activations"] == 16 + 8  # the dot_general result (8) is fused
    assert r.layer("dense")["io_activations"] == 24


def _context(graph: Graph, reorder=None):
    from analyzer import load_plugins
    from analyzer.core.layers import group_layers
    from analyzer.core.metric import MetricContext
    from analyzer.core.options import AnalysisOptions

    ps = load_plugins(entry_points=False)
    layers = group_layers(graph, ps.vocabulary)
    if reorder:
        layers = reorder(layers)
    return MetricContext(graph, layers, AnalysisOptions(), ps.formulas, ps.vocabulary)


def _reference_io(ctx) -> dict[str, list[int]]:
    """Per layer, by definition: sets of storages, sizes from the shapes (float32)."""
    from analyzer.core.aliasing import storage_roots

    g, layers = ctx.graph, ctx.layers
    roots = storage_roots(g, ctx.vocabulary)
    size = {t: g.tensors[t].numel for t in roots}
    storages = {roots[t] for t in g.inputs} | {roots[t] for layer in layers for t in layer.outputs}
    creator = {}
    for i, layer in enumerate(layers):
        for nid in layer.nodes:
            for t in g.node(nid).outputs:
                creator[t] = i
    out: dict[str, list[int]] = {"created": [], "io_elements": [], "read_bytes": [], "write_bytes": []}
    for i, layer in enumerate(layers):
        ins = {roots[t] for t in layer.inputs}
        outs = {roots[t] for t in layer.outputs}
        out["created"].append(sum(size[s] for s in storages if creator.get(s, -1) == i))
        out["io_elements"].append(sum(size[s] for s in ins | outs))
        out["read_bytes"].append(4 * sum(size[s] for s in ins))
        out["write_bytes"].append(4 * sum(size[s] for s in outs))
    return out


def _branches() -> Graph:
    """Views, a split into two outputs, a binary op reading one storage twice, in-place ReLUs."""
    b = GraphBuilder("branches")
    x = b.input("x", (1, 4, 2, 2))  # 16
    c = b.conv(x, 4, 1, name="conv")  # 16
    v = b.reshape(c, (1, 16), name="flat")  # view
    r = b.relu(v, name="relu")  # in place on conv's storage
    p, q = b.op("split", [r], [(1, 8), (1, 8)], name="split")  # views
    s = b.add(p, q, name="add")  # reads one storage through two names: 8
    t = b.mul(s, s, name="square")  # 8
    y = b.linear(t, 3, name="fc")  # 3
    return b.build(y, c)


def test_layer_io_matches_the_definition() -> None:
    from analyzer.plugins.metrics.activations import layer_io

    for graph in (residual(), _branches()):
        ctx = _context(graph)
        io = layer_io(ctx)
        ref = _reference_io(ctx)
        for key, values in ref.items():
            assert list(getattr(io, key)) == values, (graph.name, key)


def test_layer_io_when_a_layer_reads_a_later_layers_output() -> None:
    # grouping never orders layers so, but the accessor must not depend on it: the same values
    # as by definition, and the storage's last reader is the later of the two
    from analyzer.plugins.metrics.activations import activation_storages, layer_io

    graph = residual()
    ctx = _context(graph, reorder=lambda layers: [layers[2], *layers[:2], *layers[3:]])  # conv2 first
    io = layer_io(ctx)
    ref = _reference_io(ctx)
    for key, values in ref.items():
        assert list(getattr(io, key)) == values, key
    storages, _ = activation_storages(ctx)
    conv1 = storages[graph.node("conv1").outputs[0]]
    assert (conv1.first, conv1.last) == (1, 2)  # created by conv1 (now second), read by relu1


def test_sizes_beyond_64_bits_stay_exact() -> None:
    # 2**62-bit elements: each 8-element storage is 2**62 bytes, a layer's in + out 2**63
    b = GraphBuilder("big")
    x = b.input("x", (1, 8))
    b.linear(x, 8, name="fc")
    t = analyzer.analyze(b.build(), activation_bits=2**62).totals
    assert t["total_activation_bytes"] == t["peak_activation_bytes"] == 2**63
    assert t["peak_live_activation_bytes"] == 2**63
