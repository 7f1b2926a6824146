"""The metric contract: a pass over the graph producing per-layer values and totals."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from analyzer.core.errors import UsageError

if TYPE_CHECKING:
    from analyzer.core.formulas import FormulaTables
    from analyzer.core.graph import Graph
    from analyzer.core.layer_table import LayerTable
    from analyzer.core.layers import Layer
    from analyzer.core.ops import OpVocabulary
    from analyzer.core.options import AnalysisOptions

Number = int | float
T = TypeVar("T")


AGGREGATIONS = ("sum", "max", "none")


@dataclass(frozen=True, slots=True)
class Ratio:
    """A quantity that aggregates as the ratio of two others (``Ratio("ops", "memory_bytes")``).

    A group of layers gets (aggregate of numerator) / (aggregate of
    denominator), 0.0 where the denominator is 0: ratios are never summed.
    """

    numerator: str
    denominator: str

    def __str__(self) -> str:
        return f"ratio:{self.numerator}/{self.denominator}"


Aggregation = Literal["sum", "max", "none"] | Ratio


def parse_aggregation(text: str) -> Aggregation:
    """The inverse of ``str()``: ``"sum"``, ``"max"``, ``"none"`` or ``"ratio:a/b"`` (report JSON)."""
    if text in AGGREGATIONS:
        return text  # type: ignore[return-value]
    num, sep, den = text.removeprefix("ratio:").partition("/")
    if not text.startswith("ratio:") or not sep or not num or not den:
        raise ValueError(f"unknown aggregation {text!r} (sum, max, none or ratio:NUM/DEN)")
    return Ratio(num, den)


DISPLAYS = ("column", "total", "hidden")
FORMATS = ("count", "bytes", "int", "float", "ratio", "seconds", "joules", "rate", "text")


@dataclass(frozen=True, slots=True)
class Quantity:
    """One reported number: its key, unit and convention, how it aggregates and how it is shown.

    ``per_layer`` says whether layer rows carry it (completeness marks only
    those in layer rows). ``aggregate`` is how a group of layers combines:
    ``"sum"``, ``"max"``, ``Ratio(num, den)`` (of two other quantities'
    aggregates) or ``"none"`` (no group value). Module roll-ups, aligned
    comparison rows and reporters all use it; the model total is the
    metric's own ``MetricResult.totals`` entry (a peak over live tensors is
    not a layer sum), and the engine derives a missing ratio total from its
    parts' totals.

    Display metadata (docs/plugins.md, "Showing a quantity"); the defaults
    suit a third-party ``Quantity(name, unit, convention)``:

    - ``label``: column and totals header (default: ``name``).
    - ``display``: ``"column"`` a column of the default per-layer table (and
      a total), ``"total"`` in the totals block only (its per-layer values
      with ``--columns``), ``"hidden"`` in JSON and CSV only unless
      ``--columns`` names it. Default: ``"column"`` if ``per_layer`` else ``"total"``.
    - ``format``: how a value renders: ``"count"`` (exact with separators,
      and SI prefixes through P and E), ``"bytes"`` (kB/MB/GB, or
      KiB/MiB/GiB with ``--binary-units``), ``"int"`` (exact, no prefix),
      ``"float"``/``"ratio"`` (``digits`` significant digits), ``"seconds"``,
      ``"joules"``, ``"rate"`` (per second), ``"text"``. Default: ``"bytes"``
      for unit ``byte``, else ``"count"``.
    - ``group``: a family of columns (``compute``, ``memory``, ``training``...)
      that ``--columns GROUP`` selects as a whole. Default: the metric's name.
    - ``digits``: significant digits of ``float`` and ``ratio`` values.
    """

    name: str
    unit: str
    convention: str
    per_layer: bool = True
    aggregate: Aggregation = "sum"
    label: str = ""
    display: str = ""
    format: str = ""
    group: str = ""
    digits: int = 4

    def __post_init__(self) -> None:
        if not isinstance(self.aggregate, Ratio) and self.aggregate not in AGGREGATIONS:
            raise ValueError(f"quantity {self.name!r}: aggregate must be sum, max, none or Ratio(num, den), "
                             f"not {self.aggregate!r}")  # fmt: skip
        # frozen: the defaults that depend on other fields are filled here, once
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if not self.display:
            object.__setattr__(self, "display", "column" if self.per_layer else "total")
        if not self.format:
            object.__setattr__(self, "format", "bytes" if self.unit in ("byte", "bytes", "B") else "count")
        if self.display not in DISPLAYS:
            raise ValueError(f"quantity {self.name!r}: display must be one of {', '.join(DISPLAYS)}, not {self.display!r}")
        if self.format not in FORMATS:
            raise ValueError(f"quantity {self.name!r}: format must be one of {', '.join(FORMATS)}, not {self.format!r}")

    def describe(self, metric: str = "") -> dict[str, Any]:
        """The entry of ``Report.quantities`` (report JSON ``quantities[name]``), without ``complete``."""
        return {
            "unit": self.unit, "convention": self.convention, "metric": metric, "aggregate": str(self.aggregate),
            "per_layer": self.per_layer, "label": self.label, "display": self.display, "format": self.format,
            "group": self.group or metric, "digits": self.digits,
        }  # fmt: skip


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True, slots=True)
class Option:
    """An option a metric declares (``Metric.options``); docs/plugins.md, "Metric options".

    ``type`` is ``bool``, ``int``, ``float`` or ``str``; ``default`` may be None
    (then ``none`` from the command line means None too); ``choices`` limits the
    values; ``minimum`` is the smallest number allowed (``1`` for a batch size);
    ``alias`` is an ``analyze()`` keyword (and ``AnalysisOptions`` attribute)
    that sets it too, as the built-ins' options had before they were declared.
    Set as ``--option METRIC.KEY=VALUE`` or ``analyze(options={"METRIC.KEY": value})``;
    the metric reads ``ctx.option("KEY")``.
    """

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    alias: str = ""
    minimum: float | None = None

    def __post_init__(self) -> None:
        if self.type not in (bool, int, float, str):
            raise ValueError(f"option {self.name!r}: type must be bool, int, float or str, not {self.type!r}")

    def parse(self, value: Any, metric: str = "") -> Any:
        """``value`` (typed, or text from the command line) as this option's type; UsageError if it is not."""
        where = f"metric option {metric}.{self.name}" if metric else f"option {self.name}"
        value = self._convert(value, where)
        if self.choices and value not in self.choices and not (value is None and self.default is None):
            raise UsageError(f"{where}: {value!r} is not one of {', '.join(map(str, self.choices))}")
        if self.minimum is not None and value is not None and not value >= self.minimum:  # nan fails too
            raise UsageError(f"{where}: must be at least {self.minimum:g}, got {value!r}")
        if self.type is float and value is not None and value in (math.inf, -math.inf):
            raise UsageError(f"{where}: must be a finite number, got {value!r}")
        return value

    def _convert(self, value: Any, where: str) -> Any:
        if value is None or (isinstance(value, str) and value.lower() == "none" and self.default is None):
            if self.default is None:
                return None
            raise UsageError(f"{where}: a value is required ({self.type.__name__})")
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
                return value.lower() in _TRUE
            raise UsageError(f"{where}: expected true or false, got {value!r}")
        if isinstance(value, bool):  # True is an int to Python, not to a user
            raise UsageError(f"{where}: expected {self.type.__name__}, got {value!r}")
        if self.type is str:
            if isinstance(value, str):
                return value
            raise UsageError(f"{where}: expected a string, got {value!r}")
        if isinstance(value, int | float) and (self.type is float or float(value).is_integer()):
            return self.type(value)
        if isinstance(value, str):
            try:
                return self.type(value)
            except ValueError:
                pass
        raise UsageError(f"{where}: expected {'an integer' if self.type is int else 'a number'}, got {value!r}")

    def describe(self) -> dict[str, Any]:
        """For ``python -m analyzer plugins``: name, type, default, help (and choices, alias)."""
        d = {"name": self.name, "type": self.type.__name__, "default": self.default, "help": self.help}
        if self.choices:
            d["choices"] = list(self.choices)
        if self.minimum is not None:
            d["minimum"] = self.minimum
        if self.alias:
            d["alias"] = self.alias
        return d


