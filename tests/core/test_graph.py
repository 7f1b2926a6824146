"""Graph mutators and validate() (docs/ir.md): each error names the problem."""

from __future__ import annotations

import networkx as nx
import pytest

from analyzer import GraphBuilder, load_plugins
from analyzer.core.graph import Graph, GraphError
from analyzer.core.ir import Node, Param, Tensor


def base() -> Graph:
    g = Graph("g")
    g.add_input(Tensor("x", (2, 3)))
    g.add_tensor(Tensor("y", (2, 3)))
    g.add_node(Node("n1", "relu", ("x",), ("y",)))
    return g


# --- mutators -----------------------------------------------------------------
def test_duplicate_node_id() -> None:
    g = base()
    g.add_tensor(Tensor("z", (2, 3)))
    with pytest.raises(GraphError, match="node id 'n1' is used twice"):
        g.add_node(Node("n1", "relu", ("y",), ("z",)))


def test_duplicate_tensor() -> None:
    g = base()
    with pytest.raises(GraphError, match="tensor 'y' is defined twice"):
        g.add_tensor(Tensor("y", (1,)))


def test_tensor_clashing_with_param() -> None:
    g = base()
    g.add_param(Param("w", (3,)))
    with pytest.raises(GraphError, match="'w'"):
        g.add_tensor(Tensor("w", (3,)))
    with pytest.raises(GraphError, match="clashes with a tensor"):
        g.add_param(Param("y", (2, 3)))


def test_param_shared_or_redefined() -> None:
    g = base()
    p = g.add_param(Param("w", (3,)))
    assert g.add_param(Param("w", (3,))) is p  # the same spec again: shared
    with pytest.raises(GraphError, match="parameter 'w' redefined"):
        g.add_param(Param("w", (4,)))


def test_tensor_produced_twice() -> None:
    g = base()
    with pytest.raises(GraphError, match="tensor 'y' is produced twice"):
        g.add_node(Node("n2", "relu", ("x",), ("y",)))
    with pytest.raises(GraphError, match="tensor 'x' is produced twice"):  # a graph input
        g.add_node(Node("n3", "relu", ("y",), ("x",)))


def test_undeclared_output() -> None:
    g = base()
    with pytest.raises(GraphError, match="node 'n2' outputs undeclared tensor 'nope'"):
        g.add_node(Node("n2", "relu", ("y",), ("nope",)))


# --- reading --------------------------------------------------------------------
def test_producer_consumers_and_nx_edges() -> None:
    g = base()
    g.add_tensor(Tensor("z", (2, 3)))
    g.add_param(Param("b", (3,), role="bias"))
    g.add_node(Node("n2", "add", ("y", "b"), ("z",)))
    assert g.producer("y").id == "n1"
    assert g.producer("x") is None and g.producer("b") is None
    assert [n.id for n in g.consumers("y")] == ["n2"]
    assert [p.name for p in g.node_params(g.node("n2"))] == ["b"]
    assert g.activation_inputs(g.node("n2")) == ["y"]
    edges = list(g.nx.edges(data="tensor"))
    assert edges == [("n1", "n2", "y")]  # params and graph inputs are not nx nodes
    assert [n.id for n in g.nodes()] == ["n1", "n2"] and len(g) == 2 and "n2" in g


def test_nx_is_read_only() -> None:
    g = base()
    view = g.nx
    with pytest.raises(nx.NetworkXError):
        view.add_node("intruder")
    with pytest.raises(nx.NetworkXError):
        view.remove_node("n1")
    assert "intruder" not in g


def test_nx_follows_later_mutations() -> None:
    """The networkx graph is built on first use; adding a node afterwards rebuilds it."""
    g = base()
    assert list(g.nx.nodes) == ["n1"] and not g.nx.number_of_edges()
    g.add_tensor(Tensor("z", (2, 3)))
    g.add_node(Node("n2", "mul", ("y", "y"), ("z",)))
    edges = sorted(g.nx.edges(keys=True, data="index"))
    assert edges == [("n1", "n2", "y->0", 0), ("n1", "n2", "y->1", 1)]


def test_unknown_name() -> None:
    with pytest.raises(GraphError, match="unknown tensor 'ghost'"):
        base().spec("ghost")


# --- validate -------------------------------------------------------------------
def test_valid_graph_validates() -> None:
    base().validate(load_plugins().vocabulary)


def test_operand_read_before_produced() -> None:
    g = Graph()
    g.add_input(Tensor("x", (2,)))
    g.add_tensor(Tensor("a", (2,)))
    g.add_tensor(Tensor("b", (2,)))
    g.add_node(Node("first", "relu", ("b",), ("a",)))  # reads b, produced by the next node
    g.add_node(Node("second", "relu", ("x",), ("b",)))
    with pytest.raises(GraphError, match="node 'first' reads 'b', which is produced later"):
        g.validate()


