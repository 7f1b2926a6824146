"""The core Recorder: names, kinds of values, shared parameters, roles, nodes, is_shape."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer.core.errors import GraphError
from analyzer.core.recorder import ACTIVATION, CONSTANT, INPUT, PARAM, Names, Recorder, is_shape
from analyzer.core.serialize import graph_from_dict, graph_to_dict


def test_names_count_per_base_and_skip_taken_ones() -> None:
    taken = {"a_2"}
    names = Names(taken=taken.__contains__)
    assert [names.fresh("a") for _ in range(3)] == ["a", "a_1", "a_3"]  # a_2 belongs to someone
    assert names.fresh("b") == "b"
    assert names.fresh("a_1") == "a_1_1"  # handed out before, though nothing uses it yet


def test_names_separator_and_forgetting() -> None:
    assert [Names("/").fresh("x") for _ in range(2)] == ["x", "x"]  # one allocator per graph
    names = Names("/")
    assert [names.fresh("x") for _ in range(3)] == ["x", "x/1", "x/2"]
    live: set[str] = set()
    forgetful = Names(taken=live.__contains__, remember=False)
    assert forgetful.fresh("t_1") == "t_1"  # handed out, then dropped by its working copy:
    assert forgetful.fresh("t") == "t"
    assert forgetful.fresh("t") == "t_1"  # free again, so it is given once more
    live.add("t_2")
    assert forgetful.fresh("t") == "t_3"


def test_node_ids_and_output_names() -> None:
    rec = Recorder("g")
    x = rec.input("x", (2, 3), "float32")
    (y,) = rec.node("relu", [x], [((2, 3), "float32")], scope="block")
    (z,) = rec.node("relu", [y], [((2, 3), "float32")], scope="block")
    parts = rec.node("split", [z], [((2, 1), "float32"), ((2, 2), "float32")], {"axis": 1})
    assert (y, z) == ("block", "block_1")  # a one-output node's output is named like the node
    assert parts == ["split:0", "split:1"]
    g = rec.graph
    assert g.producer("split:1").id == "split" and g.node("split").attrs == {"axis": 1}
    assert g.node("block_1").scope == "block" and g.node("block").source_op == "relu"
    rec.scope = "head"
    (w,) = rec.node("add", parts, [((2, 1), "float32")], source_op="aten.add", base="head/add")
    assert g.node(w).scope == "head" and w == "head/add" and g.node(w).source_op == "aten.add"


def test_names_never_clash_with_inputs_params_or_constants() -> None:
    rec = Recorder("g")
    rec.input("relu", (1,), "float32")
    rec.param("conv", (1,), "float32")
    assert rec.constant("relu", (), "int32") == "relu_1"
    (out,) = rec.node("relu", ["relu"], [((1,), "float32")])
    (c,) = rec.node("conv", ["conv"], [((1,), "float32")], constant=True)
    assert (out, c) == ("relu_2", "conv_1")


def test_kinds_of_values() -> None:
    rec = Recorder("g")
    x = rec.input("x", (4,), "float32")
    w = rec.param("w", (4,), "float32")
    k = rec.constant("k", (), "float32")
    (folded,) = rec.node("mul", [w, k], [((4,), "float32")], constant=True)
    (y,) = rec.node("mul", [x, folded], [((4,), "float32")])
    kinds = [rec.kind(n) for n in (x, w, k, folded, y)]
    assert kinds == [INPUT, PARAM, CONSTANT, CONSTANT, ACTIVATION]
    assert rec.any_activation([w, k, x]) and not rec.any_activation([w, k, folded])
    assert rec.is_constant(folded) and rec.is_param(w) and rec.is_activation(x)
    assert not rec.is_activation(w) and not rec.is_constant(w)
    assert (rec.shape(w), rec.dtype(k)) == ((4,), "float32")
    with pytest.raises(GraphError, match="nope"):
        rec.kind("nope")


def test_shared_parameters_by_key_and_by_name() -> None:
    rec = Recorder("g")
    emb, other = object(), object()
    a = rec.param("embed.weight", (10, 4), "float32", key=emb, role="embedding")
    assert rec.param("lm_head.weight", (10, 4), "float32", key=emb) == a  # tied: one tensor
    b = rec.param("embed.weight", (10, 4), "float32", key=other)  # another tensor, same name
    assert (a, b) == ("embed.weight", "embed.weight_1")
    assert rec.param("bias", (4,), "float32") == rec.param("bias", (4,), "float32")
    with pytest.raises(GraphError, match="different spec"):
        rec.param("bias", (5,), "float32")
    assert list(rec.graph.params) == ["embed.weight", "embed.weight_1", "bias"]
    assert rec.graph.params[a].role == "embedding"


def test_first_use_sets_the_role_unless_fixed() -> None:
    rec = Recorder("g")
    rec.param("gamma", (4,), "float32")
    rec.param("beta", (4,), "float32", role="shift", fixed_role=True)
    rec.hint_role("gamma", "scale")
    rec.hint_role("gamma", "weight")  # a later use does not change it
    rec.hint_role("beta", "bias")
    assert rec.graph.params["gamma"].role == "scale"
    assert rec.graph.params["beta"].role == "shift"


def test_finish_marks_unread_activations_and_round_trips() -> None:
    rec = Recorder("g", "test", meta={"capture": "by hand"})
    x = rec.input("x", (2, 4), "float32")
    w = rec.param("fc.weight", (3, 4), "float32")
    (h,) = rec.node("linear", [x, w], [((2, 3), "float32")], scope="fc")
    (a,) = rec.node("relu", [h], [((2, 3), "float32")], scope="act")
    (b,) = rec.node("sigmoid", [h], [((2, 3), "float32")], scope="gate")
    rec.warn("one")
    rec.warn("one")
    g = rec.finish(validate=True)
    assert g.outputs == [a, b] and g.meta["warnings"] == ["one"]
    assert graph_to_dict(graph_from_dict(graph_to_dict(g))) == graph_to_dict(g)
    assert rec.finish([h]).outputs == ["fc"]


@pytest.mark.parametrize(
    ("x", "kw", "expected"),
    [
        ((1, 3, 8, 8), {}, True),
        ([2, 4], {}, True),
        ((), {}, False),
        ((), {"empty": True}, True),
        ((1, None), {}, False),
        ((1, None), {"unknown": True}, True),
        ((True, 2), {}, False),
        ((1.0, 2), {}, False),
        ("12", {}, False),
        (3, {}, False),
    ],
)
def test_is_shape(x, kw, expected) -> None:
    assert is_shape(x, **kw) is expected


def test_outputs_named_by_the_caller() -> None:
    rec = Recorder("g")
    x = rec.input("x", (2, 6), "float32")
    q, k, v = rec.node(
        "split", [x], [((2, 2), "float32")] * 3, scope="attn", out_names=["q", "k", "x"]
    )
    assert (q, k, v) == ("q", "k", "x_1")  # "x" is the input's: made unique like any name
    assert rec.graph.producer("q").id == "attn"
    (y,) = rec.node("relu", [q], [((2, 2), "float32")], scope="act", out_names=["relu_out"])
    assert rec.graph.producer(y).id == "relu_out"  # one output: the node takes its name
    with pytest.raises(GraphError, match="2 names for 1 outputs"):
        rec.node("relu", [q], [((2, 2), "float32")], out_names=["a", "b"])


def test_graph_builder_records_through_the_recorder() -> None:
    from analyzer.core.builder import GraphBuilder

    b = GraphBuilder("g")
    x = b.input("x", (2, 6))
    q, k, v = b.op("split", [x], [(2, 2)] * 3, {"axis": 1}, name="qkv", out_names=["q", "k", "v"])
    y = b.op("relu", [q], (2, 2), name="qkv")  # the same name again: a fresh node id
    assert (q, k, v, y) == ("q", "k", "v", "qkv_1")
    assert b.graph is b.rec.graph and b.rec.kind(v) == "activation"
    assert b.graph.node("qkv").outputs == ("q", "k", "v")


def test_recording_into_a_prepared_graph() -> None:
    from analyzer.core.graph import Graph
    from analyzer.core.ir import Node, Tensor

    g = Graph("g", "keras", {"capture": "functional"})
    rec = Recorder(graph=g)
    w = rec.param("dense.kernel", (4, 2), "float32", key=7)
    assert rec.param_of(7) == w and rec.param_of(8) is None
    x = rec.input("x", (1, 4), "float32")
    # a working copy (JAX staging) names its nodes itself, then hands them over
    rec.add_node(
        Node("dense", "linear", (x, w), ("dense",), scope="dense"), [Tensor("dense", (1, 2))]
    )
    assert rec.finish() is g and g.outputs == ["dense"] and g.meta == {"capture": "functional"}
    assert rec.fresh("dense") == "dense_1"


@given(st.lists(st.sampled_from(["a", "a_1", "a_2", "b", "a/1", "a_1_1"]), max_size=30))
def test_names_are_unique_and_keep_their_base(bases: list[str]) -> None:
    names = Names()
    got = [names.fresh(b) for b in bases]
    assert len(set(got)) == len(got)
    assert all(n == b or n.startswith(b + "_") for n, b in zip(got, bases, strict=True))


def test_names_remember_little_at_scale() -> None:
    """A base asked once needs no counter, and names in the graph are not kept twice."""
    rec = Recorder("g")
    x = rec.input("x", (1, 4), "float32")
    for i in range(50):
        (x,) = rec.node("relu", [x], [((1, 4), "float32")], scope=f"block{i}")
    assert not rec.names._next and not rec.names._given  # the graph itself says what is taken
    (again,) = rec.node("relu", [x], [((1, 4), "float32")], scope="block3")
    assert again == "block3_1" and rec.fresh("block3") == "block3_2"
    assert rec.fresh("free") == "free" and rec.fresh("free") == "free_1"  # handed out, not used
    names = Names()  # without ``taken``, everything handed out is remembered
    assert [names.fresh("a") for _ in range(2)] == ["a", "a_1"]
    names.settle(["a"])
    assert names.fresh("a") == "a_2"


def test_equal_shapes_are_one_tuple_and_one_count() -> None:
    rec = Recorder("g")
    x = rec.input("x", [2, 300], "float32")
    w = rec.param("w", (2, 300), "float32")
    (y,) = rec.node("add", [x, w], [([2, 300], "float32")])
    g = rec.graph
    a, b, c = g.tensors[x], g.params[w], g.tensors[y]
    assert a.shape == (2, 300) and a.shape is b.shape is c.shape
    assert a.numel == 600 and a.numel is b.numel is c.numel
    flag = rec.constant("flag", (True,), "bool")  # a bool dim is not merged with an int one
    one = rec.constant("one", (1,), "int32")
    assert type(g.tensors[flag].shape[0]) is bool and type(g.tensors[one].shape[0]) is int


def test_one_operand_tuple_is_its_producers_outputs() -> None:
    rec = Recorder("g")
    x = rec.input("x", (1, 4), "float32")
    (y,) = rec.node("relu", [x], [((1, 4), "float32")], scope="a")
    (z,) = rec.node("neg", [y], [((1, 4), "float32")], scope="b")
    g = rec.graph
    assert g.node(z).inputs == (y,) and g.node(z).inputs is g.node(y).outputs
    assert g.node(y).inputs == (x,)  # a graph input has no producer
