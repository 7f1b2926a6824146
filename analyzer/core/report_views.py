"""How a Report or a Comparison shows itself in Python: ``repr``, notebook HTML, a DataFrame, JSON.

``Report`` and ``Comparison`` inherit these views (``ReportViews``,
``ComparisonViews``) so that the result classes stay about what was found.
Formatting and the notebook HTML come from the built-in reporters, imported
when first used (core imports no plugin at import time); pandas is optional
(``pip install 'analyzer[dataframe]'``). docs/reports.md shows each view.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from analyzer.core import jsonwriter
from analyzer.core.jsonwriter import Rows
from analyzer.core.rollup import layer_keys, module_tree, shared_keys

if TYPE_CHECKING:
    import pandas

    from analyzer.core.compare import Comparison
    from analyzer.core.report import LayerColumns, LayerRow, Report

# Totals a repr leads with, in this order (each shown only when the report has it).
REPR_TOTALS = (
    "params",
    "macs",
    "flops",
    "model_size_bytes",
    "peak_activations",
    "peak_live_activations",
)
PANDAS_HINT = "pip install 'analyzer[dataframe]'"


def pandas_module() -> Any:
    """pandas, or an ImportError naming the extra that installs it."""
    try:
        import pandas
    except ImportError as e:
        raise ModuleNotFoundError(
            f"to_dataframe() needs pandas, which is not installed; install it with: {PANDAS_HINT}",
            name="pandas",
        ) from e
    return pandas


def _show(report: Report, key: str, value: Any) -> str:
    from analyzer.plugins.reporters.html_values import show

    text = show(value, report.quantities.get(key, {}), readable=True)
    bound = report.completeness.bound(key)
    if bound:
        from analyzer.plugins.reporters.common import marked

        text = marked(text, bound)
    return text


def _label(report: Report, key: str) -> str:
    return str(report.quantities.get(key, {}).get("label") or key)


def _device_line(report: Report) -> list[str]:
    from analyzer.plugins.reporters.html_values import show

    lines = []
    for r in report.hardware:
        fits = "" if r.fits is None else (", fits" if r.fits else ", does not fit")
        energy = "" if r.energy_j is None else f", {show(r.energy_j, {'format': 'joules'})}"
        lines.append(
            f"  {r.device}: {show(r.latency_s, {'format': 'seconds'})}, {r.bound}-bound{energy}{fits}"
        )
    return lines


def report_repr(report: Report) -> str:
    """A few lines: model and framework, the main totals in human units, each device's outcome."""
    m = report.model
    head = f"Report: {m.get('name', 'model')} ({m.get('framework') or 'ir'}), {len(report.layers)} layers"
    totals = [f"{_label(report, k)} {_show(report, k, report.totals[k])}"
              for k in REPR_TOTALS if report.totals.get(k) is not None]  # fmt: skip
    lines = [head]
    if totals:
        lines.append("  " + ", ".join(totals))
    lines += _device_line(report)
    if not report.complete:
        lines.append(
            f"  incomplete: {report.completeness.share:.1%} of the model not counted (marked values are bounds)"
        )
    return "\n".join(lines)


def comparison_repr(comparison: Comparison) -> str:
    """One line per model (its main totals) and which totals disagree."""
    lines = [f"Comparison of {len(comparison.reports)} models:"]
    for label, report in zip(comparison.labels, comparison.reports, strict=True):
        totals = ", ".join(f"{_label(report, k)} {_show(report, k, report.totals[k])}"
                           for k in REPR_TOTALS[:4] if report.totals.get(k) is not None)  # fmt: skip
        devices = "; ".join(line.strip() for line in _device_line(report))
        lines.append(f"  {label}: {totals}" + (f"; {devices}" if devices else ""))
    differ = [r["quantity"] for r in comparison.totals() if not r["equal"]]
    more = f" and {len(differ) - 8} more" if len(differ) > 8 else ""
    lines.append(
        "  totals differ: " + ", ".join(differ[:8]) + more if differ else "  all totals agree"
    )
    return "\n".join(lines)


def report_dataframe(report: Report) -> pandas.DataFrame:
    """One row per layer, in execution order: name, op, scope, output shapes, every quantity,
    then each device's per-layer results as ``DEVICE.FIELD`` columns (as in the CSV format).

    ``df.attrs`` holds the model, the totals and each column's unit.
    """
    pd = pandas_module()
    present = layer_keys(report.layers)
    order = [k for k in report.quantities if k in present] + [
        k for k in present if k not in report.quantities
    ]
    records = []
    for row in report.layers:
        rec: dict[str, Any] = {
            "name": row.name,
            "op": row.op,
            "scope": row.scope,
            "output_shapes": row.output_shapes,
        }
        rec.update((k, row.values.get(k)) for k in order)
        records.append(rec)
    for r in report.hardware:
        by_name = {layer.get("name"): layer for layer in r.layers}
        for rec in records:
            hw = by_name.get(rec["name"], {})
            for field in ("latency_s", "bound", "energy_j"):
                if field in hw:
                    rec[f"{r.device}.{field}"] = hw[field]
    df = pd.DataFrame.from_records(
        records, columns=list(records[0]) if records else ["name", "op", "scope"]
    )
    df.attrs.update(model=report.model, totals=dict(report.totals),
                    units={k: info.get("unit", "") for k, info in report.quantities.items()})  # fmt: skip
    return df