def test_operand_never_defined() -> None:
    g = Graph()
    g.add_input(Tensor("x", (2,)))
    g.add_tensor(Tensor("a", (2,)))
    g.add_node(Node("n", "add", ("x", "ghost"), ("a",)))
    with pytest.raises(GraphError, match="reads 'ghost', which is produced nowhere"):
        g.validate()


def test_unknown_op_with_vocabulary() -> None:
    g = base()
    g.add_tensor(Tensor("z", (2, 3)))
    g.add_node(Node("n2", "frobnicate", ("y",), ("z",)))
    g.validate()  # without a vocabulary any op name is structurally fine
    with pytest.raises(GraphError, match="node 'n2' has op 'frobnicate', not in the op vocabulary"):
        g.validate(load_plugins().vocabulary)


@pytest.mark.parametrize("shape", [(2, -1), (2, 1.5), (2, 3.0), (2, "3"), [2, 3]])
def test_bad_shape(shape) -> None:
    g = Graph()
    g.add_input(Tensor("x", shape))
    with pytest.raises(GraphError, match="tensor 'x' has an invalid shape"):
        g.validate()


def test_bad_shape_after_an_equal_good_one() -> None:
    """(2, 3.0) == (2, 3): each tensor's shape is checked, not each distinct shape value."""
    g = Graph()
    g.add_input(Tensor("x", (2, 3)))
    g.add_input(Tensor("w", (2, 3.0)))
    with pytest.raises(GraphError, match="tensor 'w' has an invalid shape"):
        g.validate()


def test_infos_in_execution_order_with_repeat() -> None:
    g = base()
    g.add_tensor(Tensor("c", (3,), constant=True))
    g.add_tensor(Tensor("z", (2, 3)))
    g.add_param(Param("b", (3,), role="bias"))
    g.add_node(Node("n2", "add", ("y", "b", "c"), ("z",), {"repeat": 4}))
    infos = g.infos()
    assert list(infos) == ["n1", "n2"]
    assert infos["n2"].act_inputs == ("y",) and infos["n2"].act_outputs == ("z",)
    assert [p.name for p in infos["n2"].params] == ["b"] and infos["n2"].repeat == 4
    assert infos["n1"].repeat == 1 and g.info("n2") is infos["n2"]
    g.add_tensor(Tensor("u", (2, 3)))
    g.add_node(Node("n3", "relu", ("z",), ("u",)))
    assert list(g.infos()) == ["n1", "n2", "n3"]  # a mutation drops the cache


def test_unknown_dtype() -> None:
    g = Graph()
    g.add_input(Tensor("x", (2,), dtype="float42"))
    with pytest.raises(GraphError, match="tensor 'x': unknown dtype 'float42'"):
        g.validate()


def test_param_bad_dtype() -> None:
    g = base()
    g.add_param(Param("w", (3,), dtype="int3"))
    with pytest.raises(GraphError, match="'w'.*int3"):
        g.validate()


def test_reshape_changing_element_count() -> None:
    b = GraphBuilder()
    b.op("reshape", [b.input("x", (2, 3))], (4, 2), name="r")
    with pytest.raises(GraphError, match=r"reshape.*element count.*\(2, 3\) -> \(4, 2\)"):
        b.build()


def test_broadcast_mismatch() -> None:
    b = GraphBuilder()
    b.op("add", [b.input("a", (2, 3)), b.input("b", (4, 3))], (2, 3), name="s")
    with pytest.raises(GraphError, match="node 's' \\(add\\).*do not broadcast"):
        b.build()


def test_elementwise_output_not_the_broadcast() -> None:
    b = GraphBuilder()
    b.op("mul", [b.input("a", (2, 3)), b.input("b", (3,))], (2, 4), name="m")
    with pytest.raises(GraphError, match=r"outputs \(2, 4\), broadcast of inputs is \(2, 3\)"):
        b.build()


def test_elementwise_of_equal_shapes_must_keep_them() -> None:
    b = GraphBuilder()
    b.op("add", [b.input("a", (2, 3)), b.input("b", (2, 3))], (2, 3, 1), name="s")
    with pytest.raises(GraphError, match=r"outputs \(2, 3, 1\), broadcast of inputs is \(2, 3\)"):
        b.build()


def test_unary_shape_change() -> None:
    b = GraphBuilder()
    b.op("sigmoid", [b.input("x", (2, 3))], (3, 2), name="s")
    with pytest.raises(GraphError, match=r"node 's' \(sigmoid\) maps shape \(2, 3\) to \(3, 2\)"):
        b.build()


def test_output_never_produced() -> None:
    g = base()
    g.set_outputs(["y", "ghost"])
    with pytest.raises(GraphError, match="graph output 'ghost' is never produced"):
        g.validate()


def test_input_not_declared() -> None:
    g = base()
    g.inputs.append("phantom")
    with pytest.raises(GraphError, match="graph input 'phantom' is not a declared tensor"):
        g.validate()


