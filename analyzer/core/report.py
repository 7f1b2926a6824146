"""The Report: what one analysis found, and its versioned JSON form.

``Report.to_dict()`` is the ``analyzer.report/1`` document described field
by field in docs/report-schema.md and validated by
``analyzer/schemas/report.schema.json``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from operator import attrgetter, is_
from typing import TYPE_CHECKING, Any

from analyzer.core.completeness import Completeness
from analyzer.core.hardware import DeviceResult
from analyzer.core.jsonwriter import Rows, iter_object
from analyzer.core.layer_table import RowValues, Schema
from analyzer.core.metric import Number, Quantity
from analyzer.core.report_views import ReportViews, json_fields
from analyzer.core.rollup import ModuleRow, module_path, rollup

if TYPE_CHECKING:
    from analyzer.core.graph import Graph

SCHEMA = "analyzer.report/1"

# What each device result means and how it is shown (report JSON ``hardware_quantities``); the
# per-layer ones are also in each device's ``layers`` rows.
DEVICE_QUANTITIES = (
    Quantity("latency_s", "s", "predicted time of one inference of the graph's batch (roofline: max(compute, memory))",
             label="latency", format="seconds", group="hardware"),  # fmt: skip
    Quantity("throughput_per_s", "1/s", "items (batch elements) per second at the graph's batch",
             per_layer=False, label="throughput", format="rate", group="hardware"),  # fmt: skip
    Quantity("energy_j", "J", "ops x energy per op + bytes x energy per access at each memory level",
             label="energy", format="joules", group="hardware"),  # fmt: skip
    Quantity("bound", "", "compute or memory: the roofline side that sets the latency",
             aggregate="none", label="bound", format="text", group="hardware"),  # fmt: skip
    Quantity("fits", "", "whether weights and peak activations fit the device's memories (null: not decided)",
             per_layer=False, aggregate="none", label="fits", format="text", group="hardware"),  # fmt: skip
)


@functools.cache
def contract() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(totals every report carries, layer-row fields every row carries): the report
    contract, read from ``analyzer/schemas/report.schema.json`` so that core names no quantity."""
    schema = json.loads(resources.files("analyzer").joinpath("schemas/report.schema.json").read_text())
    props = schema["properties"]
    return tuple(props["totals"]["required"]), tuple(props["layers"]["items"]["required"])


def quantity_info(quantities: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """``quantities[name]`` with every display field filled (a report written before the
    metadata existed, or a value no metric declares, gets ``Quantity``'s defaults)."""
    info = quantities.get(name) or {}
    if "label" in info and "group" in info:
        return info
    q = Quantity(name, str(info.get("unit", "")), str(info.get("convention", "")),
                 per_layer=bool(info.get("per_layer", True)))  # fmt: skip
    return {**q.describe(str(info.get("metric", ""))), **info}


_ROW_ATTRS = frozenset(("name", "op", "scope", "output_shapes"))


@functools.cache
def _row_head() -> tuple[str, ...]:
    """The layer-row fields of the contract before the metric values (``nodes`` comes last)."""
    return tuple(k for k in contract()[1] if k != "nodes")


@dataclass(slots=True)
class LayerRow:
    """One layer: name, principal op, scope, output shapes and metric values.

    Metric values are read as attributes or items: ``row.macs``, ``row["macs"]``.
    ``incomplete`` maps each value an uncounted part makes incomplete to its
    bound (``lower``, ``upper``, ``unknown``; docs/completeness.md).
    """

    name: str
    op: str
    scope: str
    output_shapes: list[list[int]]
    values: dict[str, Number] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)
    incomplete: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Number:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> Any:
        if key in ("name", "op", "scope", "output_shapes", "nodes", "incomplete"):
            return getattr(self, key)
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def to_dict(self) -> dict[str, Any]:
        values = self.values
        if type(values) is not dict:
            values = values.as_dict() if hasattr(values, "as_dict") else dict(values)  # one dict, not a read per key
        head = _row_head()  # the contract's fields first, in its order (null if a metric is blocked)
        if _ROW_ATTRS.isdisjoint(values):  # no quantity named like a field: values then fill the rest
            d = {k: getattr(self, k) if k in _ROW_ATTRS else values.get(k) for k in head}
            d.update(values)
        else:
            d = {k: getattr(self, k) if k in _ROW_ATTRS else values.get(k) for k in head}
            d.update((k, v) for k, v in values.items() if k not in d)
        d["nodes"] = list(self.nodes)  # the layer's tuple: a list in the document (its schema)
        if self.incomplete:
            d["incomplete"] = self.incomplete
        return d


