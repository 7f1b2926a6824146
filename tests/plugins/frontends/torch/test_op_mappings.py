"""Plugin op mappings in the torch frontend (hook analyzer_register_op_mappings, framework "torch"):
a custom op (torch.library) mapped to a plugin's canonical op gets that op's formula, on the meta
trace, the real trace and torch.export; without the mapping it stays unsupported."""

from __future__ import annotations

import types

import pytest

torch = pytest.importorskip("torch")

import analyzer  # noqa: E402
from analyzer.core.errors import UsageError  # noqa: E402
from analyzer.core.hookspecs import hookimpl  # noqa: E402
from analyzer.core.ops import Category, OpDef  # noqa: E402


@torch.library.custom_op("analyzer_test::scaled_gemm", mutates_args=())
def scaled_gemm(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x @ w)


@scaled_gemm.register_fake
def _(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x.new_empty(x.shape[0], w.shape[1])


class Model(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(4, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.ops.analyzer_test.scaled_gemm(x, self.w))


def _macs(v) -> int:  # one MAC per (row, k, column): m*k*n, from the operand shapes
    (m, k), (_, n) = v.in_shape(0), v.in_shape(1)
    return m * k * n


def gemm_plugin(source_op: str = "analyzer_test::scaled_gemm", name: str = "my_gemm_plugin"):
    return types.SimpleNamespace(
        __name__=name,
        analyzer_register_ops=hookimpl(
            lambda register: register(OpDef("my_gemm", Category.CONTRACTION, "0.5 x @ w"))
        ),
        analyzer_register_formulas=hookimpl(lambda register: register("macs", "my_gemm", _macs)),
        analyzer_register_op_mappings=hookimpl(
            lambda register: register("torch", source_op, "my_gemm")
        ),
    )


@pytest.mark.parametrize("capture", ["meta", "real", "export"])
def test_a_mapped_custom_op_gets_its_macs(capture: str) -> None:
    ps = analyzer.load_plugins(extra=[gemm_plugin()], entry_points=False)
    model, x = Model(), torch.randn(3, 4)
    r = analyzer.analyze(model, x, plugins=ps, frontend_options={"capture": capture})
    assert r.unsupported == []
    assert r.totals["macs"] == 3 * 4 * 8  # m*k*n by hand
    assert r.totals["params"] == model.w.numel()
    node = next(n for n in r.graph.nodes() if n.op == "my_gemm")
    assert node.source_op == "analyzer_test.scaled_gemm.default"


def test_without_the_mapping_the_op_is_unsupported() -> None:
    r = analyzer.analyze(
        Model(), torch.randn(3, 4), plugins=analyzer.load_plugins(entry_points=False)
    )
    assert [(u["op"], u["count"]) for u in r.unsupported] == [("unknown", 1)]
    assert r.totals["macs"] == 0 and not r.completeness.complete
    assert (
        next(n for n in r.graph.nodes() if n.op == "unknown").source_op
        == "analyzer_test.scaled_gemm.default"
    )


def test_the_overload_spelling_names_the_same_op() -> None:
    ps = analyzer.load_plugins(
        extra=[gemm_plugin("analyzer_test.scaled_gemm.default")], entry_points=False
    )
    assert analyzer.analyze(Model(), torch.randn(3, 4), plugins=ps).totals["macs"] == 96


def test_two_plugins_mapping_one_op_are_refused_naming_both() -> None:
    other = types.SimpleNamespace(
        __name__="other_plugin",
        analyzer_register_op_mappings=hookimpl(
            lambda register: register("torch", "analyzer_test::scaled_gemm", "matmul")
        ),
    )
    with pytest.raises(
        UsageError, match="mapped by plugin my_gemm_plugin and by plugin other_plugin"
    ):
        analyzer.load_plugins(extra=[gemm_plugin(), other], entry_points=False)
    spelled = types.SimpleNamespace(
        __name__="other_plugin",
        analyzer_register_op_mappings=hookimpl(
            lambda register: register("torch", "analyzer_test.scaled_gemm.default", "matmul")
        ),
    )
    with pytest.raises(
        UsageError,
        match=r"'analyzer_test::scaled_gemm' \(plugin my_gemm_plugin\) and .*other_plugin",
    ):
        analyzer.load_plugins(extra=[gemm_plugin(), spelled], entry_points=False)
