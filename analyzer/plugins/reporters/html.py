"""``--format html``: one self-contained page (no network, no CDN) for a report or a comparison.

The page holds a summary (model, totals with their conventions, completeness
marks, warnings, options), an interactive graph view of the layers coloured
by a chosen metric, the per-layer table (sortable, filterable, column groups
switchable), the module tree with roll-ups, hardware results per device and,
when given, plots. Tables are rendered here, so the numbers read without
JavaScript; the script in ``html_assets/report.js`` only sorts, filters,
folds and draws the graph from a JSON blob in the page. Columns follow
``report.quantities`` and each quantity's display metadata (label, format,
group; docs/plugins.md). docs/reports.md describes the page.

``render_html(report, plots=[Plot(...)])`` embeds plots (SVG text or PNG
bytes) inline; ``compact=True`` is the notebook form (``Report._repr_html_``).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from analyzer.core.compare import Comparison
from analyzer.core.completeness import MARKS
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import Report
from analyzer.core.reporter import Reporter
from analyzer.plugins.reporters import common
from analyzer.plugins.reporters.html_graph import MAX_NODES, graph_view

ASSETS = "html_assets"
# without JavaScript, rows on later pages and in folded modules are shown
NOSCRIPT = "<noscript><style>.az-report tr.az-hidden{display:table-row}</style></noscript>"
PAGE_ROWS = 500  # layer-table rows shown at a time (a page of a large model's table)
MAX_TABLE_ROWS = 20_000  # beyond, a browser struggles with the page; CSV and JSON hold every layer
COMPACT_ROWS = 2_000  # a notebook cell's output stays small
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True, slots=True)
class Plot:
    """A figure to embed: SVG markup (``kind="svg"``) or PNG bytes (``kind="png"``)."""

    title: str
    content: str | bytes
    kind: str = "svg"
    caption: str = ""


def plot_html(plot: Plot) -> str:
    """One ``<figure>``: SVG inlined as markup (its XML declaration dropped), PNG as a data: URI."""
    if plot.kind == "svg":
        svg = plot.content.decode() if isinstance(plot.content, bytes) else plot.content
        body = svg[svg.find("<svg") :] if "<svg" in svg else html.escape(svg)
    elif plot.kind == "png":
        data = plot.content if isinstance(plot.content, bytes) else plot.content.encode("latin-1")
        body = f'<img alt="{_e(plot.title)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
    else:
        raise ValueError(f"plot {plot.title!r}: kind must be svg or png, not {plot.kind!r}")
    caption = f"<figcaption>{_e(plot.title)}{': ' + _e(plot.caption) if plot.caption else ''}</figcaption>"
    return f'<figure class="az-plot">{body}{caption}</figure>'


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _asset(name: str) -> str:
    return (
        resources.files("analyzer.plugins.reporters")
        .joinpath(ASSETS, name)
        .read_text(encoding="utf-8")
    )


def _json_script(data: Any) -> str:
    """JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` can end the element."""
    text = json.dumps(data, separators=(",", ":"), default=str, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" class="az-data">{text}</script>'


# --- values ------------------------------------------------------------------
def _number(v: Any) -> bool:
    return (
        type(v) is int
        or type(v) is float
        or (isinstance(v, int | float) and not isinstance(v, bool))
    )


def _finite(v: Any) -> Any:
    return v if not isinstance(v, float) or math.isfinite(v) else None


def _scaled(value: float, unit: str, steps: Sequence[tuple[float, str]]) -> str:
    for scale, prefix in steps:
        if abs(value) >= scale:
            return f"{common.plain(value / scale)} {prefix}{unit}"
    return f"{common.plain(value / steps[-1][0])} {steps[-1][1]}{unit}"


_SMALL = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))
_bytes = functools.lru_cache(maxsize=4096)(common.human_bytes)  # repeated blocks repeat their sizes


def _exact(v: Any) -> str:
    return f"{v:,}" if type(v) is int else common.fmt(v)


@functools.cache
def _formatter(how: str, digits: int, readable: bool) -> Callable[[Any], str]:
    if how == "bytes":
        return _bytes
    if how in ("float", "ratio"):
        return lambda v: common.plain(v, digits)
    if how == "seconds":
        return lambda v: _scaled(v, "s", _SMALL) if v else "0 s"
    if how == "joules":
        return lambda v: _scaled(v, "J", _SMALL) if v else "0 J"
    if how == "rate":
        return lambda v: f"{common.plain(v)}/s"
    return common.human if readable and how == "count" else _exact


def formatter(info: dict[str, Any] | None = None, readable: bool = False) -> Callable[[Any], str]:
    """The function that renders a number of this quantity (``show`` without the per-value dispatch)."""
    info = info or {}
    how = info.get("format") or ("bytes" if info.get("unit") in ("byte", "bytes", "B") else "count")
    return _formatter(str(how), int(info.get("digits", 4)), readable)


def show(value: Any, info: dict[str, Any] | None = None, readable: bool = False) -> str:
    """A value as a reader wants it, by its quantity's ``format`` (default: by unit).

    Counts are exact (``4,089,184,256``), or with an SI prefix when ``readable`` (``4.1G``);
    bytes as kB/MB/GB; seconds and joules with m/µ/n prefixes; non-numbers as the text formats do.
    """
    if not _number(value):
        return common.fmt(value)
    return formatter(info, readable)(value)


def _cell(v: Any, fmt: Callable[[Any], str], mark: str | None) -> str:
    """A numeric table cell, formatted (numbers need no escaping); the raw value in ``data-v`` for
    sorting unless the text reads back as it (exact integers: the script drops the separators)."""
    t = type(v)
    if t is int and fmt is _exact and not mark:
        return f"<td>{v:,}</td>"
    if t is int or (t is float and math.isfinite(v)):
        text = fmt(v)
        return f'<td data-v="{v}">{common.marked(text, mark) if mark else text}</td>'
    if v is None:
        return "<td>-</td>"
    text = common.fmt(v) if not _number(v) else fmt(v)
    return f"<td>{_e(common.marked(text, mark) if mark else text)}</td>"


def _label(q: str, info: dict[str, Any]) -> str:
    return str(info.get("label") or q)


def _group(info: dict[str, Any]) -> str:
    return str(info.get("group") or info.get("metric") or "other")


# --- page pieces ---------------------------------------------------------------
def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", numeric_from: int = 1
) -> str:
    """A plain table from already-escaped cells."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            (f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>")
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _totals(report: Report) -> str:
    q = report.quantities
    keys = [k for k in common.TOTAL_ROWS if k in report.totals] + [
        k for k in report.totals if k not in common.TOTAL_ROWS
    ]
    rows = []
    for k in keys:
        v = report.totals[k]
        if v is None:
            continue
        info = q.get(k, {})
        b = report.completeness.bound(k)
        title = _e(f"{k}: {info.get('convention', '')}")
        rows.append(
            f'<tr data-q="{_e(k)}"><td title="{title}">{_e(_label(k, info))}</td>'
            f'<td class="num az-value">{_e(common.marked(common.fmt(v), b))}</td>'
            f'<td class="num az-human">{_e(common.marked(show(v, info, readable=True), b) if _number(v) else "")}</td>'
            f'<td>{_e(info.get("unit", ""))}</td><td class="az-conv">{_e(info.get("convention", ""))}</td></tr>'
        )
    head = (
        "<tr><th>quantity</th><th>value</th><th>readable</th><th>unit</th><th>convention</th></tr>"
    )
    return f'<table class="az-totals"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _completeness(report: Report) -> str:
    if report.completeness.complete:
        return '<p class="az-ok">Complete: every op was counted.</p>'
    cells = [[_e(c) for c in row] for row in common.uncounted_cells(report)]
    return (f'<p class="az-warn">{_e(common.completeness_line(report))}</p>'
            + _table(common.UNCOUNTED_HEADERS, cells, "az-plain", numeric_from=3))  # fmt: skip


def _summary(report: Report) -> str:
    parts = [
        f'<p class="az-model">{_e(common.model_line(report))}</p>',
        _totals(report),
        _completeness(report),
    ]
    if report.warnings:
        parts.append('<ul class="az-warnings">' + "".join(
            f"<li>warning: {_e(common.one_line(w))}</li>" for w in report.warnings) + "</ul>")  # fmt: skip
    if report.options:
        opts = "".join(
            f"<dt>{_e(k)}</dt><dd>{_e(json.dumps(v, default=str))}</dd>"
            for k, v in report.options.items()
        )
        parts.append(
            f'<details class="az-options"><summary>Options of this run</summary><dl>{opts}</dl></details>'
        )
    conv = [[_e(k), _e(_label(k, i)), _e(i.get("unit", "")), _e(i.get("aggregate", "")), _e(_group(i)),
             _e(i.get("convention", ""))] for k, i in report.quantities.items()]  # fmt: skip
    parts.append('<details class="az-conventions"><summary>Conventions of every quantity</summary>'
                 + _table(["key", "label", "unit", "aggregate", "group", "convention"], conv, "az-plain", 9) + "</details>")  # fmt: skip
    return "".join(parts)


@dataclass(slots=True)
class _Column:
    key: str
    label: str
    group: str
    title: str
    info: dict[str, Any]
    values: list[Any]
    shown: bool = True


def _layer_columns(report: Report) -> list[_Column]:
    rows = report.layers
    present: dict[str, None] = {}
    for row in rows:
        present.update(dict.fromkeys(row.values))
    q = report.quantities
    order = [k for k in q if k in present] + [k for k in present if k not in q]
    cols = []
    for k in order:
        info = q.get(k, {})
        title = f"{k} ({info.get('unit', '')}): {info.get('convention', '')}" if info else k
        cols.append(_Column(k, _label(k, info), _group(info), title, info, [row.values.get(k) for row in rows],
                            shown=info.get("display", "column") != "hidden"))  # fmt: skip
    for r in report.hardware:
        by_name = {layer.get("name"): layer for layer in r.layers}
        lat = [by_name.get(row.name, {}).get("latency_s") for row in rows]
        bound = [by_name.get(row.name, {}).get("bound") for row in rows]
        cols.append(_Column(f"latency_s@{r.device}", f"latency @ {r.device}", "hardware",
                            f"predicted latency on {r.device} (roofline)", {"format": "seconds"}, lat))  # fmt: skip
        cols.append(_Column(f"bound@{r.device}", f"bound @ {r.device}", "hardware",
                            f"compute- or memory-bound on {r.device}", {"format": "text"}, bound))  # fmt: skip
    return cols


def _layers_table(
    report: Report, cols: list[_Column], max_rows: int = MAX_TABLE_ROWS, page_rows: int = PAGE_ROWS
) -> str:
    """The per-layer table; columns carry their group (``data-g``), which the script hides by
    position, so cells need no attributes (a 10k-layer table stays a few MB). Rows beyond the
    first page start hidden (shown without JavaScript): the browser lays out one page."""
    groups = list(dict.fromkeys(c.group for c in cols))
    gid = {g: i for i, g in enumerate(groups)}
    head = "<th>#</th><th>layer</th><th>op</th><th>output</th>" + "".join(
        f'<th data-g="{gid[c.group]}" title="{_e(c.title)}">{_e(c.label)}</th>' for c in cols
    )
    body = []
    fmts = [(c.key, c.values, formatter(c.info)) for c in cols]
    rows = report.layers[:max_rows]
    for i, row in enumerate(rows):
        marks = row.incomplete
        cells = [
            f"<td>{i}</td><td>{_e(row.name)}</td><td>{_e(row.op)}</td><td>{_e(common.fmt(row.output_shapes))}</td>"
        ]
        if marks:
            cells += [_cell(values[i], fmt, marks.get(key)) for key, values, fmt in fmts]
        else:
            cells += [_cell(values[i], fmt, None) for _, values, fmt in fmts]
        search = f"{row.name} {row.op} {row.scope}".lower()
        hidden = ' class="az-hidden"' if i >= page_rows else ""
        body.append(f'<tr data-i="{i}" data-search="{_e(search)}"{hidden}>{"".join(cells)}</tr>')
    toggles = "".join(
        f'<label><input type="checkbox" class="az-group" value="{gid[g]}" '
        f"{'checked' if any(c.shown for c in cols if c.group == g) else ''}> {_e(g)}</label>"
        for g in groups
    )
    n = len(rows)
    pager = ""
    if n > page_rows:
        pager = ('<span class="az-pager"><button class="az-prev" aria-label="previous rows">‹</button>'
                 '<button class="az-next" aria-label="next rows">›</button></span>')  # fmt: skip
    cut = ""
    if len(report.layers) > n:
        cut = (f'<p class="az-notice">The table shows the first {n:,} of {len(report.layers):,} layers; '
               "--format csv or json (in Python: to_dataframe()) has them all.</p>")  # fmt: skip
    return (
        f'{cut}<div class="az-controls"><input type="search" class="az-filter" placeholder="filter by layer, op or scope" '
        f'aria-label="filter layers"> <span class="az-count">{n} of {n} layers</span>{pager}</div>'
        f'<div class="az-controls az-groups">columns: {toggles}</div>'
        f'<div class="az-scroll"><table class="az-layers az-sortable" data-page="{page_rows}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _modules_table(report: Report, depth: int | None) -> str:
    modules = report.modules()
    q = report.quantities
    present: dict[str, None] = {}
    for m in modules:
        present.update((k, None) for k, v in m.values.items() if _number(v))
    keys = [k for k in q if k in present and q[k].get("display", "column") != "hidden"]
    keys += [k for k in present if k not in q]
    head = "<th>module</th><th>layers</th>" + "".join(
        f'<th title="{_e(q.get(k, {}).get("convention", k))}">{_e(_label(k, q.get(k, {})))}</th>'
        for k in keys
    )
    paths = [m.path for m in modules]
    fmts = [(k, formatter(q.get(k, {}))) for k in keys]
    open_depth = 1 if depth is None else depth
    body = []
    for n, m in enumerate(modules):
        has_children = (
            n + 1 < len(modules)
            and modules[n + 1].depth > m.depth
            and paths[n + 1].startswith(m.path + ".")
        )
        marks = m.values.get("incomplete") or {}
        toggle = (
            '<button class="az-fold" aria-label="fold">▾</button>'
            if has_children
            else '<span class="az-leaf"></span>'
        )
        name = m.path.rsplit(".", 1)[-1] if m.depth > 1 else m.path
        cells = [f'<td class="az-tree" style="padding-left:{(m.depth - 1) * 1.2 + 0.3:.1f}em">{toggle}'
                 f'<span title="{_e(m.path)}">{_e(name)}</span></td>', f"<td>{m.layers}</td>"]  # fmt: skip
        cells += [_cell(m.values.get(k), fmt, marks.get(k)) for k, fmt in fmts]
        # folded below open_depth in the page itself (shown whole without JavaScript)
        state = " ".join(c for c, on in (("az-folded", has_children and m.depth >= open_depth),
                                         ("az-hidden", m.depth > open_depth)) if on)  # fmt: skip
        cls = f' class="{state}"' if state else ""
        body.append(
            f'<tr data-depth="{m.depth}" data-path="{_e(m.path)}"{cls}>{"".join(cells)}</tr>'
        )
    return (f'<div class="az-scroll"><table class="az-modules" data-open="{open_depth}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')  # fmt: skip


def _hardware(report: Report) -> str:
    if not report.hardware:
        return "<p>No device was given (<code>--device NAME</code>).</p>"
    cells = [[_e(c) for c in row] for row in common.hardware_cells(report)]
    notes = "".join(f"<li>{_e(line)}</li>" for line in common.hardware_notes(report))
    conventions = "".join(f"<li>{_e(r.device)}: {_e(r.details.get('latency_convention', ''))} "
                          f"({_e(r.details.get('model', ''))})</li>" for r in report.hardware)  # fmt: skip
    return (_table(common.HARDWARE_HEADERS, cells, "az-plain az-hardware")
            + f'<ul class="az-notes">{notes}{conventions}</ul>')  # fmt: skip


# --- graph view ----------------------------------------------------------------
def colour_metrics(report: Report) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """The graph's colour choices (key, label, unit, kind, group) and their values per layer.

    First the suggested ones (MACs, latency and bound per device, activation
    bytes read + written), then every other numeric per-layer quantity.
    """
    rows = report.layers
    q = report.quantities
    metrics: list[dict[str, Any]] = []
    values: dict[str, list[Any]] = {}

    def add(
        key: str,
        label: str,
        unit: str,
        vals: list[Any],
        kind: str = "number",
        group: str = "suggested",
    ) -> None:
        if any(v is not None for v in vals):
            metrics.append({"key": key, "label": label, "unit": unit, "kind": kind, "group": group})
            values[key] = [_finite(v) for v in vals]

    def column(k: str) -> list[Any]:
        return [v if _number(v := row.values.get(k)) else None for row in rows]

    add("macs", _label("macs", q.get("macs", {"label": "MACs"})), "MAC", column("macs"))
    for r in report.hardware:
        by_name = {layer.get("name"): layer for layer in r.layers}
        add(f"latency_s@{r.device}", f"latency on {r.device}", "s",
            [by_name.get(row.name, {}).get("latency_s") for row in rows])  # fmt: skip
    reads, writes = column("read_bytes"), column("write_bytes")
    add("activation_bytes", "activation bytes (read + written)", "byte",
        [None if a is None and b is None else (a or 0) + (b or 0) for a, b in zip(reads, writes, strict=True)])  # fmt: skip
    for r in report.hardware:
        by_name = {layer.get("name"): layer for layer in r.layers}
        add(f"bound@{r.device}", f"bound on {r.device}", "",
            [by_name.get(row.name, {}).get("bound") for row in rows], kind="category")  # fmt: skip
    for k, info in q.items():
        if k not in values and info.get("per_layer", True):
            add(k, _label(k, info), str(info.get("unit", "")), column(k), group="every quantity")
    return metrics, values


def _graph_section(report: Report, limit: int) -> tuple[str, dict[str, Any]]:
    metrics, values = colour_metrics(report)
    view = graph_view(report, values, limit)
    options, group = [], None
    for m in metrics:
        if m["group"] != group:
            options.append(
                ("</optgroup>" if group else "") + f'<optgroup label="{_e(m["group"])}">'
            )
            group = m["group"]
        options.append(f'<option value="{_e(m["key"])}">{_e(m["label"])}</option>')
    select = "".join(options) + ("</optgroup>" if group else "")
    notice = f'<p class="az-notice">{_e(view["notice"])}</p>' if view["notice"] else ""
    section = (
        f'<div class="az-controls"><label>colour by <select class="az-metric">{select}</select></label> '
        '<button class="az-zoom" data-zoom="0.8" aria-label="zoom out">−</button>'
        '<button class="az-zoom" data-zoom="1.25" aria-label="zoom in">+</button> '
        f'<span class="az-legend"></span></div>{notice}<div class="az-graph"></div>'
    )
    return section, {"metrics": metrics, **view}


# --- pages ---------------------------------------------------------------------
def _page(title: str, body: str, compact: bool) -> str:
    css, js = _asset("report.css"), _asset("report.js")
    if compact:  # a fragment for notebooks: style and script travel inside it
        return f'<div class="az-report az-compact"><style>{css}</style>{body}{NOSCRIPT}<script>{js}</script></div>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{css}</style></head>"
        f'<body><div class="az-report">{body}</div>{NOSCRIPT}<script>{js}</script></body></html>\n'
    )


def _section(anchor: str, title: str, content: str, compact: bool, open_: bool = True) -> str:
    if compact:
        return f'<details class="az-section"{" open" if open_ else ""}><summary>{_e(title)}</summary>{content}</details>'
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{content}</section>'


def render_html(
    report: Report, *, compact: bool = False, plots: Sequence[Plot] = (), depth: int | None = None,
    graph_limit: int = MAX_NODES, page_rows: int = PAGE_ROWS,
) -> str:  # fmt: skip
    """The report as one HTML document (``compact``: a notebook fragment without the graph view).

    ``plots`` are embedded inline in a Plots section (``plot_html``); ``depth``
    opens the module tree down to that depth; ``graph_limit`` is the number of
    graph nodes beyond which layers are collapsed into modules; ``page_rows``
    the layer-table rows shown at a time.
    """
    name = report.model.get("name", "model")
    data: dict[str, Any] = {"schema": "analyzer.html/1"}
    sections = [_section("summary", "Summary", _summary(report), compact)]
    if not compact and report.layers:
        graph, data["graph"] = _graph_section(report, graph_limit)
        sections.append(_section("graph", "Graph", graph, compact))
    sections.append(
        _section(
            "layers",
            "Layers",
            _layers_table(
                report,
                _layer_columns(report),
                COMPACT_ROWS if compact else MAX_TABLE_ROWS,
                page_rows,
            ),
            compact,
            open_=False,
        )
    )
    sections.append(
        _section("modules", "Modules", _modules_table(report, depth), compact, open_=False)
    )
    sections.append(
        _section("hardware", "Hardware", _hardware(report), compact, open_=bool(report.hardware))
    )
    if plots:
        sections.append(_section("plots", "Plots", "".join(plot_html(p) for p in plots), compact))
    nav = "" if compact else "<nav>" + " ".join(
        f'<a href="#{a}">{t}</a>' for a, t in (("summary", "Summary"), ("graph", "Graph"), ("layers", "Layers"),
                                              ("modules", "Modules"), ("hardware", "Hardware"), ("plots", "Plots"))
        if a != "plots" or plots) + "</nav>"  # fmt: skip
    header = f"<header><h1>{_e(name)}</h1>{nav}</header>"
    return _page(
        f"{name}: analyzer report", header + "".join(sections) + _json_script(data), compact
    )


def render_comparison_html(comparison: Comparison, *, compact: bool = False, depth: int | None = None,
                           plots: Sequence[Plot] = ()) -> str:  # fmt: skip
    """A comparison as one HTML document: totals side by side, aligned layers, hardware, notes.

    ``depth`` adds each model's module roll-ups down to that depth.
    """
    n = len(comparison.labels)
    headers, rows = common.comparison_cells(comparison)
    totals = _table(
        [_e(h) for h in headers], [[_e(c) for c in r] for r in rows], "az-plain az-totals", 1
    )
    sections = [_section("totals", "Totals", totals, compact)]
    if depth is not None:
        for title, t_headers, t_rows, numeric_from in common.comparison_detail_tables(
            comparison, depth
        ):
            table = _table(
                [_e(h) for h in t_headers],
                [[_e(c) for c in r] for r in t_rows],
                "az-plain",
                numeric_from,
            )
            sections.append(_section("modules", title, table, compact))
    a_headers, a_rows = common.aligned_cells(comparison, mark=lambda t: f"\x00{t}\x01")
    aligned = [
        [
            _e(c).replace("\x00", '<strong class="az-differs">').replace("\x01", "</strong>")
            for c in r
        ]
        for r in a_rows
    ]
    sections.append(_section("layers", "Layers aligned across models",
                             '<div class="az-controls"><input type="search" class="az-filter" placeholder="filter rows" '
                             'aria-label="filter rows"> <span class="az-count"></span></div><div class="az-scroll">'
                             + _table([_e(h) for h in a_headers], aligned, "az-layers az-sortable", n)
                             + "</div>", compact))  # fmt: skip
    if any(rep.hardware for rep in comparison.reports):
        cells = [[_e(c) for c in row] for row in common.comparison_hardware_cells(comparison)]
        notes = "".join(
            f"<li>{_e(line)}</li>" for line in common.comparison_hardware_notes(comparison)
        )
        sections.append(_section("hardware", "Hardware",
                                 _table(common.COMPARISON_HARDWARE_HEADERS, cells, "az-plain", 2) + f"<ul>{notes}</ul>", compact))  # fmt: skip
    notes = common.comparison_notes(comparison)
    if notes:
        sections.append(
            '<div class="az-warn">' + "".join(f"<p>{_e(line)}</p>" for line in notes) + "</div>"
        )
    if plots:
        sections.append(_section("plots", "Plots", "".join(plot_html(p) for p in plots), compact))
    title = " vs ".join(comparison.labels)
    header = f"<header><h1>{_e(title)}</h1><p>{MARKS['lower']} at least, {MARKS['upper']} at most, " \
             f"{MARKS['unknown']} not exact; bold: the models differ</p></header>"  # fmt: skip
    return _page(
        f"{title}: analyzer comparison", header + "".join(sections) + _json_script({}), compact
    )


class HtmlReporter(Reporter):
    name = "html"
    suffix = ".html"

    def render_report(
        self,
        report: Report,
        *,
        color: bool = False,
        width: int | None = None,
        depth: int | None = None,
        plots: Sequence[Plot] = (),
    ) -> str:
        """The whole page; ``depth`` opens the module tree down to that depth.

        ``plots`` (beyond the Reporter contract, optional) are embedded inline:
        ``plots.html_plots(report)`` gives the matplotlib figures. Not drawn by
        default: SVG rendering of the figures takes longer than the analysis.
        """
        return render_html(report, depth=depth, plots=plots)

    def render_comparison(
        self,
        comparison: Comparison,
        *,
        color: bool = False,
        width: int | None = None,
        depth: int | None = None,
    ) -> str:
        return render_comparison_html(comparison, depth=depth)


@hookimpl
def analyzer_register_reporters(register):
    register(HtmlReporter())
