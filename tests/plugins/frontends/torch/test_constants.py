"""Tensors made from Python data inside ``forward`` (``torch.tensor(2.0)``, ATen ``lift_fresh``):
constants of the IR, on every capture path (torchvision's box decoding, RAFT and transformers'
sliding-window cache do this)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import analyzer  # noqa: E402


class MadeInForward(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * torch.tensor(2.0) + torch.tensor([1.0, 2.0, 3.0, 4.0])
        return y * torch.tensor(3.0).exp()  # an op on the constant alone


PATHS = {"meta": "torch.dispatch(meta)", "real": "torch.dispatch(real)", "export": "torch.export"}


@pytest.mark.parametrize("capture", list(PATHS))
def test_a_tensor_made_in_forward_is_a_constant(plugins, capture: str) -> None:
    graph = analyzer.to_graph(MadeInForward(), (2, 4), plugins=plugins, capture=capture)
    assert graph.meta["capture"] == PATHS[capture]  # no fallback needed
    made = [n for n in graph.nodes() if "lift_fresh" in n.source_op]
    assert [(n.op, n.inputs) for n in made] == [("constant", ())] * 3
    assert [graph.shape(n.outputs[0]) for n in made] == [(), (4,), ()]
    assert all(graph.tensors[n.outputs[0]].constant for n in made)
    ops = [n.op for n in graph.nodes() if n not in made]
    assert ops == ["mul", "add", "exp", "mul"]
    add = next(n for n in graph.nodes() if n.op == "add")
    assert add.inputs[1] == made[1].outputs[0]

    options = {"capture": capture}
    report = analyzer.analyze(MadeInForward(), (2, 4), plugins=plugins, frontend_options=options)
    # mul 8 + add 8 + exp of the scalar 1 + mul 8; the constants are not activations
    assert report.totals["flops"] == 25
    assert report.unsupported == []
    assert report.totals["total_activations"] == 4 * 8  # input, mul, add, output


def test_a_scalar_tensor_attribute_used_alone(plugins) -> None:
    """A 0-d tensor kept as a plain attribute, as the only operand of an op."""

    class Scaled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.log_scale = torch.tensor(0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.log_scale.exp()

    report = analyzer.analyze(Scaled(), (3, 5), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(meta)"
    assert report.layer("mul")["flops"] == 15
    assert report.unsupported == []
