"""The metric contract: a pass over the graph producing per-layer values and totals."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from analyzer.core.formulas import FormulaTables
    from analyzer.core.graph import Graph
    from analyzer.core.layers import Layer
    from analyzer.core.ops import OpVocabulary
    from analyzer.core.options import AnalysisOptions

Number = int | float
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Quantity:
    """One reported number: its key, unit and convention (shown in docs and reports).

    ``per_layer`` says whether layer rows carry it; ``total`` how its total
    is formed from them (``"sum"``, ``"max"``) or ``"own"`` when the metric
    computes the total itself (a peak is not a sum).
    """

    name: str
    unit: str
    convention: str
    per_layer: bool = True
    total: Literal["sum", "max", "own"] = "sum"


@dataclass(slots=True)
class MetricResult:
    """What a metric computed.

    ``layers`` maps layer name to ``{quantity: value}``; ``totals`` maps
    quantity to its model total; ``details`` holds anything else the metric
    wants in the report (under ``details[metric name]``); ``nodes`` maps node
    id to per-node values for metrics that have them.
    """

    layers: dict[str, dict[str, Number]] = field(default_factory=dict)
    totals: dict[str, Number] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, dict[str, Number]] = field(default_factory=dict)


@dataclass(slots=True)
class MetricContext:
    """What a metric gets: the graph, its layers, the options and earlier results."""

    graph: Graph
    layers: list[Layer]
    options: AnalysisOptions
    formulas: FormulaTables
    vocabulary: OpVocabulary
    results: dict[str, MetricResult] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def result(self, metric: str) -> MetricResult:
        """The result of a metric named in ``requires``."""
        return self.results[metric]

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """A derived structure several metrics share (built once per analysis)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]


class Metric(ABC):
    """A graph pass computing one family of quantities.

    Set ``name`` (unique), ``quantities`` and ``requires`` (names of metrics
    whose results ``compute`` reads; they run first).
    """

    name: str = ""
    quantities: tuple[Quantity, ...] = ()
    requires: tuple[str, ...] = ()

    @abstractmethod
    def compute(self, ctx: MetricContext) -> MetricResult:
        """Compute this metric over ``ctx.graph``. Must not mutate the graph."""
