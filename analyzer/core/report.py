"""The Report: what one analysis found, and its versioned JSON form.

``Report.to_dict()`` is the ``analyzer.report/1`` document described field
by field in docs/report-schema.md and validated by
``analyzer/schemas/report.schema.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzer.core.completeness import Completeness
from analyzer.core.hardware import DeviceResult
from analyzer.core.metric import Number
from analyzer.core.report_views import ReportViews
from analyzer.core.rollup import ModuleRow, module_path, rollup

if TYPE_CHECKING:
    from analyzer.core.graph import Graph

SCHEMA = "analyzer.report/1"
# Totals every report carries (null when the metric computing one is blocked).
CORE_TOTALS = (
    "params", "non_trainable_params", "model_size_bytes", "macs", "flops",
    "total_activations", "peak_activations",
)  # fmt: skip
CORE_LAYER_FIELDS = ("params", "macs", "flops")


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
        d: dict[str, Any] = {"name": self.name, "op": self.op, "scope": self.scope}
        for k in CORE_LAYER_FIELDS:
            d[k] = self.values.get(k)
        d["output_shapes"] = self.output_shapes
        d.update((k, v) for k, v in self.values.items() if k not in d)
        d["nodes"] = self.nodes
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

    @property
    def complete(self) -> bool:
        """True when nothing was left uncounted (docs/completeness.md)."""
        return self.completeness.complete

    def layer(self, name: str) -> LayerRow:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(f"no layer {name!r}")

    def device(self, name: str) -> DeviceResult:
        for r in self.hardware:
            if r.device == name:
                return r
        raise KeyError(f"no result for device {name!r}")

    def modules(self, depth: int | None = None) -> list[ModuleRow]:
        """Per-module roll-ups (a tree in depth-first order), down to ``depth``."""
        aggregate = {q: info.get("aggregate", "sum") for q, info in self.quantities.items()}
        modules = rollup(self.layers, aggregate, depth)
        if any(row.incomplete for row in self.layers):
            _mark_modules(modules, self.layers)
        return modules

    def to_dict(self) -> dict[str, Any]:
        totals = {k: self.totals.get(k) for k in CORE_TOTALS}
        totals.update((k, v) for k, v in self.totals.items() if k not in totals)
        hardware = [r.to_dict() for r in self.hardware]
        for entry in hardware:
            marks = self.completeness.hardware.get(entry["device"])
            if marks:
                entry["incomplete"] = marks
        return {
            "schema": SCHEMA,
            "model": self.model,
            "totals": totals,
            "layers": [row.to_dict() for row in self.layers],
            "modules": [m.to_dict() for m in self.modules()],
            "hardware": hardware,
            "unsupported": self.unsupported,
            "coverage": self.coverage,
            "quantities": self.quantities,
            "options": self.options,
            "details": self.details,
            "warnings": self.warnings,
            "completeness": self.completeness.to_dict(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=json_default)


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
