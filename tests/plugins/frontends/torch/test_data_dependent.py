"""Ops whose output size depends on values (docs/frontends/torch.md, "Data-dependent sizes").

A real trace knows the size: the node is flagged ``meta["data_dependent"]``
and the report warns once; everything after it is counted for the example
inputs. A meta trace never invents a size: it stops and says which op needs
values (then the real trace takes over, or, with weights on meta, the error
says so).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")

import analyzer  # noqa: E402
from analyzer.core.errors import AnalysisError  # noqa: E402

X = torch.tensor([[0.5, -1.0, 2.0], [-3.0, 0.0, 4.0]])  # 3 positive of 6
POSITIVE = 3


class Selected(torch.nn.Module):
    """Keep the positive entries by one of the value-sized ops, then a Linear on each."""

    def __init__(self, select: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.select = select
        self.fc = torch.nn.Linear(1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept = self.select(x)
        return self.fc(kept.reshape(-1, 1).float())


SELECTS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], str, str]] = {
    # name: (selection, canonical op, ATen op)
    "where_one_arg": (lambda x: x[torch.where(x > 0)], "nonzero", "aten.where.default"),
    "nonzero": (lambda x: x.flatten()[(x.flatten() > 0).nonzero().squeeze(1)], "nonzero",
                "aten.nonzero.default"),
    "argwhere": (lambda x: x.flatten()[torch.argwhere(x.flatten() > 0).squeeze(1)], "nonzero",
                 "aten.argwhere.default"),
    "masked_select": (lambda x: x.masked_select(x > 0), "gather", "aten.masked_select.default"),
    "boolean_index": (lambda x: x[x > 0], "gather", "aten.index.Tensor"),
    "repeat_interleave": (lambda x: torch.repeat_interleave((x > 0).flatten().long()), "gather",
                          "aten.repeat_interleave.Tensor"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SELECTS))
def test_real_trace_sizes_and_flags_value_dependent_ops(plugins, name: str) -> None:
    select, op, source = SELECTS[name]
    model = Selected(select).eval()
    report = analyzer.analyze(model, X, plugins=plugins)

    assert report.model["capture"] == "torch.dispatch(real, fallback)"
    assert any(f"output size of aten.{source.split('.')[1]} depends on values" in w
               or "has no meta kernel" in w for w in report.warnings)  # fmt: skip
    flagged = [n for n in report.graph.nodes() if n.meta.get("data_dependent")]
    assert [(n.op, n.source_op) for n in flagged] == [(op, source)]
    assert any("value-dependent output sizes" in w and source in w for w in report.warnings)
    # the Linear runs on the 3 selected values: 3 x 4 MACs, whatever the op
    assert report.totals["macs"] == POSITIVE * 4
    assert report.unsupported == []
    report.graph.validate()


def test_one_argument_where_is_nonzero_not_elementwise_where(plugins) -> None:
    class Where(torch.nn.Module):
        def forward(self, m: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return torch.where(m)

    mask = torch.tensor([[True, False, True], [False, False, True]])
    graph = analyzer.analyze(Where(), mask, plugins=plugins).graph
    (node,) = [n for n in graph.nodes() if n.op == "nonzero"]
    assert [graph.shape(o) for o in node.outputs] == [(3,), (3,)]  # one index tensor per dim
    assert node.meta == {"data_dependent": True}
    graph.validate()


def test_three_argument_where_stays_elementwise(plugins) -> None:
    class Where(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.where(x > 0, x, 0.5 * x)

    report = analyzer.analyze(Where(), (2, 3), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(meta)"
    (node,) = [n for n in report.graph.nodes() if n.op == "where"]
    assert node.meta == {}
    assert not any("value-dependent" in w for w in report.warnings)


def test_unique_and_bincount(plugins) -> None:
    class Count(torch.nn.Module):
        def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
            values, counts = torch.unique(ids, return_counts=True)
            return values, counts, torch.bincount(ids)

    ids = torch.tensor([3, 1, 3, 3, 0])
    graph = analyzer.analyze(Count(), ids, plugins=plugins).graph
    flagged = {n.op: n for n in graph.nodes() if n.meta.get("data_dependent")}
    assert set(flagged) == {"unique", "scatter"}
    assert [graph.shape(o) for o in flagged["unique"].outputs][0] == (3,)  # 0, 1, 3
    assert graph.shape(flagged["scatter"].outputs[0]) == (4,)  # bins 0..3


def test_histc_has_a_fixed_size(plugins) -> None:
    class Hist(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.histc(x, bins=5, min=0, max=4)

    report = analyzer.analyze(Hist(), (7,), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(meta)"  # histc's size is its bins
    assert report.unsupported == []
    (node,) = [n for n in report.graph.nodes() if n.op == "scatter"]
    assert report.graph.shape(node.outputs[0]) == (5,) and node.meta == {}


def test_meta_weights_say_the_size_needs_values(plugins) -> None:
    select = SELECTS["where_one_arg"][0]
    with torch.device("meta"):
        model = Selected(select)
    with pytest.raises(AnalysisError, match="depends on values|needs tensor values"):
        analyzer.analyze(model, (2, 3), plugins=plugins)


def test_meta_trace_names_bincount_as_value_sized(plugins) -> None:
    """bincount's meta kernel refuses: the fallback's reason says the size needs values."""

    class Count(torch.nn.Module):
        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return torch.bincount(ids)

    report = analyzer.analyze(Count(), torch.tensor([3, 1, 3]), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(real, fallback)"
    assert any("output size of aten.bincount depends on values" in w for w in report.warnings)
