"""Functional ops, in-place ops and ops the table does not know."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import analyzer  # noqa: E402
from analyzer.plugins.frontends.torch.handlers import einsum_equation  # noqa: E402


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.W = nn.Parameter(torch.randn(32, 16))
        self.b = nn.Parameter(torch.zeros(16))

    def forward(self, x, y):
        a = F.conv2d(x, self.w, padding=1)  # 8*27 MACs per output pixel
        z1 = y @ self.W  # a weight on the right: a linear layer
        z2 = torch.matmul(y, self.W)
        z3 = torch.addmm(self.b, y, self.W)  # bias + y W: linear with its bias
        p, q = y.view(4, 8, 32), y.view(4, 32, 8)
        e1 = torch.einsum("bij,bjk->bik", p, q)
        e2 = torch.einsum("...ij,...jk", p, q)  # ellipsis, implicit output
        m1 = torch.bmm(p, q)
        m2 = torch.baddbmm(m1, p, q)
        return a, z1, z2, z3, e1, e2, m1, m2


def test_functional_contractions_are_counted(plugins):
    model = Functional()
    report = analyzer.analyze(model, [(2, 3, 8, 8), (32, 32)], plugins=plugins)
    assert report.totals["params"] == sum(p.numel() for p in model.parameters())
    conv = 8 * 27 * 2 * 8 * 8
    linear = 32 * 32 * 16
    batched = 4 * 8 * 8 * 32
    assert report.totals["macs"] == conv + 3 * linear + 4 * batched
    g = report.graph
    ops = {n.source_op: n.op for n in g.nodes()}
    assert ops["aten.conv2d.default"] == "conv" and ops["aten.addmm.default"] == "linear"
    addmm = next(n for n in g.nodes() if n.source_op == "aten.addmm.default")
    assert addmm.inputs == ("input1", "W", "b") and g.params["b"].role == "bias"
    baddbmm = [n.op for n in g.nodes() if n.source_op == "aten.baddbmm.default"]
    assert baddbmm == ["matmul", "add"]
    # FLOPs: 2 per MAC, the bias of addmm once per output, baddbmm's add once per output
    assert report.totals["mac_flops"] == 2 * report.totals["macs"] + 32 * 16
    assert report.unsupported == []


@pytest.mark.parametrize(
    ("equation", "ranks", "explicit"),
    [("ij,jk->ik", [2, 2], "ij,jk->ik"), ("ij,jk", [2, 2], "ij,jk->ik"), ("ba,ca", [2, 2], "ba,ca->bc"),
     ("...ij,...jk", [3, 3], "aij,ajk->aik"), ("b...d,bd->b...", [4, 2], "bacd,bd->bac"), ("i,i", [1, 1], "i,i->")],
)  # fmt: skip
def test_einsum_equations_are_made_explicit(equation, ranks, explicit):
    assert einsum_equation(equation, ranks) == explicit


class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.fc(x)
        y += x  # add_ on an activation
        y = self.act(y)  # relu_
        y.mul_(2.0)
        return F.dropout(y, 0.5, training=False)


def test_in_place_ops_keep_ssa(plugins):
    graph = analyzer.to_graph(InPlace(), (4, 16), plugins=plugins)
    nodes = list(graph.nodes())
    assert [n.op for n in nodes] == ["linear", "add", "relu", "mul", "identity"]
    outputs = [t for n in nodes for t in n.outputs]
    assert len(set(outputs)) == len(outputs)  # each in-place result is a new tensor name
    for prev, node in zip(nodes, nodes[1:], strict=False):
        assert prev.outputs[0] in node.inputs  # and the chain reads the latest version
    graph.validate()


def test_training_dropout_is_a_mask_multiply(plugins):
    class Drop(nn.Module):
        def forward(self, x):
            return F.dropout(x, 0.5, training=True)

    (node,) = analyzer.to_graph(Drop(), (4, 16), plugins=plugins).nodes()
    assert (node.op, node.source_op) == ("mul", "aten.dropout.default")


def test_unmapped_ops_are_reported_not_dropped(plugins):
    class Odd(nn.Module):
        def forward(self, x):
            return torch.cumprod(x, 1) + 1  # no canonical op for a cumulative product

    report = analyzer.analyze(Odd(), (2, 8), plugins=plugins)
    assert report.unsupported == [
        {"op": "unknown", "source_op": "aten.cumprod.default", "count": 1}
    ]
    assert [n.op for n in report.graph.nodes()] == ["unknown", "add"]


@pytest.mark.parametrize("capture", ["meta", "export"])
def test_composite_ops_outside_the_table_are_decomposed(plugins, capture):
    class Composite(nn.Module):
        def forward(self, a, b):
            return torch.tensordot(
                a, b, dims=([1], [0])
            )  # CompositeImplicitAutograd -> permute/view/mm

    report = analyzer.analyze(
        Composite(), [(4, 8), (8, 5)], plugins=plugins, frontend_options={"capture": capture}
    )
    assert (
        report.model["capture"]
        == {"meta": "torch.dispatch(meta)", "export": "torch.export"}[capture]
    )
    assert report.totals["macs"] == 4 * 8 * 5 and report.unsupported == []


def test_constants_and_parameter_views(plugins):
    class Consts(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(6, 4))
            self.scale = torch.tensor([1.0, 2.0, 3.0, 4.0])  # a plain tensor attribute: a constant

        def forward(self, x):
            pos = torch.arange(x.shape[0], device=x.device)  # created in forward
            return (x * self.scale) @ self.w.t() + pos.unsqueeze(-1)

    graph = analyzer.to_graph(Consts(), (3, 4), plugins=plugins)
    by_op = {n.op: n for n in graph.nodes()}
    assert by_op["linear"].inputs[1] == "w"  # w.t() stays the parameter itself
    assert "permute" not in by_op  # no node for a view of a weight nobody reads as data
    assert graph.tensors[by_op["mul"].inputs[1]].constant
    assert graph.tensors[by_op["constant"].outputs[0]].constant
    graph.validate()
