"""``--format csv``: one row per layer, every per-layer quantity a column, then a TOTAL row
(quantities with a model total only, such as training memory, are columns filled in that row).

Incomplete values are written with their mark (``≥``, ``≤``, ``~``; docs/completeness.md),
and an incomplete report ends with ``NOT COUNTED`` rows and an ``INCOMPLETE`` row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from analyzer.core.compare import Comparison
from analyzer.core.completeness import MARKS, percent
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import DEVICE_QUANTITIES, Report
from analyzer.core.reporter import Reporter
from analyzer.plugins.reporters import common


def _marked(value: object, bound: str | None) -> object:
    """An incomplete number as text with its mark (``≥724406816``): never a bare number that looks exact."""
    if bound is None or value is None or value == "":
        return value
    return f"{MARKS[bound]}{value}"


def _cell(value: object) -> object:
    if isinstance(value, list):
        return ";".join("x".join(map(str, s)) if isinstance(s, list) else str(s) for s in value)
    return value


class CsvReporter(Reporter):
    name = "csv"
    suffix = ".csv"

    def render_report(
        self, report: Report, *, color: bool = False, width: int | None = None, depth: int | None = None,
        columns: Sequence[str] | None = None, binary_units: bool = False,
    ) -> str:  # fmt: skip
        """Every per-layer value a column (raw numbers: ``binary_units`` changes nothing), or only
        the ``columns`` chosen (quantity or group names) after the row's own fields."""
        if depth is None and report.layers:
            return _layers_csv(report, columns)
        if depth is not None:
            rows = [m.to_dict() for m in report.modules(depth)]
            fixed = ("path", "depth", "layers")
        else:
            rows = [row.to_dict() for row in report.layers]
            for r in rows:
                r.pop("nodes", None)
            fixed = ("name", "op", "scope", "output_shapes")
        marks = [r.pop("incomplete", None) or {} for r in rows]
        if depth is None:  # each device's per-layer results as DEVICE.FIELD columns, as to_dataframe() names them
            _add_device_columns(report, rows, columns)
        # model totals no row carries (training memory, peaks...) get columns too, filled in the TOTAL row
        only_total = [q for q in common.total_quantities(report, columns) if q in report.totals]
        if columns is not None:
            keep = {*fixed, *common.select_columns(report, columns)}
            keep |= {k for r in rows for k in r if "." in k and k.split(".", 1)[1] in keep}  # DEVICE.FIELD
            rows = [{k: v for k, v in r.items() if k in keep} for r in rows]
            named = set(columns)
            only_total = [q for q in only_total if "all" in named or q in named
                          or report.quantities.get(q, {}).get("group") in named]  # fmt: skip
        in_rows = dict.fromkeys(k for r in rows for k in r)
        columns = list(dict.fromkeys([*in_rows, *(q for q in only_total if q not in in_rows)]))
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r, m in zip(rows, marks, strict=True):
            w.writerow({k: _marked(_cell(v), m.get(k)) for k, v in r.items()})
        _total_rows(w, report, columns)
        return buf.getvalue()

    def render_comparison(
        self, comparison: Comparison, *, color: bool = False, width: int | None = None, depth: int | None = None,
        columns: Sequence[str] | None = None, binary_units: bool = False,
    ) -> str:  # fmt: skip
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["quantity", *comparison.labels, "equal", "explanation"])
        for r in comparison.totals():
            q = r["quantity"]
            values = [_marked(v, rep.completeness.bound(q)) for v, rep in zip(r["values"], comparison.reports, strict=True)]
            w.writerow([q, *values, r["equal"], r["explanation"]])
        if depth is not None:
            w.writerows(_module_rows(comparison, depth, common.aligned_quantities(comparison, columns)))
        w.writerows(_hardware_rows(comparison))
        for label, rep in zip(comparison.labels, comparison.reports, strict=True):
            if not rep.complete:
                w.writerow(["INCOMPLETE", f"{label}: {rep.completeness.describe()}"])
        return buf.getvalue()


