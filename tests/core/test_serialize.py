"""JSON round-trip of the IR (analyzer.graph/1) and malformed documents."""

from __future__ import annotations

import json

import pytest

import analyzer
from analyzer import GraphBuilder, load_graph, save_graph, zoo
from analyzer.core.graph import Graph, GraphError
from analyzer.core.serialize import SCHEMA, graph_from_dict, graph_to_dict


def rich_graph() -> Graph:
    b = GraphBuilder("rich", framework="test")
    x = b.input("x", (1, 3, 8, 8))
    i = b.input("idx", (2,), dtype="int64")
    y = b.conv(x, 4, 3, padding=((1, 1), (0, 2)), groups=1, name="blk.conv")  # nested tuples
    y = b.batch_norm(y, name="blk.bn")
    b.param(
        "blk.bn.num_batches_tracked",
        (),
        dtype="int64",
        trainable=False,
        buffer=True,
        role="counter",
    )
    c = b.constant("scale", (1,), dtype="bfloat16")
    y = b.op("mul", [y, c], (1, 4, 8, 8), name="scale_mul")
    y = b.op("permute", [y], (1, 8, 8, 4), {"perm": (0, 2, 3, 1)}, name="p")
    parts = b.op(
        "split", [y], [(1, 8, 8, 2), (1, 8, 8, 2)], {"axis": 3, "sizes": (2, 2)}, name="sp"
    )
    g = b.op("gather", [parts[0], i], (2, 8, 8, 2),
             {"axis": 0, "flag": True, "none": None, "ratio": 0.5, "name": "take",
              "nested": {"a": (1, (2, 3)), "b": "c"}, "repeat": 2},
             name="g", source_op="aten::index_select")  # fmt: skip
    graph = b.build(g, parts[1])
    graph.meta.update({"capture": "builder", "extra": {"k": [1, 2], "s": "v"}})  # meta is plain JSON
    graph.node("g").meta["note"] = "kept"
    return graph


def assert_same(a: Graph, b: Graph) -> None:
    assert (a.name, a.framework, a.meta) == (b.name, b.framework, b.meta)
    assert a.inputs == b.inputs and a.outputs == b.outputs
    assert a.tensors == b.tensors  # Tensor dataclasses: shape tuples, dtype, constant flag
    assert a.params == b.params
    assert list(a.nodes()) == list(b.nodes())  # Node dataclasses including attrs and meta
    assert list(a.nx.edges(keys=True, data=True)) == list(b.nx.edges(keys=True, data=True))


def test_round_trip_dict() -> None:
    g = rich_graph()
    back = graph_from_dict(json.loads(json.dumps(graph_to_dict(g))))
    assert_same(g, back)
    attrs = back.node("g").attrs
    assert attrs["nested"] == {"a": (1, (2, 3)), "b": "c"}
    assert back.node("blk.conv").attrs["padding"] == ((1, 1), (0, 2))
    assert back.tensors["scale"].constant is True
    assert back.params["blk.bn.num_batches_tracked"].role == "counter"
    back.validate(analyzer.load_plugins(entry_points=False).vocabulary)


def test_round_trip_file_and_analysis(tmp_path) -> None:
    path = tmp_path / "alexnet.json"
    g = zoo.alexnet()
    save_graph(g, path)
    assert json.loads(path.read_text())["schema"] == SCHEMA
    back = load_graph(path)
    assert_same(g, back)
    a, b = analyzer.analyze(g), analyzer.analyze(str(path))
    # 60,954,656 weights + biases 96+256+384+384+256 + 4096+4096+1000 = 10,568 -> 60,965,224
    assert a.totals["params"] == b.totals["params"] == 60_965_224
    assert a.totals["macs"] == b.totals["macs"]


def test_round_trip_keeps_meta_lists() -> None:
    g = rich_graph()
    g.meta["warnings"] = ["unknown trip count"]
    back = graph_from_dict(json.loads(json.dumps(graph_to_dict(g))))
    assert back.meta["warnings"] == ["unknown trip count"]


def test_unserializable_attr() -> None:
    g = rich_graph()
    g.node("g").attrs["bad"] = object()
    with pytest.raises(TypeError, match="not JSON-serializable"):
        graph_to_dict(g)


def doc() -> dict:
    return json.loads(json.dumps(graph_to_dict(rich_graph())))


def test_wrong_schema() -> None:
    d = doc()
    d["schema"] = "other/2"
    with pytest.raises(GraphError, match="not an analyzer graph document.*'other/2'"):
        graph_from_dict(d)
    with pytest.raises(GraphError, match="not an analyzer graph document.*list"):
        graph_from_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["tensors", "params", "inputs", "nodes", "outputs"])
