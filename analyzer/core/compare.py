"""Side-by-side comparison of several reports (``python -m analyzer compare``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analyzer.core.report import CORE_TOTALS, Report

SCHEMA = "analyzer.comparison/1"


@dataclass
class Comparison:
    """Reports of several models, with their totals aligned by quantity."""

    reports: list[Report]
    labels: list[str]
    quantities: list[str] = field(default_factory=lambda: list(CORE_TOTALS))

    def totals(self) -> list[dict[str, Any]]:
        """One row per quantity: values per model and whether they all agree."""
        rows = []
        for q in self.quantities:
            values = [r.totals.get(q) for r in self.reports]
            rows.append({"quantity": q, "values": values, "equal": len(set(map(repr, values))) == 1})
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "models": [{"label": lab, **r.model} for lab, r in zip(self.labels, self.reports, strict=True)],
            "totals": self.totals(),
            "reports": [r.to_dict() for r in self.reports],
        }


def compare(
    models: Iterable[Any], *, labels: Sequence[str] | None = None, **analyze_kwargs: Any
) -> Comparison:
    """Analyze each model (a Report is used as is) and compare them."""
    from analyzer.core.engine import analyze

    reports = [m if isinstance(m, Report) else analyze(m, **analyze_kwargs) for m in models]
    names = list(labels) if labels else [f"{r.model['name']} ({r.model['framework']})" for r in reports]
    if len(names) != len(reports):
        raise ValueError("one label per model")
    return Comparison(reports, names)