def comparison_dataframe(comparison: Comparison) -> pandas.DataFrame:
    """One row per aligned row and model (long form): ``row``, ``kind`` (layer or segment),
    ``model``, its ``layers`` and ``ops`` there, each compared quantity, ``differs``, ``explanation``."""
    pd = pandas_module()
    records = []
    for i, row in enumerate(comparison.layers()):
        for m, label in enumerate(comparison.labels):
            rec: dict[str, Any] = {"row": i, "kind": row.kind, "model": label,
                                   "layers": ", ".join(row.layers[m]), "ops": ", ".join(row.ops[m])}  # fmt: skip
            rec.update((q, vals[m]) for q, vals in row.values.items())
            rec["differs"] = ", ".join(row.differs)
            rec["explanation"] = row.explanation
            records.append(rec)
    df = pd.DataFrame.from_records(records)
    df.attrs["totals"] = {r["quantity"]: dict(zip(comparison.labels, r["values"], strict=True))
                          for r in comparison.totals()}  # fmt: skip
    return df


# --- the JSON document, written from columns ---------------------------------------
BATCH = 1024  # layer rows turned into columns at a time: memory stays flat on a million layers
INDENT = "  "
_ATTRS = ("name", "op", "scope", "output_shapes")  # row fields (``to_dict`` takes them from the row)


def json_fields(report: Report) -> Iterator[tuple[str, Any]]:
    """The ``analyzer.report/1`` document's fields in order for ``jsonwriter.iter_object`` (at
    indent 2): ``Report._fields()``'s, but the layers and the modules written from columns, as
    JSON text, a batch at a time (``--format json``; same bytes as ``Report.iter_json()``)."""
    read: Any = report.layer_columns()  # every column read through it: the rows checked once
    if len(report.layers) <= BATCH:  # one batch: whole columns, each read once for layers and modules
        read = _Columns(read)
    return report._fields(
        layers=lambda: Rows(_layer_texts(report.layers, read), encoded=True), modules=lambda: _modules(report, read)
    )


class _Columns:
    """Whole columns of a report of one batch of layers, each read once for the layer rows and the
    roll-ups alike."""

    __slots__ = ("read", "values")

    def __init__(self, read: LayerColumns):
        self.read = read
        stored = read.schema  # the engine's rows: every stored column copied at once
        self.values: dict[str, Any] = {} if stored is None else {q: c[:] for q, c in stored.columns.items()}

    def __call__(self, quantity: str) -> list[Any]:
        column = self.values.get(quantity)
        if column is None:
            column = self.values[quantity] = self.read(quantity)
        return column

    def many(self, quantities: Iterable[str]) -> list[Any]:
        """``[self(q) for q in quantities]``, the stored ones at once."""
        columns = list(map(self.values.get, quantities))
        if None in columns:
            columns = list(map(self, quantities))
        return columns


_INCOMPLETE = attrgetter("incomplete")


def _layer_texts(layers: list[LayerRow], read: Any = None) -> Iterable[str]:
    """Each layer row's ``to_dict()`` as ``encode`` writes it in the document, a batch at a time;
    rows of one shape (the same quantities in the same order, marks or not) share one template.
    ``read``: the report's columns (``Report.layer_columns()``: ``read(q, start, stop)``, or whole
    columns only when all rows are one batch)."""
    if read is not None and layers:
        keys = shared_keys(layers)
        if keys is not None and len(set(map(bool, map(_INCOMPLETE, layers)))) == 1:  # one shape: from columns
            names, sources = _plan(layers[0], keys)
            if len(layers) <= BATCH:  # the rows' texts straight from encode_rows, no generator between
                return _column_texts(layers, names, sources, read.many(keys))
            return chain.from_iterable(
                _column_texts(layers[start : start + BATCH], names, sources,
                              [read(k, start, start + BATCH) for k in keys]) for start in range(0, len(layers), BATCH)
            )  # fmt: skip
    return _shape_runs(layers)


