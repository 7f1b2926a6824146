"""Unsupported ops (docs/metrics.md): counted nowhere, listed with their framework name,
count and share of nodes, with a warning; strict=True turns them into an error."""

from __future__ import annotations

import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.core.errors import AnalysisError, UnsupportedOpsError
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ops import Category, OpDef


def with_unknown() -> Graph:
    """relu, then two ops the frontend could not map (aten::foo), then a linear: 4 nodes."""
    b = GraphBuilder("u")
    x = b.input("x", (1, 8))
    x = b.relu(x, name="relu")
    x = b.op("unknown", [x], (1, 8), name="foo", source_op="aten::foo")
    x = b.op("unknown", [x], (1, 8), name="foo2", source_op="aten::foo")
    b.linear(x, 2, name="fc")
    return b.build()


def test_unknown_ops_listed_with_count_and_share() -> None:
    r = analyzer.analyze(with_unknown())
    assert r.unsupported == [{"op": "unknown", "source_op": "aten::foo", "count": 2}]
    assert r.coverage["nodes"] == 4
    assert r.coverage["unsupported_nodes"] == 2
    assert r.coverage["supported_nodes"] == 2
    assert r.coverage["unsupported_share"] == pytest.approx(0.5)  # 2 of 4
    assert any("aten::foo x2" in w and "2 of 4" in w for w in r.warnings)


def test_unknown_ops_count_nothing() -> None:
    r = analyzer.analyze(with_unknown())
    # relu 8 FLOPs; fc 16 MACs -> 32 + 2 bias = 34; the unknown ops nothing
    assert r.layer("foo")["flops"] == 0 and r.layer("foo")["macs"] == 0
    assert r.totals["macs"] == 16
    assert r.totals["flops"] == 8 + 34


def test_strict_raises() -> None:
    with pytest.raises(UnsupportedOpsError, match="aten::foo x2"):
        analyzer.analyze(with_unknown(), strict=True)
    assert issubclass(UnsupportedOpsError, AnalysisError)


def test_strict_passes_when_everything_is_supported() -> None:
    b = GraphBuilder("ok")
    b.linear(b.input("x", (1, 4)), 2, name="fc")
    assert analyzer.analyze(b.build(), strict=True).unsupported == []


class _NewOps:
    """A plugin adding three ops and no formulas for them."""

    @hookimpl
    def analyzer_register_ops(self, register):
        register(OpDef("my_gemm", Category.CONTRACTION, "a contraction without a MAC formula"))
        register(OpDef("my_act", Category.ELEMENTWISE, "arithmetic without a FLOP formula"))
        register(OpDef("my_move", Category.MOVEMENT, "data movement: needs no formula"))


def test_ops_without_formulas() -> None:
    ps = analyzer.load_plugins(entry_points=False, extra=[_NewOps()])
    b = GraphBuilder("plug")
    x = b.input("x", (2, 4))
    x = b.op("my_gemm", [x], (2, 4), name="gemm", source_op="custom_gemm")
    x = b.op("my_act", [x], (2, 4), name="act", source_op="custom_act")
    b.op("my_move", [x], (2, 4), name="move", source_op="custom_move")
    r = analyzer.analyze(b.build(), plugins=ps)
    listed = {(u["op"], u["source_op"], u["count"]) for u in r.unsupported}
    assert listed == {("my_gemm", "custom_gemm", 1), ("my_act", "custom_act", 1)}
    assert r.coverage["unsupported_share"] == pytest.approx(2 / 3)
    with pytest.raises(UnsupportedOpsError):
        analyzer.analyze(b.graph, plugins=ps, strict=True)


def test_op_outside_the_vocabulary_is_reported_unsupported() -> None:
    # a graph saved with a plugin's op still analyzes: the op is listed, not refused
    b = GraphBuilder("bad")
    b.op("frobnicate", [b.input("x", (2,))], (2,), name="f", source_op="frob")
    r = analyzer.analyze(b.build())
    assert r.unsupported == [{"op": "frobnicate", "source_op": "frob", "count": 1}]
    with pytest.raises(UnsupportedOpsError, match="frob x1"):
        analyzer.analyze(b.graph, strict=True)


def test_a_formula_that_cannot_handle_a_node_is_a_one_line_error(tmp_path) -> None:
    # resize has FLOP formulas for nearest/linear/cubic/area only: another mode names the node
    b = GraphBuilder("up")
    x = b.input("x", (1, 3, 8, 8))
    b.op("resize", [x], (1, 3, 16, 16), {"mode": "lanczos"}, name="up", source_op="upsample_lanczos")
    with pytest.raises(AnalysisError) as e:
        analyzer.analyze(b.build())
    assert str(e.value) == (
        "formula of op 'resize' failed on node 'up' (upsample_lanczos): "
        "ValueError: resize mode 'lanczos' has no FLOP formula (nearest, linear, cubic, area)"
    )
    path = tmp_path / "up.json"
    analyzer.save_graph(b.graph, path)
    from analyzer.cli import main

    assert main(["analyze", str(path)]) == 1