def _layers_csv(report: Report, columns: Sequence[str] | None) -> str:
    """``render_report`` of the layers, a column at a time: the same text as writing each row's
    ``to_dict()`` (its fields, then DEVICE.FIELD columns) through a DictWriter, without the dicts."""
    layers = report.layers
    devices = [(r.device, {row.get("name"): row for row in r.layers}) for r in report.hardware]
    # each row's columns in order, as to_dict() (less nodes and incomplete) and the device columns
    # give them; rows of one signature (their quantities, their device fields) share one order
    orders: dict[tuple[Any, ...], list[str]] = {}
    for row in layers:
        found = tuple(f for device, by_name in devices for f in DEVICE_FIELDS if f in by_name.get(row.name, {}))
        signature = (tuple(row.values), found)
        if signature not in orders:
            keys = [k for k in row.to_dict() if k not in ("nodes", "incomplete")]
            keys += [f"{device}.{f}" for device, by_name in devices for f in DEVICE_FIELDS if f in by_name.get(row.name, {})]
            orders[signature] = keys
    in_rows = dict.fromkeys(k for keys in orders.values() for k in keys)
    only_total = [q for q in common.total_quantities(report, columns) if q in report.totals]
    if columns is not None:
        keep = {"name", "op", "scope", "output_shapes", *common.select_columns(report, columns)}
        keep |= {k for k in in_rows if "." in k and k.split(".", 1)[1] in keep}  # DEVICE.FIELD
        in_rows = {k: None for k in in_rows if k in keep}
        named = set(columns)
        only_total = [q for q in only_total if "all" in named or q in named
                      or report.quantities.get(q, {}).get("group") in named]  # fmt: skip
    header = list(dict.fromkeys([*in_rows, *(q for q in only_total if q not in in_rows)]))
    marks = [row.incomplete for row in layers] if any(row.incomplete for row in layers) else None
    device_of = {f"{device}.{f}": (by_name, f) for device, by_name in devices for f in DEVICE_FIELDS}
    cells = []
    for k in header:
        if k in _ROW_FIELDS:
            values: list[Any] = [getattr(row, k) for row in layers]
        elif k in device_of:  # a device's result (named like no quantity: it contains a dot)
            by_name, f = device_of[k]
            values = [by_name.get(row.name, {}).get(f) for row in layers]
        elif k in in_rows:
            values = report.layer_column(k)
        else:  # a column only the TOTAL row fills
            values = [""] * len(layers)
        if any(issubclass(t, list) for t in set(map(type, values))):
            values = [_cell(v) for v in values]
        if marks is not None:
            values = [_marked(v, m.get(k)) for v, m in zip(values, marks, strict=True)]
        cells.append(values)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writer.writerows(zip(*cells, strict=True))
    _total_rows(w, report, header)
    return buf.getvalue()


_ROW_FIELDS = ("name", "op", "scope", "output_shapes")


def _total_rows(w: csv.DictWriter, report: Report, columns: list[str]) -> None:
    """The TOTAL row, then for an incomplete report the NOT COUNTED rows and the INCOMPLETE row."""
    c = report.completeness
    totals = {k: _marked(report.totals.get(k, ""), c.bound(k)) for k in columns if k in report.totals}
    w.writerow({columns[0]: "TOTAL", **totals})
    if not c.complete:  # the uncounted parts, and the mark legend, in the first two columns
        for p in c.parts:
            w.writerow({columns[0]: "NOT COUNTED", columns[1]: f"{p['label']} x{p['count']} ({p['reason']}): "
                        f"{percent(p['share'])} of the model"})  # fmt: skip
        w.writerow({columns[0]: "INCOMPLETE", columns[1]: c.describe(limit=len(c.parts))})


DEVICE_FIELDS = ("latency_s", "bound", "energy_j")  # the per-layer hardware results (report.DEVICE_QUANTITIES)


def _add_device_columns(report: Report, rows: list[dict[str, Any]], columns: Sequence[str] | None) -> None:
    """``DEVICE.latency_s``, ``DEVICE.bound``, ``DEVICE.energy_j`` on each layer row, for every device."""
    for result in report.hardware:
        by_name = {r.get("name"): r for r in result.layers}
        for row in rows:
            values = by_name.get(row.get("name"), {})
            for field in DEVICE_FIELDS:
                if field in values:
                    row[f"{result.device}.{field}"] = values[field]


def _module_rows(comparison: Comparison, depth: int, quantities: list[str]) -> list[list[object]]:
    """``MODULE.QUANTITY`` rows (``features.macs``) of the roll-ups down to ``depth``, matched by module
    path; a model without that path has "" (paths differ across frameworks)."""
    per_model = [{m.path: m.to_dict() for m in rep.modules(depth)} for rep in comparison.reports]
    paths = list(dict.fromkeys(path for modules in per_model for path in modules))
    rows = []
    for path in paths:
        for q in quantities:
            values = []
            for modules in per_model:
                d = modules.get(path)
                values.append("" if d is None else _marked(d.get(q), (d.get("incomplete") or {}).get(q)))
            rows.append([f"{path}.{q}", *values, len(set(map(str, values))) == 1, ""])
    return rows


def _hardware_rows(comparison: Comparison) -> list[list[object]]:
    """``DEVICE.FIELD`` rows (``stm32f746.latency_s``) with each model's value, "" where it has none."""
    devices = list(dict.fromkeys(r.device for rep in comparison.reports for r in rep.hardware))
    rows = []
    for device in devices:
        for field in (q.name for q in DEVICE_QUANTITIES):
            values = []
            for rep in comparison.reports:
                result = next((r for r in rep.hardware if r.device == device), None)
                bound = rep.completeness.hardware.get(device, {}).get(field)
                values.append("" if result is None else _marked(getattr(result, field), bound))
            rows.append([f"{device}.{field}", *values, len(set(map(str, values))) == 1, ""])
    return rows


@hookimpl
def analyzer_register_reporters(register):
    register(CsvReporter())
