"""Layer grouping (docs/ir.md, Scopes and layers): runs of one scope, "#k" for a
reappearing scope, unscoped ops as their own layers, boundary tensors, principal op."""

from __future__ import annotations

from analyzer import GraphBuilder
from analyzer.core.graph import Graph
from analyzer.core.layers import Layer, group_layers
from analyzer.core.ops import OpVocabulary


def layers_of(g: Graph) -> list[Layer]:
    return group_layers(g, OpVocabulary())


def dense(b: GraphBuilder, x: str, scope: str, n_in: int, n_out: int) -> str:
    """A JAX-style Dense: dot_general + add in one scope."""
    w = b.param(f"{scope}.kernel", (n_in, n_out))
    bias = b.param(f"{scope}.bias", (n_out,), role="bias")
    dn = {"lhs_contracting": (1,), "rhs_contracting": (0,), "lhs_batch": (), "rhs_batch": ()}
    y = b.op("dot_general", [x, w], (b.shape(x)[0], n_out), dn, scope=scope)
    return b.op("add", [y, bias], (b.shape(x)[0], n_out), scope=scope)


def model() -> Graph:
    b = GraphBuilder()
    x = b.input("x", (2, 4))
    h = dense(b, x, "enc", 4, 8)  # layer "enc": dot_general, add
    h = b.op("tanh", [h], (2, 8), scope="")  # unscoped: layer named by its id
    h2 = dense(b, h, "mid", 8, 8)  # layer "mid"
    h = b.op("add", [h, h2], (2, 8), scope="")  # unscoped residual add
    c = b.constant("two", ())
    h = b.op("mul", [h, c], (2, 8), scope="mid")  # "mid" again after other layers: "mid#1"
    b.op("relu", [h], (2, 8), scope="mid")  # same run: still "mid#1"
    return b.build()


def test_runs_names_and_principal_ops() -> None:
    layers = layers_of(model())
    assert [(ly.name, ly.scope, ly.op) for ly in layers] == [
        ("enc", "enc", "dot_general"),  # first contraction beats the add
        ("tanh", "", "tanh"),
        ("mid", "mid", "dot_general"),
        ("add", "", "add"),  # named by its node id
        ("mid#1", "mid", "relu"),  # activation ranks above elementwise
    ]
    assert [len(ly.nodes) for ly in layers] == [2, 1, 2, 1, 2]


def test_boundary_tensors_and_params() -> None:
    g = model()
    enc, tanh, mid, add, mid1 = layers_of(g)
    # enc: reads x, returns its add; the dot_general result stays inside (fused)
    assert enc.inputs == ("x",)
    assert enc.outputs == ("enc_1",)
    assert enc.params == ("enc.kernel", "enc.bias")
    assert tanh.inputs == ("enc_1",) and tanh.outputs == ("tanh",)
    # tanh's output is read by mid and by the residual add
    assert mid.inputs == ("tanh",) and mid.outputs == ("mid_1",)
    assert add.inputs == ("tanh", "mid_1")
    # constants are neither inputs nor params; the relu's output is the graph output
    assert mid1.inputs == ("add",)
    assert mid1.outputs == ("mid_3",)
    assert mid1.params == ()


def test_graph_output_inside_a_layer_is_a_boundary() -> None:
    b = GraphBuilder()
    x = b.input("x", (2, 4))
    y = b.op("relu", [x], (2, 4), scope="blk")
    z = b.op("neg", [y], (2, 4), scope="blk")
    g = b.build(y, z)  # y is returned although only its own layer reads it
    (layer,) = layers_of(g)
    assert layer.outputs == (y, z)


def test_one_node_layers_share_the_nodes_tuples() -> None:
    """A million-node graph has about a million layers: a one-node layer makes no tuple that its
    node (or the node feeding it) already has, and operands read twice are listed once."""
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    z = b.relu(y, name="act")
    w = b.op("mul", [z, z], (1, 4), name="sq")
    unread = b.op("neg", [w], (1, 4), name="side")
    g = b.build(w)
    fc, act, sq, side = layers_of(g)
    infos, node = g.infos(), g.node
    assert act.nodes == ("act",) and act.nodes is node("act").outputs
    assert act.inputs == ("fc",) and act.inputs is node("fc").outputs is fc.outputs
    assert fc.inputs == ("x",) and fc.params == ("fc.weight", "fc.bias")
    assert sq.inputs == ("act",) and infos["sq"].act_inputs == ("act", "act")
    assert side.outputs == () and unread not in g.outputs
    one = b.op("add", [w, w], (1, 4), name="twice")
    assert layers_of(b.build(one))[-1].inputs == ("sq",)