@dataclass(slots=True)
class MetricResult:
    """What a metric computed.

    ``layers`` maps layer name to ``{quantity: value}`` (or is
    ``ctx.columns({...})``: the same values column-wise); ``totals`` maps
    quantity to its model total; ``details`` holds anything else the metric
    wants in the report (under ``details[metric name]``); ``nodes`` maps node
    id to per-node values for metrics that have them. Read-only once
    returned: the engine stores ``layers`` column-wise as the metric
    finishes (``core/layer_table.py``), and later readers (other metrics,
    hardware models) get read-only mappings.
    """

    layers: Mapping[str, Mapping[str, Number]] = field(default_factory=dict)
    totals: dict[str, Number] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    nodes: Mapping[str, Mapping[str, Number]] = field(default_factory=dict)


@dataclass(slots=True)
class MetricContext:
    """What a metric gets: the graph, its layers, the options and earlier results."""

    graph: Graph
    layers: list[Layer]
    options: AnalysisOptions
    formulas: FormulaTables
    vocabulary: OpVocabulary
    results: dict[str, MetricResult] = field(default_factory=dict)
    _derived: dict[Callable[..., Any], Any] = field(default_factory=dict, repr=False)
    metric: str = ""  # the metric computing now (the engine sets it): whose options ``option`` reads

    def result(self, metric: str) -> MetricResult:
        """The result of a metric named in ``requires``."""
        return self.results[metric]

    def option(self, key: str) -> Any:
        """The value of option ``key`` that the computing metric declares (``Metric.options``)."""
        values = self.options.metric_options.get(self.metric, {})
        if key not in values:
            raise KeyError(f"metric {self.metric!r} declares no option {key!r} (Metric.options)")
        return values[key]

    @property
    def layer_index(self) -> dict[str, int]:
        """Layer name -> its position in ``layers`` (built once per analysis)."""
        return self.derived(_layer_index)

    def columns(self, values: Mapping[str, Sequence[Any]]) -> LayerTable:
        """Per-layer values given column-wise, for ``MetricResult.layers``: ``{quantity: [one value
        per layer of ctx.layers, in order]}``. Every layer gets every key, in this order; the same
        rows as the dict of dicts, without a dict per layer (docs/plugins.md, "Per-layer values")."""
        from analyzer.core.layer_table import LayerTable

        try:
            return LayerTable.from_columns(values, self.layer_index)
        except ValueError as e:  # a column of the wrong length: name the metric that gave it
            raise ValueError(f"metric {self.metric!r}: {e}") from None

    def derived(self, build: Callable[[MetricContext], T]) -> T:
        """``build(self)``, computed once per analysis: a structure several plugins share.

        Keyed by the function itself (a module-level function), not by a
        string, so the shared structure is a typed accessor such as
        ``activation_storages(ctx)`` and two plugins cannot collide on a key.
        """
        if build not in self._derived:
            self._derived[build] = build(self)
        return self._derived[build]


def _layer_index(ctx: MetricContext) -> dict[str, int]:
    return {layer.name: i for i, layer in enumerate(ctx.layers)}


class Metric(ABC):
    """A graph pass computing one family of quantities.

    Set ``name`` (unique), ``quantities``, ``requires`` (names of metrics
    whose results ``compute`` reads; they run first) and ``options`` (what
    the user may set for this metric; ``compute`` reads ``ctx.option(key)``).
    """

    name: str = ""
    quantities: tuple[Quantity, ...] = ()
    requires: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()

    @abstractmethod
    def compute(self, ctx: MetricContext) -> MetricResult:
        """Compute this metric over ``ctx.graph``. Must not mutate the graph."""