def _column_texts(batch: list[LayerRow], names: list[str], sources: list[Any], values: list[Any]) -> Iterator[str]:
    """The texts of rows of one shape: ``sources`` (``_plan``) pick each key's column."""
    columns = [[None] * len(batch) if s is None else values[s] if type(s) is int
               else list(map(attrgetter(s), batch)) for s in sources]  # fmt: skip
    return jsonwriter.encode_rows(names, columns, _json_default, INDENT, 2)


def _shape_runs(layers: list[LayerRow]) -> Iterator[str]:
    """``_layer_texts`` of rows of several shapes (or not the engine's): runs of one shape a batch."""
    plans: dict[tuple[Any, ...], tuple[list[str], list[Any]]] = {}
    for start in range(0, len(layers), BATCH):
        batch = layers[start : start + BATCH]
        shapes = [(tuple(row.values), bool(row.incomplete)) for row in batch]
        i = 0
        while i < len(batch):  # runs of rows of one shape
            j = i + 1
            while j < len(batch) and shapes[j] == shapes[i]:
                j += 1
            plan = plans.get(shapes[i])
            if plan is None:
                plan = plans[shapes[i]] = _plan(batch[i], shapes[i][0])
            yield from _run_texts(batch[i:j], *plan)
            i = j


def _plan(row: LayerRow, keys: tuple[str, ...]) -> tuple[list[str], list[Any]]:
    """The keys of a row's ``to_dict()`` in order, and where each value comes from: a row field
    (its name), the row's values (a position in them), or None (a contract field it lacks)."""
    from analyzer.core.report import _row_head

    marks = ("incomplete",) if row.incomplete else ()
    names = list(dict.fromkeys((*_row_head(), *keys, "nodes", *marks)))  # to_dict()'s order, no dict made
    position = dict(zip(keys, range(len(keys)), strict=True))
    fields = {*_ATTRS, "nodes", *marks}  # taken from the row itself
    return names, [k if k in fields else position.get(k) for k in names]


def _run_texts(rows: list[LayerRow], names: list[str], sources: list[Any]) -> Iterator[str]:
    values = list(zip(*(tuple(row.values.values()) for row in rows), strict=True))  # by quantity
    columns = []
    for source in sources:
        if source is None:
            columns.append([None] * len(rows))
        elif type(source) is int:
            columns.append(values[source])
        else:
            columns.append(list(map(attrgetter(source), rows)))
    return jsonwriter.encode_rows(names, columns, _json_default, INDENT, 2)


def _modules(report: Report, read: Any = None) -> Any:
    """The document's modules: ``Report.modules()``'s rows, written from the roll-up's columns
    where every module has the same quantities (else as the rows' dicts); ``read`` reads a column."""
    if any(map(_INCOMPLETE, report.layers)):  # marks on modules: Report.modules() adds them
        return Rows(m.to_dict() for m in report.modules())
    aggregate = {q: info.get("aggregate", "sum") for q, info in report.quantities.items()}
    tree = module_tree(report.layers, aggregate, None, read or report.layer_columns())
    qs = tree.uniform()
    if qs is None or any(q in ("path", "depth", "layers") for q in qs):
        return Rows(m.to_dict() for m in tree.rows())
    columns = [tree.paths, tree.depths, tree.counts, *(tree.combined[q] for q in qs)]
    ints = {1, 2, *(j for j, q in enumerate(qs, 3) if q in tree.ints)}  # no check of their values' types
    return Rows(jsonwriter.encode_rows(["path", "depth", "layers", *qs], columns, _json_default, INDENT, 2, ints), encoded=True)


def _json_default(value: Any) -> Any:
    from analyzer.core.report import json_default

    return json_default(value)


class ReportViews:
    """``repr``, ``_repr_html_`` (notebooks), ``to_dataframe`` for ``Report`` (``to_json`` is its own)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return report_repr(self)  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        """The HTML report, compact: summary, tables and hardware, no graph view."""
        from analyzer.plugins.reporters.html import render_html

        return render_html(self, compact=True)  # type: ignore[arg-type]

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per layer with every quantity (pandas; ``pip install 'analyzer[dataframe]'``)."""
        return report_dataframe(self)  # type: ignore[arg-type]


class ComparisonViews:
    """``repr``, ``_repr_html_``, ``to_dataframe`` and ``to_json`` for ``Comparison``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return comparison_repr(self)  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        from analyzer.plugins.reporters.html import render_comparison_html

        return render_comparison_html(self, compact=True)  # type: ignore[arg-type]

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per model and aligned layer or segment (pandas; ``pip install 'analyzer[dataframe]'``)."""
        return comparison_dataframe(self)  # type: ignore[arg-type]

    def to_json(self, indent: int | None = 2) -> str:
        """The ``analyzer.comparison/1`` document, as ``--format json`` writes it."""
        from analyzer.core.report import json_default

        return json.dumps(self.to_dict(), indent=indent, default=json_default)  # type: ignore[attr-defined]