def test_constants_are_available_and_not_activations() -> None:
    g = base()
    g.add_tensor(Tensor("c", (3,), constant=True))
    g.add_tensor(Tensor("z", (2, 3)))
    g.add_node(Node("n2", "mul", ("y", "c"), ("z",)))
    g.validate()
    assert not g.is_activation("c") and g.is_activation("z") and g.is_activation("x")
    assert g.activation_inputs(g.node("n2")) == ["y"]


def test_networkx_is_imported_only_when_a_graph_algorithm_needs_it() -> None:
    """networkx is half of the CLI's start-up time: ``Graph.nx`` imports it on first use."""
    import subprocess
    import sys

    code = (
        "import sys, analyzer.cli, analyzer\n"
        "assert 'networkx' not in sys.modules\n"
        "g = analyzer.analyze(__import__('analyzer.zoo', fromlist=['zoo']).alexnet()).graph\n"
        "assert 'networkx' not in sys.modules\n"
        "assert g.nx.number_of_nodes() == len(g) and 'networkx' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]


def test_graph_error_lives_in_errors() -> None:
    import analyzer
    from analyzer.core import errors, graph

    assert graph.GraphError is errors.GraphError is analyzer.GraphError


def test_shape_rules_and_grouping_do_not_import_the_graph() -> None:
    """graph -> shape_checks/op_rules, layers -> ops: no import cycle hidden in function bodies."""
    import ast
    from pathlib import Path

    import analyzer.core

    core = Path(analyzer.core.__file__).parent

    def imports(tree: ast.AST) -> set[str]:
        return {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }

    for name in ("graph", "layers", "shape_checks", "op_rules"):
        tree = ast.parse((core / f"{name}.py").read_text())
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            lazy = {m for m in imports(fn) if m.startswith("analyzer")}
            assert not lazy, f"{name}.{fn.name} imports {lazy} lazily"
        runtime = set()
        for stmt in tree.body:
            if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
                continue  # annotations only
            runtime |= imports(stmt)
        if name != "graph":
            assert "analyzer.core.graph" not in runtime, f"{name} imports the graph module"


def test_readers_and_producers_without_per_tensor_containers() -> None:
    """One reader is stored bare and a tensor named like its node needs no producer entry; reads
    are the same as for any other tensor."""
    g = base()
    g.add_tensor(Tensor("n2", (2, 3)))
    g.add_node(Node("n2", "relu", ("y",), ("n2",)))
    assert g.consumer_ids("y") == ("n2",) and g.consumer_ids("n2") == ()
    assert g.producer("n2").id == "n2" and g.producer("y").id == "n1"
    g.add_tensor(Tensor("n1", (2, 3)))  # named like a node that does not produce it
    g.add_tensor(Tensor("w", (2, 3)))
    g.add_node(Node("n3", "add", ("n2", "y"), ("w",)))
    assert g.producer("n1") is None
    assert g.consumer_ids("y") == ("n2", "n3") and [n.id for n in g.consumers("y")] == ["n2", "n3"]
    with pytest.raises(GraphError, match="tensor 'n2' is produced twice"):
        g.add_node(Node("n4", "relu", ("y",), ("n2",)))
    edges = [("n1", "n2", "y"), ("n1", "n3", "y"), ("n2", "n3", "n2")]
    assert sorted(g.nx.edges(data="tensor")) == edges
    g.add_tensor(Tensor("v", (2, 3)))
    g.add_node(Node("n5", "relu", ("n1",), ("v",)))
    with pytest.raises(GraphError, match="reads 'n1', which is produced nowhere"):
        g.validate()


def test_infos_reuse_the_nodes_tuples() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.relu(x, name="r")
    z = b.linear(y, 4, name="fc")
    k = b.constant("k", (1, 4))
    w = b.op("add", [z, k], (1, 4), name="plus")
    g = b.build(w)
    infos = g.infos()
    assert infos["r"].act_inputs is g.node("r").inputs and infos["r"].act_outputs is g.node("r").outputs
    assert infos["fc"].act_inputs == ("r",) and infos["fc"].act_inputs is g.node("r").outputs
    assert [p.name for p in infos["fc"].params] == ["fc.weight", "fc.bias"]
    assert infos["plus"].act_inputs == ("fc",) and infos["plus"].params == ()
    assert g.infos() is infos and infos["plus"].repeat == 1
    g.node("plus").attrs["repeat"] = 3
    g.set_outputs([w])  # a new graph state
    assert g.infos()["plus"].repeat == 3


def test_parameter_readers_are_found_when_asked() -> None:
    g = base()
    g.add_tensor(Tensor("z", (2, 3)))
    g.add_node(Node("n2", "add", ("y", "w"), ("z",)))  # reads w before it is declared
    g.add_param(Param("w", (3,)))
    assert g.consumer_ids("w") == ("n2",)
    g.add_tensor(Tensor("v", (2, 3)))
    g.add_node(Node("n3", "mul", ("z", "w"), ("v",)))  # a shared weight
    assert g.consumer_ids("w") == ("n2", "n3") and [n.id for n in g.consumers("w")] == ["n2", "n3"]
    assert g.consumer_ids("nothing") == ()