@dataclass(repr=False)  # __repr__ from ReportViews (readable totals, not every field)
class Report(ReportViews):
    """The result of ``analyzer.analyze``."""

    model: dict[str, Any]
    totals: dict[str, Number]
    layers: list[LayerRow]
    hardware: list[DeviceResult] = field(default_factory=list)
    unsupported: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    quantities: dict[str, dict[str, str]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    graph: Graph | None = field(default=None, repr=False)
    completeness: Completeness = field(default_factory=Completeness)
    # (the rows' values as last seen, the one schema they share or None): see layer_column
    _column_source: tuple[tuple[Any, ...], Schema | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def complete(self) -> bool:
        """True when nothing was left uncounted (docs/completeness.md)."""
        return self.completeness.complete

    def layer(self, name: str) -> LayerRow:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(f"no layer {name!r}")

    def layer_column(self, quantity: str) -> list[Any]:
        """``quantity``'s value for every layer row, in row order (None where a row has none):
        what reporters read column by column, faster than row by row."""
        source = self._column_source
        values = tuple(map(_VALUES, self.layers))
        if source is None or len(source[0]) != len(values) or not all(map(is_, source[0], values)):  # same objects?
            source = self._column_source = (values, _one_schema(values))
        if source[1] is not None:  # the engine's rows, untouched: the column as stored
            column = source[1].columns.get(quantity)
            return list(column) if column is not None else [None] * len(values)
        return [row_values.get(quantity) for row_values in values]  # rows changed, loaded or built by hand

    def layer_columns(self) -> LayerColumns:
        """A reader of many columns with the rows checked once, not once a column:
        ``read = report.layer_columns()``, then ``read(q)`` is ``layer_column(q)`` and
        ``read(q, start, stop)`` its values of rows ``start:stop`` only (the JSON format reads a
        million rows a batch at a time). It reads the rows as they were when made. A column comes
        as a list, or as an ``array`` copy where the report stores its ints or floats unboxed
        (the same values; a reporter that needs a list calls ``list()`` on it)."""
        self.layer_column("")  # checks the rows, remembers what it found
        values, schema = self._column_source  # type: ignore[misc]
        return LayerColumns(values, schema)

    def device(self, name: str) -> DeviceResult:
        for r in self.hardware:
            if r.device == name:
                return r
        raise KeyError(f"no result for device {name!r}")

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Report:
        """A report back from its JSON document (``json.loads(report.to_json())``), for reporters:
        totals, layer rows, device results, quantities with their display metadata, and the marks of
        incomplete values. The graph is not in the document (``graph`` is None), and the uncounted
        parts are listed per node only (``completeness.gaps``), not grouped."""
        if doc.get("schema") != SCHEMA:
            raise ValueError(f"not an {SCHEMA} document (schema {doc.get('schema')!r})")
        row_fields = ("name", "op", "scope", "output_shapes", "nodes", "incomplete")
        layers = [LayerRow(d["name"], d["op"], d.get("scope", ""), d.get("output_shapes", []),
                           {k: v for k, v in d.items() if k not in row_fields}, list(d.get("nodes", [])),
                           dict(d.get("incomplete") or {})) for d in doc["layers"]]  # fmt: skip
        device_fields = ("device", "model", "latency_s", "throughput_per_s", "energy_j", "bound", "fits", "layers", "details")
        hardware = [DeviceResult(**{k: d.get(k) for k in device_fields}) for d in doc.get("hardware", [])]
        c = doc.get("completeness") or {}
        found = Completeness(
            gaps=list(c.get("uncounted", [])), param_share=c.get("param_share", 0.0),
            activation_share=c.get("activation_share", 0.0), hidden_params=c.get("uncounted_params", 0),
            quantities={q: v["bound"] for q, v in (c.get("quantities") or {}).items()},
            layers={row.name: row.incomplete for row in layers if row.incomplete},
            hardware={d["device"]: d["incomplete"] for d in doc.get("hardware", []) if d.get("incomplete")},
        )  # fmt: skip
        found.parts = _parts(found.gaps)
        totals = {k: v for k, v in doc["totals"].items() if v is not None}  # null: the metric was blocked
        return cls(model=doc["model"], totals=totals, layers=layers, hardware=hardware,
                   unsupported=doc.get("unsupported", []), coverage=doc.get("coverage", {}),
                   quantities=doc.get("quantities", {}), options=doc.get("options", {}), details=doc.get("details", {}),
                   warnings=doc.get("warnings", []), completeness=found)  # fmt: skip

    def modules(self, depth: int | None = None) -> list[ModuleRow]:
        """Per-module roll-ups (a tree in depth-first order), down to ``depth``."""
        aggregate = {q: info.get("aggregate", "sum") for q, info in self.quantities.items()}
        modules = rollup(self.layers, aggregate, depth, column=self.layer_column)
        if any(row.incomplete for row in self.layers):
            _mark_modules(modules, self.layers)
        return modules

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v.items) if isinstance(v, Rows) else v for k, v in self._fields()}

    def _fields(
        self, layers: Callable[[], Any] | None = None, modules: Callable[[], Any] | None = None
    ) -> Iterator[tuple[str, Any]]:
        """The document's fields in order; layers and modules as ``Rows`` (made one at a time), or
        what ``layers()`` / ``modules()`` give when asked for (``report_views.json_fields``)."""
        totals = {k: self.totals.get(k) for k in contract()[0]}
        totals.update((k, v) for k, v in self.totals.items() if k not in totals)
        hardware = [r.to_dict() for r in self.hardware]
        for entry in hardware:
            marks = self.completeness.hardware.get(entry["device"])
            if marks:
                entry["incomplete"] = marks
        yield "schema", SCHEMA
        yield "model", self.model
        yield "totals", totals
        yield "layers", layers() if layers else Rows(row.to_dict() for row in self.layers)
        yield "modules", modules() if modules else Rows(m.to_dict() for m in self.modules())
        yield "hardware", hardware
        yield "unsupported", self.unsupported
        yield "coverage", self.coverage
        yield "quantities", self.quantities
        yield "hardware_quantities", {q.name: q.describe("hardware") for q in DEVICE_QUANTITIES}
        yield "options", self.options
        yield "details", self.details
        yield "warnings", self.warnings
        yield "completeness", self.completeness.to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        if indent is None:
            return json.dumps(self.to_dict(), default=json_default)
        return "".join(self.iter_json(indent))

    def iter_json(self, indent: int = 2) -> Iterator[str]:
        """``to_json(indent)`` in pieces, 64 layer rows at most each, never the whole text
        or dict in memory: what ``--format json`` writes (analyzer/core/jsonwriter.py)."""
        if indent == 2:  # the layers and modules written from columns (report_views.json_fields: same text)
            return iter_object(json_fields(self), json_default, indent)
        return iter_object(self._fields(), json_default, indent)


