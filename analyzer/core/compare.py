"""Side-by-side comparison of several reports, aligned layer by layer.

Layers are aligned on *anchors*, the layers holding weights or doing MACs,
matched by their (MACs, params) signature with difflib's sequence matcher
(the reference is the first model); unmatched anchors in a changed region
are paired in order, so a layer that differs is still shown beside its
counterpart. The layers between two anchors (activations, pooling, views,
residual adds...) form a *segment* whose numbers are compared as a whole,
so one framework may decompose or fuse them differently without the rows
falling out of step. Every row that differs says why, from what differs:
a missing layer, a bias, other ops, other layer boundaries.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analyzer.core.metric import Aggregation
from analyzer.core.report import LayerRow, Report, quantity_info
from analyzer.core.report_views import ComparisonViews
from analyzer.core.rollup import aggregations, combine

SCHEMA = "analyzer.comparison/1"


@dataclass
class AlignedRow:
    """One row of the aligned comparison: an anchor layer, or the segment of layers after one.

    ``layers[i]`` lists model i's layer names in the row (empty when the model
    has none there); ``ops[i]`` the canonical ops of their nodes.
    """

    kind: str  # "layer" or "segment"
    layers: list[list[str]]
    ops: list[list[str]]
    values: dict[str, list[Any]]
    differs: list[str] = field(default_factory=list)
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "layers": self.layers, "ops": self.ops, "values": self.values,
                "differs": self.differs, "explanation": self.explanation}  # fmt: skip


def _is_anchor(row: LayerRow) -> bool:
    v = row.values
    return bool(v.get("macs") or v.get("params") or v.get("non_trainable_params"))


def _signature(row: LayerRow) -> tuple[int, int, int]:
    v = row.values
    return int(v.get("macs") or 0), int(v.get("params") or 0), int(v.get("non_trainable_params") or 0)


def _node_ops(report: Report, rows: list[LayerRow]) -> list[str]:
    g = report.graph
    if g is None:
        return [r.op for r in rows]
    return [g.node(n).op for r in rows for n in r.nodes if n in g]


def _align_to_reference(ref: list[tuple], other: list[tuple]) -> list[tuple[int | None, int | None]]:
    """Pairs (ref index, other index) in order; None where one side has no counterpart."""
    pairs: list[tuple[int | None, int | None]] = []
    sm = difflib.SequenceMatcher(a=ref, b=other, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            pairs += [(i1 + k, j1 + k) for k in range(i2 - i1)]
            continue
        n = max(i2 - i1, j2 - j1)
        for k in range(n):  # changed region: pair in order, leftovers unmatched
            pairs.append((i1 + k if i1 + k < i2 else None, j1 + k if j1 + k < j2 else None))
    return pairs


class Comparison(ComparisonViews):
    """Reports of several models: totals side by side and layers aligned across them."""

    def __init__(self, reports: list[Report], labels: list[str]):
        if len(reports) != len(labels):
            raise ValueError("one label per report")
        self.reports = reports
        self.labels = labels
        self._rows: list[AlignedRow] | None = None
        self._how: list[dict[str, Aggregation]] | None = None
        self._quantities: dict[str, dict[str, Any]] | None = None

    # --- quantities ---------------------------------------------------------
    def quantities(self) -> dict[str, dict[str, Any]]:
        """Every quantity any report declares (first report's order, then the others' new ones),
        with its metadata; what the totals and the aligned rows compare."""
        if self._quantities is None:
            merged: dict[str, dict[str, Any]] = {}
            for r in self.reports:
                for q in r.quantities:
                    merged.setdefault(q, quantity_info(r.quantities, q))
            self._quantities = merged
        return self._quantities

    def row_quantities(self) -> list[str]:
        """Per-layer quantities that have a group value (``aggregate`` not ``none``): the aligned rows' values."""
        return [q for q, info in self.quantities().items() if info.get("per_layer", True) and info.get("aggregate") != "none"]

    # --- totals -----------------------------------------------------------
    def totals(self) -> list[dict[str, Any]]:
        """One row per quantity with a total in some report: values per model, whether all agree,
        the relative spread and why not."""
        rows = []
        names = [q for q in self.quantities() if any(q in r.totals for r in self.reports)]
        names += [q for r in self.reports for q in r.totals if q not in self.quantities()]
        for q in dict.fromkeys(names):
            values = [r.totals.get(q) for r in self.reports]
            equal = len({repr(v) for v in values}) == 1
            nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            spread = (max(nums) / min(nums) - 1) if nums and min(nums) > 0 else (0.0 if equal else None)
            rows.append({"quantity": q, "values": values, "equal": equal, "spread": spread,
                         "explanation": "" if equal else self._explain_total(q)})  # fmt: skip
        return rows

    def _explain_total(self, quantity: str) -> str:
        """The explanations of the aligned rows where the quantity itself, or a per-layer quantity
        of its group (a peak's layer terms, a size's parameters), differs."""
        infos = self.quantities()
        group = infos.get(quantity, {}).get("group")
        related = {quantity} | {q for q, info in infos.items() if group and info.get("group") == group}
        causes = [r.explanation for r in self.layers() if related & set(r.differs)]
        if not causes:
            return "no single layer differs: the difference comes from where layers meet (peaks) or from inputs"
        common = Counter(causes).most_common(3)
        return "; ".join(f"{c}" + (f" (x{n})" if n > 1 else "") for c, n in common) + (
            f"; and {len(causes) - sum(n for _, n in common)} more rows" if len(causes) > sum(n for _, n in common) else ""
        )

    # --- layers -----------------------------------------------------------
    def layers(self) -> list[AlignedRow]:
        """Aligned rows: anchors and the segments between them (computed once)."""
        if self._rows is None:
            self._rows = self._align()
        return self._rows

    def _align(self) -> list[AlignedRow]:
        n = len(self.reports)
        anchors = [[i for i, row in enumerate(r.layers) if _is_anchor(row)] for r in self.reports]
        sigs = [[_signature(r.layers[i]) for i in a] for r, a in zip(self.reports, anchors, strict=True)]
        # rows of anchor positions: per model, an index into anchors[m] or None
        grid: list[list[int | None]] = [[k] + [None] * (n - 1) for k in range(len(anchors[0]))]
        for m in range(1, n):
            ref_row = {row[0]: r for r, row in enumerate(grid) if row[0] is not None}
            inserts: dict[int, list[list[int | None]]] = {}
            last = -1
            for ref_i, other_i in _align_to_reference(sigs[0], sigs[m]):
                if ref_i is not None:
                    last = ref_row[ref_i]
                    grid[last][m] = other_i
                else:  # an anchor only this model has: a row of its own after the last matched one
                    extra: list[int | None] = [None] * n
                    extra[m] = other_i
                    inserts.setdefault(last, []).append(extra)
            grid = inserts.get(-1, []) + [x for r, row in enumerate(grid) for x in (row, *inserts.get(r, []))]
        return self._rows_from_grid(grid, anchors)

    def _rows_from_grid(self, grid: list[list[int | None]], anchors: list[list[int]]) -> list[AlignedRow]:
        n = len(self.reports)
        # each layer belongs to the row of its anchor, or to the segment after the last anchor row before it
        segments: dict[int, list[list[int]]] = {}
        row_of_anchor = [{anchors[m][k]: r for r, row in enumerate(grid) if (k := row[m]) is not None} for m in range(n)]
        for m, report in enumerate(self.reports):
            current = -1
            for i in range(len(report.layers)):
                if i in row_of_anchor[m]:
                    current = row_of_anchor[m][i]
                else:
                    segments.setdefault(current, [[] for _ in range(n)])[m].append(i)
        rows: list[AlignedRow] = []
        if -1 in segments:
            rows.append(self._make_row("segment", segments[-1]))
        for r, row in enumerate(grid):
            members = [[anchors[m][k]] if (k := row[m]) is not None else [] for m in range(n)]
            rows.append(self._make_row("layer", members))
            if r in segments:
                rows.append(self._make_row("segment", segments[r]))
        return rows

    def _make_row(self, kind: str, members: list[list[int]]) -> AlignedRow:
        layer_rows = [[rep.layers[i] for i in idx] for rep, idx in zip(self.reports, members, strict=True)]
        # each quantity combines as its Quantity.aggregate declares (sums; io_activations a maximum)
        combined = [combine((r.values for r in rows), agg) for rows, agg in zip(layer_rows, self._aggregations(), strict=True)]
        compared = self.row_quantities()
        values: dict[str, list[Any]] = {q: [c.get(q) or 0 for c in combined] for q in compared}
        values["output_shapes"] = [rows[-1].output_shapes if rows else None for rows in layer_rows]
        row = AlignedRow(
            kind=kind,
            layers=[[r.name for r in rows] for rows in layer_rows],
            ops=[_node_ops(rep, rows) for rep, rows in zip(self.reports, layer_rows, strict=True)],
            values=values,
        )
        row.differs = [q for q in compared if len(set(values[q])) > 1]
        row.explanation = self._explain_row(row, layer_rows) if row.differs else ""
        return row

    def _aggregations(self) -> list[dict[str, Aggregation]]:
        if self._how is None:
            self._how = [aggregations(r.quantities) for r in self.reports]
        return self._how

    def _explain_row(self, row: AlignedRow, layer_rows: list[list[LayerRow]]) -> str:
        labels = self.labels
        missing = [labels[m] for m, rows in enumerate(layer_rows) if not rows]
        present = [labels[m] for m, rows in enumerate(layer_rows) if rows]
        if row.kind == "layer" and missing:
            ops = next(o for o in row.ops if o)
            return f"only in {', '.join(present)}: {'/'.join(sorted(set(ops)))} layer"
        d = set(row.differs)
        parts = []
        if "macs" in d:
            parts.append("different contraction (MACs " + " vs ".join(f"{v:,}" for v in row.values["macs"]) + ")")
        elif {"params", "mac_flops"} & d and self._bias_counts(layer_rows):
            with_bias = [labels[m] for m, b in enumerate(self._bias_counts(layer_rows)) if b]
            parts.append(f"bias in {', '.join(with_bias)} only")
        elif {"params", "non_trainable_params"} & d:
            parts.append("parameters differ: " + " vs ".join(f"{v:,}" for v in row.values["params"]))
        if "other_flops" in d:
            parts.append(self._op_difference(row) or "same ops, different FLOP counts (shapes differ)")
        out_sizes = {sum(math.prod(s) for s in (shapes or [])) for shapes in row.values["output_shapes"]}
        if {"activations", "io_activations"} & d and len(out_sizes) > 1:
            parts.append("different output sizes")
        elif {"activations", "io_activations"} & d:
            counts = [len(rows) for rows in layer_rows]
            if len(set(counts)) > 1:
                parts.append("layer boundaries differ: " + ", ".join(f"{lab} {c} layer(s)" for lab, c in zip(labels, counts, strict=True))
                             + " (tensors one framework fuses inside a layer, another materialises)")  # fmt: skip
            else:
                parts.append("activation storage differs (in-place or view handling of "
                             + ", ".join(sorted({r.op for rows in layer_rows for r in rows})) + ")")  # fmt: skip
        if not parts:  # only quantities the explanations above do not know (a plugin's): name them
            parts.append(", ".join(row.differs) + " differ")
        return "; ".join(dict.fromkeys(parts))

    def _op_difference(self, row: AlignedRow) -> str:
        bags = [Counter(ops) for ops in row.ops]
        common = bags[0].copy()
        for b in bags[1:]:
            common &= b
        extra = [b - common for b in bags]
        if not any(extra):
            return ""
        shown = [f"{lab}: {', '.join(sorted(e))}" for lab, e in zip(self.labels, extra, strict=True) if e]
        return "ops differ (" + "; ".join(shown) + ")"

    def _bias_counts(self, layer_rows: list[list[LayerRow]]) -> list[int] | None:
        counts = []
        for rep, rows in zip(self.reports, layer_rows, strict=True):
            g = rep.graph
            if g is None:
                return None
            names = {t for r in rows for n in r.nodes if n in g for t in g.node(n).inputs}
            counts.append(sum(1 for t in names if t in g.params and g.params[t].role == "bias"))
        return counts if len(set(counts)) > 1 else None

    # --- output -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "models": [{"label": lab, **r.model} for lab, r in zip(self.labels, self.reports, strict=True)],
            "totals": self.totals(),
            "layers": [row.to_dict() for row in self.layers()],
            "reports": [r.to_dict() for r in self.reports],
        }


def compare(
    models: Iterable[Any], *, labels: Sequence[str] | None = None, **analyze_kwargs: Any
) -> Comparison:
    """Analyze each model (a Report is used as is) and compare them."""
    from analyzer.core.engine import analyze

    reports = [m if isinstance(m, Report) else analyze(m, **analyze_kwargs) for m in models]
    names = list(labels) if labels else [f"{r.model['name']} ({r.model['framework']})" for r in reports]
    return Comparison(reports, names)
