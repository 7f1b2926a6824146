"""``--format json``: the versioned report document (docs/report-schema.md).

The document is ``Report.iter_json()``'s text, byte for byte (tested), but
its two long lists are written from columns: the layer rows a batch at a
time (each row's values read once, the batch turned into columns, then one
%-template a row: ``jsonwriter.encode_rows``) and the module roll-ups
straight from the roll-up's columns (``rollup.module_tree``), without a
dict per row (bench/render.py, docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter
from typing import Any

from analyzer.core import jsonwriter
from analyzer.core.compare import Comparison
from analyzer.core.hookspecs import hookimpl
from analyzer.core.jsonwriter import Rows
from analyzer.core.report import DEVICE_QUANTITIES, SCHEMA, LayerRow, Report, contract, json_default
from analyzer.core.reporter import Reporter
from analyzer.core.rollup import module_tree

BATCH = 1024  # layer rows turned into columns at a time: memory stays flat on a million layers
INDENT = "  "
_ATTRS = ("name", "op", "scope", "output_shapes")  # row fields (``to_dict`` takes them from the row)


class JsonReporter(Reporter):
    name = "json"
    suffix = ".json"

    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None,
        **view: object,
    ) -> str:  # fmt: skip
        """The whole document: every quantity with its metadata (``columns``, ``binary_units`` change nothing)."""
        return "".join(self.iter_report(report))

    def iter_report(self, report: Report, **options: object) -> Iterator[str]:
        """The document of ``render_report`` in pieces (``Report.iter_json``'s), for large graphs."""
        yield from jsonwriter.iter_object(_fields(report), json_default, len(INDENT))
        yield "\n"

    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None,
        **view: object,
    ) -> str:  # fmt: skip
        """The whole document; ``depth`` changes nothing, each report already holds its full module tree."""
        return jsonwriter.dumps(comparison.to_dict(), json_default) + "\n"  # json.dumps(indent=2)'s text


def _fields(report: Report) -> Iterator[tuple[str, Any]]:
    """The fields of ``Report._fields()``, with the layers and the modules written from columns
    (not taken from it: its modules field computes the roll-ups as the field is reached)."""
    totals = {k: report.totals.get(k) for k in contract()[0]}
    totals.update((k, v) for k, v in report.totals.items() if k not in totals)
    hardware = [r.to_dict() for r in report.hardware]
    for entry in hardware:
        marks = report.completeness.hardware.get(entry["device"])
        if marks:
            entry["incomplete"] = marks
    yield "schema", SCHEMA
    yield "model", report.model
    yield "totals", totals
    yield "layers", Rows(_layer_texts(report.layers), encoded=True)
    yield "modules", _modules(report)
    yield "hardware", hardware
    yield "unsupported", report.unsupported
    yield "coverage", report.coverage
    yield "quantities", report.quantities
    yield "hardware_quantities", {q.name: q.describe("hardware") for q in DEVICE_QUANTITIES}
    yield "options", report.options
    yield "details", report.details
    yield "warnings", report.warnings
    yield "completeness", report.completeness.to_dict()


def _layer_texts(layers: list[LayerRow]) -> Iterator[str]:
    """Each layer row's ``to_dict()`` as ``encode`` writes it in the document, a batch at a time;
    rows of one shape (the same quantities in the same order, marks or not) share one template."""
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
    names = list(row.to_dict())
    position = {k: i for i, k in enumerate(keys)}
    sources: list[Any] = []
    for k in names:
        if k in _ATTRS or k == "nodes" or (k == "incomplete" and row.incomplete):
            sources.append(k)
        else:
            sources.append(position.get(k))
    return names, sources


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
    return jsonwriter.encode_rows(names, columns, json_default, INDENT, 2)


def _modules(report: Report) -> Any:
    """The document's modules: ``Report.modules()``'s rows, written from the roll-up's columns
    where every module has the same quantities (else as the rows' dicts)."""
    if any(row.incomplete for row in report.layers):  # marks on modules: Report.modules() adds them
        return Rows(m.to_dict() for m in report.modules())
    aggregate = {q: info.get("aggregate", "sum") for q, info in report.quantities.items()}
    tree = module_tree(report.layers, aggregate, None, report.layer_column)
    qs = tree.uniform()
    if qs is None or any(q in ("path", "depth", "layers") for q in qs):
        return Rows(m.to_dict() for m in tree.rows())
    columns = [tree.paths, tree.depths, tree.counts, *(tree.combined[q] for q in qs)]
    return Rows(jsonwriter.encode_rows(["path", "depth", "layers", *qs], columns, json_default, INDENT, 2), encoded=True)


@hookimpl
def analyzer_register_reporters(register):
    register(JsonReporter())