_VALUES = attrgetter("values")


class LayerColumns:
    """Columns of a report's layer rows (``Report.layer_columns``): each read when asked for, so
    that a reader of every column holds one at a time."""

    __slots__ = ("schema", "values")

    def __init__(self, values: tuple[Any, ...], schema: Schema | None):
        self.values = values  # each row's values, in row order
        self.schema = schema  # the stored columns, when the rows are the engine's own, untouched

    def __call__(self, quantity: str, start: int = 0, stop: int | None = None) -> Sequence[Any]:
        """``quantity``'s value for rows ``start:stop`` (None where a row has none): a list, or an
        ``array`` of the stored ints or floats (copied)."""
        if self.schema is not None:
            column = self.schema.columns.get(quantity)
            if column is None:
                return [None] * len(range(len(self.values))[start:stop])
            return column[start:stop]
        return [v.get(quantity) for v in self.values[start:stop]]


def _one_schema(values: tuple[Any, ...]) -> Schema | None:
    """The schema every row's values read from, when row ``i`` reads position ``i`` of its columns
    and the columns hold exactly these rows (the engine's rows, none removed or reordered)."""
    if not values or type(values[0]) is not RowValues:
        return None
    schema = values[0]._schema
    for i, v in enumerate(values):
        if type(v) is not RowValues or v._schema is not schema or v._i != i:
            return None
    return schema if all(len(c) == len(values) for c in schema.ordered) else None


def _parts(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The uncounted parts of a loaded report, grouped as ``completeness.assess`` groups them (framework
    op, kind, reason). A part's share is its largest node's: exact for a part of one node, a lower
    bound for several (the document keeps no union of what they hide)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for g in gaps:
        groups.setdefault((g.get("source_op") or g.get("op", ""), g.get("kind", ""), g.get("reason", "")), []).append(g)
    parts = [{"label": label, "kind": kind, "reason": reason, "count": len(members),
              "layers": sorted({m.get("layer", "") for m in members}), "share": max(m.get("share", 0.0) for m in members)}
             for (label, kind, reason), members in groups.items()]  # fmt: skip
    return sorted(parts, key=lambda p: -p["share"])


def _mark_modules(modules: list[ModuleRow], rows: list[LayerRow]) -> None:
    """A module's value is incomplete where one of its layers' is (bounds joined as in completeness)."""
    by_path = {m.path: m for m in modules}
    for row in rows:
        if not row.incomplete:
            continue
        parts = module_path(row)
        for d in range(1, len(parts) + 1):
            m = by_path.get(".".join(parts[:d]))
            if m is None:
                break
            marks = m.values.setdefault("incomplete", {})
            for q, b in row.incomplete.items():
                marks[q] = b if marks.get(q, b) == b else "unknown"


def json_default(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")
