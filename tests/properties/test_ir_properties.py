"""Properties of the metrics over random valid IR graphs (GraphBuilder, no framework).

Reference values are computed here from the graph and docs/metrics.md's
conventions, not by the metric plugins: MACs and dot products per
contraction, the aliasing rule (views and sole-reader activations share
their input's storage) and the lecture peak per layer.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import analyzer
from analyzer.core import dtypes
from analyzer.core.graph import Graph
from analyzer.core.ops import Category, builtin_vocabulary
from analyzer.core.options import AnalysisOptions
from analyzer.core.report import Report
from analyzer.core.serialize import graph_from_dict, graph_to_dict
from tests.properties.strategies import CI, Recipe, ir_graphs, ir_recipes

CATEGORY = builtin_vocabulary().categories
REPORT_SCHEMA = json.loads(
    resources.files("analyzer").joinpath("schemas/report.schema.json").read_text()
)
graphs = ir_graphs()


def numel(shape) -> int:
    return math.prod(shape)


# --- independent counts ------------------------------------------------------
def covered(
    size_in: int, size_out: int, kernel: int, stride: int, dilation: int, pad_lo: int
) -> int:
    """Output positions of a transposed convolution that at least one tap lands on."""
    return len({i * stride + k * dilation - pad_lo for i in range(size_in) for k in range(kernel)}
               & set(range(size_out)))  # fmt: skip


def contraction_counts(g: Graph) -> tuple[int, int, int]:
    """(MACs, dot products, bias additions) by the formulas of docs/metrics.md; a dot
    product is one output element's sum of products (a transposed convolution's
    output positions that no tap reaches have none)."""
    macs = dots = bias = 0
    for n in g.nodes():
        out_shape = g.shape(n.outputs[0])
        out = numel(out_shape)
        node_dots = out
        if n.op == "conv" and n.attrs["transposed"]:
            a, x = n.attrs, g.shape(n.inputs[0])
            node_macs = numel(x) * a["out_channels"] // a["groups"] * numel(a["kernel_size"])
            maps = slice(1, -1) if a["channel_axis"] == len(x) - 1 else slice(2, None)
            node_dots = out_shape[0] * a["out_channels"] * math.prod(
                covered(i, o, k, s, d, p[0])
                for i, o, k, s, d, p in zip(x[maps], out_shape[maps], a["kernel_size"], a["stride"],
                                            a["dilation"], a["padding"], strict=True)
            )  # fmt: skip
        elif n.op == "conv":
            a = n.attrs
            node_macs = out * a["in_channels"] // a["groups"] * numel(a["kernel_size"])
        elif n.op in ("linear", "matmul", "einsum"):  # einsums here: "bld,bdm->blm"
            node_macs = out * g.shape(n.inputs[0])[-1]
        elif n.op == "attention":
            q, k, v = (g.shape(t) for t in n.inputs[:3])
            bh = numel(q[:-2])
            node_macs = bh * q[-2] * k[-2] * (q[-1] + v[-1])
            node_dots = bh * q[-2] * (k[-2] + v[-1])  # QK^T scores, then AV outputs
        else:
            continue
        repeat = n.attrs.get("repeat", 1)
        macs += repeat * node_macs
        dots += repeat * node_dots
        if any(g.params[p].role == "bias" for p in n.inputs if p in g.params):
            bias += repeat * out
    return macs, dots, bias


def unused_params(g: Graph) -> list:
    read = {t for n in g.nodes() for t in n.inputs}
    return [p for p in g.params.values() if p.name not in read]


def storage_roots(g: Graph) -> dict[str, str]:
    """Aliasing per docs/metrics.md: views alias their input; an activation function runs
    in place when it is its input's only reader, and no name of that storage is read
    after it or is a graph output."""
    order = {n.id: i for i, n in enumerate(g.nodes())}
    root = {t: t for t in g.inputs}
    for n in g.nodes():
        acts = [t for t in n.inputs if g.is_activation(t)]
        cat = CATEGORY.get(n.op)
        in_place = False
        if cat is Category.ACTIVATION and [c.id for c in g.consumers(acts[0])] == [n.id]:
            names = [t for t, r in root.items() if r == root[acts[0]]]
            in_place = not any(t in g.outputs for t in names) and all(
                order[c.id] <= order[n.id] for t in names for c in g.consumers(t)
            )
        for t in n.outputs:
            root[t] = root[acts[0]] if acts and (cat is Category.VIEW or in_place) else t
    return root


def layer_io(g: Graph, report: Report) -> list[set[str]]:
    """Per layer, the storages it reads from outside or writes for outside."""
    root = storage_roots(g)
    result = []
    for row in report.layers:
        members = set(row.nodes)
        produced = {t for nid in row.nodes for t in g.node(nid).outputs}
        io = set()
        for nid in row.nodes:
            node = g.node(nid)
            io |= {root[t] for t in node.inputs if g.is_activation(t) and t not in produced}
            for t in node.outputs:
                readers = {c.id for c in g.consumers(t)}
                if t in g.outputs or readers - members:
                    io.add(root[t])
        result.append(io)
    return result


def analyze(g: Graph, **options) -> Report:
    return analyzer.analyze_graph(g, AnalysisOptions(**options))


# --- properties ---------------------------------------------------------------
@CI
@given(graphs)
def test_totals_are_the_sum_of_layers(recipe: Recipe) -> None:
    g = recipe.build()
    r = analyze(g)
    summed = [q for q, info in r.quantities.items() if info["aggregate"] == "sum" and q in r.totals
              and all(q in row.values for row in r.layers)]  # fmt: skip
    assert {"params", "non_trainable_params", "macs", "flops", "memory_bytes"} <= set(summed)
    for q in set(summed) - {"params", "non_trainable_params"}:
        assert r.totals[q] == sum(row[q] for row in r.layers), q
    for q in ("io_activations", "live_activations"):  # totals that are maxima
        assert r.quantities[q]["aggregate"] == "max"
    assert r.totals["peak_activations"] == max(row["io_activations"] for row in r.layers)
    assert r.totals["peak_live_activations"] == max(row["live_activations"] for row in r.layers)
    inputs = sum(numel(g.shape(t)) for t in g.inputs)
    assert r.totals["total_activations"] == inputs + sum(row["activations"] for row in r.layers)
    # parameters no op reads count in the totals and in no layer
    unused = unused_params(g)
    assert r.totals["unused_params"] == sum(p.numel for p in unused)
    for q, trainable in (("params", True), ("non_trainable_params", False)):
        extra = sum(p.numel for p in unused if p.trainable == trainable)
        assert r.totals[q] == sum(row[q] for row in r.layers) + extra, q
    # every parameter has the graph's dtype: bits/8 bytes each (whole bytes here)
    width = dtypes.bits(g.spec(g.inputs[0]).dtype) // 8
    assert r.totals["total_params"] == sum(p.numel for p in g.params.values())
    assert r.totals["model_size_bytes"] == width * r.totals["total_params"]
    unused_bytes = width * sum(p.numel for p in unused)
    assert (
        r.totals["model_size_bytes"] == sum(row["weight_bytes"] for row in r.layers) + unused_bytes
    )
    assert r.totals["total_activation_bytes"] == width * r.totals["total_activations"]
    # module roll-ups: top-level modules add up to the totals too
    top = r.modules(1)
    assert (
        sum(m.values["params"] for m in top) + sum(p.numel for p in unused if p.trainable)
        == r.totals["params"]
    )
    for q in ("macs", "flops", "memory_bytes"):
        assert sum(m.values[q] for m in top) == r.totals[q], q


@CI
@given(graphs)
def test_report_follows_its_schema_and_identities(recipe: Recipe) -> None:
    r = analyze(recipe.build())
    jsonschema.validate(json.loads(r.to_json()), REPORT_SCHEMA)
    t = r.totals
    parts = (
        "model_size_bytes",
        "gradient_bytes",
        "optimizer_state_bytes",
        "saved_activation_bytes",
    )
    assert t["training_memory_bytes"] == sum(t[q] for q in parts)
    assert t["memory_bytes"] == t["read_bytes"] + t["weight_read_bytes"] + t["write_bytes"]
    assert t["arithmetic_intensity"] == pytest.approx(
        t["ops"] / t["memory_bytes"] if t["memory_bytes"] else 0
    )
    assert t["total_params"] == t["params"] + t["non_trainable_params"]


@CI
@given(graphs, st.integers(2, 5))
def test_macs_scale_linearly_with_batch(recipe: Recipe, batch: int) -> None:
    one, many = analyze(recipe.build(1)).totals, analyze(recipe.build(batch)).totals
    assert many["macs"] == batch * one["macs"]
    for q in ("flops", "mac_flops", "other_flops", "total_activations", "peak_activations",
              "peak_live_activations"):  # fmt: skip
        assert many[q] == batch * one[q], q
    for q in ("params", "non_trainable_params", "model_size_bytes"):
        assert many[q] == one[q], q


@CI
@given(graphs)
def test_macs_match_the_analytic_count(recipe: Recipe) -> None:
    g = recipe.build()
    macs, _, _ = contraction_counts(g)
    assert analyze(g).totals["macs"] == macs


@CI
@given(graphs)
def test_activation_peaks(recipe: Recipe) -> None:
    g = recipe.build()
    r = analyze(g)
    sizes = {t: numel(g.shape(t)) for t in g.tensors}
    io = layer_io(g, r)
    lecture = max(sum(sizes[s] for s in storages) for storages in io)
    assert r.totals["peak_activations"] == lecture
    for row, storages in zip(r.layers, io, strict=True):
        assert row["io_activations"] == sum(sizes[s] for s in storages), row.name
    largest = max(sizes[s] for storages in io for s in storages)
    assert r.totals["peak_live_activations"] >= largest
    assert r.totals["peak_live_activations"] >= r.totals["peak_activations"]
    assert r.totals["total_activations"] >= r.totals["peak_live_activations"]


@CI
@given(graphs)
def test_flops_conventions(recipe: Recipe) -> None:
    """Integer graphs report the same counts as OPs (``int_ops``): compared as ``ops``."""
    g = recipe.build()
    macs, dots, bias = contraction_counts(g)
    default, exact = analyze(g).totals, analyze(g, exact_flops=True).totals

    def mac_ops(t) -> int:
        return t["mac_flops"] + t["mac_int_ops"]

    assert default["macs"] == exact["macs"] == macs
    assert default["ops"] >= 2 * default["macs"]
    assert mac_ops(default) == 2 * macs + bias
    assert mac_ops(exact) == 2 * macs - dots + bias  # docs/metrics.md, exact_flops
    assert mac_ops(exact) >= macs  # a dot product of n >= 1 products costs 2n - 1 >= n
    assert exact["ops"] - mac_ops(exact) == default["ops"] - mac_ops(default)  # other ops
    for t in (default, exact):
        assert t["ops"] == t["flops"] + t["int_ops"]
        assert t["flops"] == t["mac_flops"] + t["other_flops"]
    assert mac_ops(analyze(g, bias=False).totals) == 2 * macs


@pytest.mark.parametrize("channels_last", [False, True])
def test_transposed_conv_gaps_cost_no_dot_products(channels_last: bool) -> None:
    """Found by test_flops_conventions: k=1, s=2 transposed conv of a 3x3 map gives 5x5,
    of which the 3x3 even positions get one product each, 16 get none. MACs 9;
    exact FLOPs 9 dot products of length 1 = 9 (were 2*9 - 25 = -7)."""
    b = analyzer.GraphBuilder()
    x = b.input("x", (1, 3, 3, 1) if channels_last else (1, 1, 3, 3))
    b.conv(x, 1, 1, stride=2, bias=False, transposed=True, channels_last=channels_last, name="up")
    g = b.build()
    exact = analyze(g, exact_flops=True).totals
    assert (exact["macs"], exact["mac_flops"]) == (9, 9)
    assert analyze(g).totals["mac_flops"] == 18


def test_activation_on_a_view_of_a_storage_read_later_allocates() -> None:
    """Found by the cross-framework property: ``x + relu(dropout(x))`` ran the ReLU in place
    on x's storage (it is the view's only reader) although the add reads x afterwards:
    builder/Keras (dropout a view) 18 activations, PyTorch/Flax (no dropout op) 27.
    Input 9 + ReLU 9 + add 9 = 27 in every form."""
    for with_dropout in (False, True):
        b = analyzer.GraphBuilder()
        x = b.input("x", (1, 9))
        y = b.identity(x, name="dropout") if with_dropout else x
        g = b.build(b.add(x, b.relu(y, name="relu"), name="add"))
        assert analyze(g).totals["total_activations"] == 27, with_dropout
    # and a view of a storage that is a graph output: the output must keep its values
    b = analyzer.GraphBuilder()
    y = b.linear(b.input("x", (1, 4)), 4, name="fc")
    a = b.relu(b.reshape(y, (4,), name="view"), name="relu")
    assert analyze(b.build(y, a)).totals["total_activations"] == 4 + 4 + 4


@CI
@given(ir_recipes())
def test_explicit_zero_pads_fold_into_their_convolutions(recipe: Recipe) -> None:
    """``pad`` + unpadded conv (Keras's ZeroPadding2D form) counts as the padded conv."""
    padded = recipe.with_explicit_pads()
    assert analyze(padded.build()).totals == analyze(recipe.build()).totals


def bias_params(g: Graph) -> list:
    return [p for p in g.params.values() if p.role == "bias"]


@CI
@given(graphs, st.sampled_from((2, 3, 4, 8, 16)), st.sampled_from((4, 8, 16)))
def test_bit_width_and_bias_options(recipe: Recipe, weight_bits: int, activation_bits: int) -> None:
    """docs/metrics.md: model size = ceil(params x bits / 8); ``layer_bits {"*": b}`` is
    ``weight_bits b``; activation bytes per storage; ``bias=False`` drops every bias."""
    g = recipe.build()
    base = analyze(g).totals
    t = analyze(g, weight_bits=weight_bits).totals
    assert t["model_size_bytes"] == -(-t["total_params"] * weight_bits // 8)
    everywhere = analyze(g, layer_bits={"*": weight_bits}).totals
    assert everywhere["model_size_bytes"] == t["model_size_bytes"]
    assert everywhere["weight_read_bytes"] == t["weight_read_bytes"]
    for q in ("params", "macs", "flops", "total_activations", "total_activation_bytes"):
        assert t[q] == base[q], q
    # layer_bits on one layer: each weight is stored, and read by every layer using it, at its
    # owner's (first user's) width; a loop body reads its weights ``repeat`` times
    base_report = analyze(g)
    chosen = base_report.layers[len(base_report.layers) // 2].name
    one = analyze(g, layer_bits={chosen: weight_bits})
    owner: dict[str, str] = {}
    for row in base_report.layers:
        for nid in row.nodes:
            for name in g.node(nid).inputs:
                if name in g.params:
                    owner.setdefault(name, row.name)

    def stored(name: str) -> int:
        p = g.params[name]
        bits = weight_bits if chosen in (owner[name], name) else dtypes.bits(p.dtype)
        return -(-p.numel * bits // 8)

    for row in one.layers:
        nodes = [g.node(nid) for nid in row.nodes]
        used = {name for n in nodes for name in n.inputs if name in g.params}
        reps = max(
            (n.attrs.get("repeat", 1) for n in nodes if CATEGORY.get(n.op) is not Category.VIEW),
            default=0,
        )
        assert row["weight_read_bytes"] == reps * sum(stored(n) for n in used), row.name
    # activation_bits: every storage ceil(elements x bits / 8) bytes
    report = analyze(g, activation_bits=activation_bits)
    a = report.totals
    roots = storage_roots(g)  # storages crossing layer boundaries, and the inputs
    storages = set().union(*layer_io(g, report)) | {roots[t] for t in g.inputs}
    assert a["total_activations"] == sum(numel(g.shape(s)) for s in storages)
    expected = sum(-(-numel(g.shape(s)) * activation_bits // 8) for s in storages)
    assert a["total_activation_bytes"] == expected
    # bias=False
    biases = bias_params(g)
    nb = analyze(g, bias=False).totals
    dropped = sum(p.numel for p in biases if p.trainable)
    assert nb["params"] == base["params"] - dropped
    assert nb["total_params"] == base["total_params"] - sum(p.numel for p in biases)
    assert nb["macs"] == base["macs"] and nb["other_flops"] == base["other_flops"]


def test_a_layer_of_views_does_not_set_the_max_receptive_field() -> None:
    """Found by the cross-framework property: ``Dropout`` then ``Flatten`` gave a maximum
    receptive field of 1 in PyTorch and Keras (an identity layer passing the input's
    field) and 0 in Flax (no op). Views compute nothing: 0 everywhere; a ReLU counts."""
    for layer, expected in ((analyzer.GraphBuilder.identity, 0), (analyzer.GraphBuilder.relu, 1)):
        b = analyzer.GraphBuilder()
        x = layer(b, b.input("x", (1, 1, 3, 3)), name="layer")
        g = b.build(b.flatten(x, name="flatten"))
        assert analyze(g).totals["max_receptive_field"] == expected, layer.__name__


@pytest.mark.parametrize(("bits_for", "stored"), [("a", 8), ("b", 64)])
def test_a_tied_weight_is_read_at_its_stored_width(bits_for: str, stored: int) -> None:
    """Found writing the layer_bits property: layer ``b`` reusing ``a``'s 4x4 weight read it
    at ``b``'s layer_bits width (8 bytes at 4 bits) while it is stored at ``a``'s (64 bytes
    at fp32, the model size), and the other way round."""
    b = analyzer.GraphBuilder()
    y = b.linear(b.input("x", (1, 4)), 4, bias=False, name="a")
    g = b.build(b.op("linear", [y, "a.weight"], (1, 4), name="b"))
    r = analyze(g, layer_bits={bits_for: 4})
    assert r.totals["model_size_bytes"] == stored
    assert [row["weight_read_bytes"] for row in r.layers] == [stored, stored]


def assert_same_graph(a: Graph, b: Graph) -> None:
    assert (a.name, a.framework, a.meta, a.inputs, a.outputs) == (
        b.name,
        b.framework,
        b.meta,
        b.inputs,
        b.outputs,
    )
    assert a.tensors == b.tensors and a.params == b.params
    assert list(a.nodes()) == list(b.nodes())
    assert list(a.nx.edges(keys=True, data=True)) == list(b.nx.edges(keys=True, data=True))


@CI
@given(graphs)
def test_json_round_trip_is_lossless(recipe: Recipe) -> None:
    g = recipe.build()
    doc = json.dumps(graph_to_dict(g))
    back = graph_from_dict(json.loads(doc))
    assert_same_graph(g, back)
    assert json.dumps(graph_to_dict(back)) == doc
    assert analyze(back).to_json() == analyze(g).to_json()


ANALYZE_FILES = """
import sys
import analyzer
for path in sys.argv[1:]:
    print(analyzer.analyze(path).to_json())
"""


def test_report_is_byte_identical_across_processes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reports of saved random graphs: in this process and in two fresh ones with
    different hash seeds (set and dict order must not leak into the report)."""
    paths: list[Path] = []

    @CI
    @given(graphs)
    def save(recipe: Recipe) -> None:
        if len(paths) < 8:
            path = tmp_path / f"g{len(paths)}.json"
            analyzer.save_graph(recipe.build(), path)
            paths.append(path)

    save()
    here = "".join(analyzer.analyze(str(p)).to_json() + "\n" for p in paths)
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        cmd = [sys.executable, "-c", ANALYZE_FILES, *map(str, paths)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        outs.append(out.stdout)
    assert outs[0] == outs[1] == here
    # the CLI prints the same document (in-process: the entry point has its own subprocess test)
    from analyzer.cli import main

    capsys.readouterr()
    assert main(["analyze", str(paths[0]), "--format", "json"]) == 0
    assert capsys.readouterr().out == analyzer.analyze(str(paths[0])).to_json() + "\n"