def test_missing_top_level_field(field) -> None:
    d = doc()
    del d[field]
    with pytest.raises(GraphError, match=f"malformed graph document.*'{field}'"):
        graph_from_dict(d)


@pytest.mark.parametrize(("section", "field"), [("tensors", "shape"), ("params", "name"), ("nodes", "op"),
                                                ("nodes", "outputs")])  # fmt: skip
def test_missing_entry_field(section, field) -> None:
    d = doc()
    del d[section][0][field]
    with pytest.raises(GraphError, match=f"'{field}'"):
        graph_from_dict(d)


def test_duplicate_tensor_in_document() -> None:
    d = doc()
    d["tensors"].append(dict(d["tensors"][0]))
    with pytest.raises(GraphError, match="tensor 'x' is defined twice"):
        graph_from_dict(d)


def test_node_with_undeclared_output() -> None:
    d = doc()
    d["nodes"][0]["outputs"] = ["nowhere"]
    with pytest.raises(GraphError, match="undeclared tensor 'nowhere'"):
        graph_from_dict(d)


def test_wrong_type_field_is_a_graph_error() -> None:
    d = doc()
    d["tensors"][0]["shape"] = 5
    with pytest.raises(GraphError, match="malformed graph document"):
        graph_from_dict(d)


def test_wrong_type_field_named() -> None:
    d = doc()
    d["tensors"][0]["shape"] = 5
    with pytest.raises(GraphError, match=r"tensors\[0\]\.shape has the wrong type \(int\)"):
        graph_from_dict(d)


def test_invalid_json_file(tmp_path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"schema": "analyzer.graph/1",')
    with pytest.raises(GraphError, match="bad.json: not valid JSON"):
        load_graph(p)


def test_loaded_graph_is_validated_by_analysis(tmp_path) -> None:
    d = doc()
    d["tensors"][0]["shape"] = [1, -3]
    p = tmp_path / "neg.json"
    p.write_text(json.dumps(d))
    with pytest.raises(analyzer.AnalysisError, match="invalid shape"):
        analyzer.analyze(str(p))


def test_loading_validates_every_op_rule(tmp_path):
    """A saved graph is untrusted: a conv whose output contradicts its input is refused on load."""
    d = doc()
    conv = next(t for t in d["tensors"] if t["name"] == "blk.conv")
    conv["shape"] = [1, 4, 9, 9]
    with pytest.raises(GraphError, match=r"node 'blk.conv' \(conv\): output shape \(1, 4, 9, 9\) contradicts"):
        graph_from_dict(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(GraphError, match=r"^.*bad.json: node 'blk.conv'"):
        load_graph(p)


def test_loading_names_the_bad_attribute():
    d = doc()
    next(n for n in d["nodes"] if n["id"] == "p")["attrs"]["perm"] = [0, 1, 1, 3]
    with pytest.raises(GraphError, match=r"node 'p' \(permute\): attribute 'perm' must be a permutation"):
        graph_from_dict(d)


def test_binary_file_is_a_graph_error(tmp_path):
    p = tmp_path / "bin.json"
    p.write_bytes(bytes(range(128, 256)))
    with pytest.raises(GraphError, match="not a text file"):
        load_graph(p)


MUTATIONS = [None, True, 0, -1, 2, 10**15, 1.5, "", "x", [], [0], [-1, 2], [[1, 1]], {}, {"a": 1}, "lstm"]


def _paths(obj, path=()):
    yield path
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from _paths(v, (*path, k))


def test_mutated_documents_fail_only_with_one_line_errors():
    """Seeded random edits of a valid document: loading and analysing either work or raise the
    analyzer's own one-line errors, never an internal exception (bench/fuzz.py runs longer)."""
    import random

    rng = random.Random(15)
    base = doc()
    vocabulary = [op.name for op in analyzer.load_plugins(entry_points=False).vocabulary]
    plugins = analyzer.load_plugins(entry_points=False)
    for _ in range(300):
        d = json.loads(json.dumps(base))
        for _ in range(rng.choice((1, 1, 2))):
            *parent, key = rng.choice([p for p in _paths(d) if p])
            holder = d
            for k in parent:
                holder = holder[k]
            value = rng.choice(vocabulary) if key == "op" else rng.choice(MUTATIONS)
            holder[key] = value
        try:
            g = graph_from_dict(d)
        except GraphError as e:
            assert "\n" not in str(e)
            continue
        try:
            analyzer.analyze(g, plugins=plugins)
        except analyzer.AnalyzerError as e:
            assert "\n" not in str(e)
