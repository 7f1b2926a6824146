"""Storage aliasing (docs/ir.md): views alias their input; activation functions run in
place when they are the only reader of an input that is not a graph output."""

from __future__ import annotations

from analyzer import GraphBuilder, load_plugins
from analyzer.core.aliasing import storage_roots


def roots(graph) -> dict[str, str]:
    return storage_roots(graph, load_plugins(entry_points=False).vocabulary)


def test_views_chain_to_the_owner() -> None:
    b = GraphBuilder()
    x = b.input("x", (2, 3, 4))
    y = b.conv(x, 3, 1, name="c")  # allocates
    v1 = b.reshape(y, (2, 12), name="v1")
    v2 = b.permute(v1, (1, 0), name="v2")
    v3 = b.identity(v2, name="v3")
    s = b.op("slice", [v3], (6, 2), name="v4")
    e = b.op("expand", [s], (2, 6, 2), name="v5")
    parts = b.op("split", [e], [(1, 6, 2), (1, 6, 2)], name="v6")
    r = roots(b.build(*parts))
    assert r["x"] == "x"
    for t in (y, v1, v2, v3, s, e, *parts):
        assert r[t] == y, t


def test_activation_in_place_when_sole_reader() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    a = b.activation("gelu", y, name="act")
    s = b.activation("sigmoid", a, name="act2")
    r = roots(b.build(s))
    assert r[a] == y and r[s] == y


def test_activation_not_in_place_with_two_readers() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    a = b.relu(y, name="relu")
    z = b.add(y, a, name="add")
    r = roots(b.build(z))
    assert r[a] == a
    assert r[z] == z  # elementwise arithmetic always allocates


def test_activation_not_in_place_on_a_graph_output() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    a = b.relu(y, name="relu")
    r = roots(b.build(y, a))
    assert r[a] == a


def test_activation_on_graph_input_in_place() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    a = b.relu(x, name="relu")
    assert roots(b.build(a))[a] == "x"


def test_other_ops_allocate() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 2, 4, 4))
    outs = [
        b.softmax(x, name="sm"),
        b.concat([x, x], name="cat"),
        b.op("copy", [x], (1, 2, 4, 4), name="copy"),
        b.op("cast", [x], (1, 2, 4, 4), name="cast", dtype="float16"),
        b.op("neg", [x], (1, 2, 4, 4), name="neg"),  # elementwise, not an activation function
    ]
    r = roots(b.build(*outs))
    for t in outs:
        assert r[t] == t, t


def test_view_of_a_param_first_operand_is_the_activation() -> None:
    # an op whose first operand is a parameter aliases nothing it cannot own: the first *activation*
    b = GraphBuilder()
    x = b.input("x", (4,))
    w = b.param("w", (4,))
    y = b.op("mul", [w, x], (4,), name="m")
    v = b.op("reshape", [y], (2, 2), name="v")
    r = roots(b.build(v))
    assert r[y] == y and r[v] == y


def test_activation_on_a_view_read_later_allocates() -> None:
    # x + relu(dropout(x)): the storage is read after the ReLU through another name
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    v = b.identity(y, name="dropout")
    a = b.relu(v, name="relu")
    z = b.add(y, a, name="add")
    r = roots(b.build(z))
    assert r[v] == y and r[a] == a


def test_activation_on_a_view_read_only_before_runs_in_place() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    v = b.reshape(y, (2, 2), name="view")
    a = b.relu(v, name="relu")
    r = roots(b.build(a))
    assert r[v] == y and r[a] == y


def test_activation_on_a_view_of_a_graph_output_allocates() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    out = b.reshape(y, (2, 2), name="out")  # a graph output: another name of y's storage
    v = b.identity(y, name="view")
    a = b.relu(v, name="relu")
    r = roots(b.build(out, a))
    assert r[out] == y and r[v] == y and r[a] == a


def test_names_added_after_an_in_place_activation_count() -> None:
    # relu1 runs in place on y; views of its result become names of y's storage too, so
    # relu2 may not run in place when one of them (v3) is read after it
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    v1 = b.identity(y, name="v1")
    a = b.relu(v1, name="relu1")
    v2 = b.identity(a, name="v2")
    v3 = b.identity(a, name="v3")
    c = b.relu(v2, name="relu2")
    z = b.add(c, v3, name="add")
    r = roots(b.build(z))
    assert r[a] == y and r[v2] == y and r[v3] == y
    assert r[c] == c
    # without the later reader of v3, relu2 runs in place as well
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    a = b.relu(b.identity(y, name="v1"), name="relu1")
    c = b.relu(b.identity(a, name="v2"), name="relu2")
    assert roots(b.build(c))[c] == y


def test_aliases_are_the_names_of_another_storage() -> None:
    from analyzer.core.aliasing import storage_aliases, with_aliases

    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.linear(x, 4, name="fc")
    v = b.reshape(y, (2, 2), name="view")
    a = b.relu(v, name="relu")
    z = b.add(a, a, name="add")
    g = b.build(z)
    vocabulary = load_plugins(entry_points=False).vocabulary
    aliases = storage_aliases(g, vocabulary)
    assert aliases == {v: y, a: y}
    full = with_aliases(g, aliases)
    assert full == roots(g) == {x: x, y: y, v: y, a: y, z: z}
    assert list(full) == [x, y, v, a, z]  # inputs, then the nodes' outputs in order