def test_reappearing_scope_counts() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    for _ in range(3):
        x = b.op("relu", [x], (1, 4), scope="act")
        x = b.op("neg", [x], (1, 4), scope="other")
    names = [ly.name for ly in layers_of(b.build())]
    assert names == ["act", "other", "act#1", "other#1", "act#2", "other#2"]


def test_call_suffixes_are_separate_layers() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    x = b.relu(x, name="relu")
    x = b.relu(x, name="relu@1")
    assert [ly.name for ly in layers_of(b.build())] == ["relu", "relu@1"]


def test_principal_op_ranking() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 3, 4, 4))
    y = b.op("reshape", [x], (1, 3, 16), scope="a")
    y = b.op("softmax", [y], (1, 3, 16), {"axis": -1}, scope="a")  # norm beats view
    y = b.op("max_pool", [b.op("reshape", [y], (1, 3, 4, 4), scope="p")], (1, 3, 2, 2),
             {"kernel_size": (2, 2), "stride": (2, 2), "padding": ((0, 0), (0, 0))}, scope="p")  # fmt: skip
    y = b.op("exp", [y], (1, 3, 2, 2), scope="r")
    y = b.op("reduce_sum", [y], (1, 3), {"axes": (2, 3)}, scope="r")  # reduction beats elementwise
    y = b.op("concat", [y, y], (1, 6), {"axis": 1}, scope="m")
    y = b.op("reshape", [y], (6,), scope="m")  # movement beats view
    y = b.op("reshape", [y], (2, 3), scope="v")  # views only
    ops = {ly.name: ly.op for ly in layers_of(b.build(y))}
    assert ops == {
        "a": "softmax",
        "p": "max_pool",
        "r": "reduce_sum",
        "m": "concat",
        "v": "reshape",
    }


def test_grouping_follows_graph_changes() -> None:
    """Grouping is an engine step over the graph as it is, not a cache inside the IR."""
    b = GraphBuilder()
    x = b.relu(b.input("x", (1, 4)), name="r")
    g = b.build(x)
    assert [ly.name for ly in layers_of(g)] == ["r"]
    b.relu(x, name="s")
    g.set_outputs(["s"])
    assert [ly.name for ly in layers_of(g)] == ["r", "s"]
    assert not hasattr(g, "layers")


def test_plugin_contraction_names_its_layer_and_is_priced_as_one() -> None:
    """A plugin's contraction op next to an ``add`` makes a contraction layer (ranked by the plugin
    set's vocabulary, not the built-in one), and the roofline prices it on the matrix units."""
    import types

    import analyzer
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.ops import Category, OpDef

    def my_gemm_macs(v) -> int:
        (m, k), (_, n) = v.in_shape(0), v.in_shape(1)
        return m * k * n

    my_gemm = OpDef("my_gemm", Category.CONTRACTION, "x @ w")
    plugin = types.SimpleNamespace(
        analyzer_register_ops=hookimpl(lambda register: register(my_gemm)),
        analyzer_register_formulas=hookimpl(
            lambda register: register("macs", "my_gemm", my_gemm_macs)
        ),
    )
    ps = analyzer.load_plugins(extra=[plugin], entry_points=False)
    b = GraphBuilder()
    x = b.input("x", (2, 4))
    w = b.param("blk.w", (4, 8))
    bias = b.param("blk.b", (8,), role="bias")
    y = b.op("my_gemm", [x, w], (2, 8), scope="blk")
    y = b.op("add", [y, bias], (2, 8), scope="blk")
    g = b.build(y)

    (layer,) = group_layers(g, ps.vocabulary)
    assert layer.op == "my_gemm"
    # without the plugin the op is unknown, ranked "other", and the add would name the layer
    assert group_layers(g, OpVocabulary())[0].op == "add"

    report = analyzer.analyze(g, plugins=ps, devices=["xeon-platinum-8480plus"])
    (row,) = report.layers
    assert row.op == "my_gemm"
    assert row.values["macs"] == 2 * 4 * 8
    (hw_row,) = report.hardware[0].layers
    assert hw_row["op_class"] == "gemm"
