"""``--format html``: one self-contained page (no network, no CDN) for a report or a comparison.

The page holds a summary (model, totals with their conventions, completeness
marks, warnings, options), an interactive graph view of the layers coloured
by a chosen metric, the per-layer table (sortable, filterable, column groups
switchable), the module tree with roll-ups, hardware results per device and,
when given, plots. Columns follow ``report.quantities`` and each quantity's
display metadata (label, format, group; docs/plugins.md). docs/reports.md
describes the page.

A full page carries its tables as data in a JSON blob, which the script in
``html_assets/report.js`` draws, numbers formatted as ``html_values`` formats
them (a browser test compares every cell): writing the page then costs less
than the analysis (docs/performance.md). The notebook form
(``compact=True``) writes its tables here, so that they read where a
notebook runs no script; both come from the same functions, the ``script``
argument choosing where the rows go.

``render_html(report, plots=[Plot(...)])`` embeds plots (SVG text or PNG
bytes) inline; ``compact=True`` is the notebook form (``Report._repr_html_``).
"""

from __future__ import annotations

import base64
import functools
import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import chain, repeat
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from analyzer.core import collector
from analyzer.core.compare import Comparison
from analyzer.core.completeness import MARKS
from analyzer.core.hookspecs import hookimpl
from analyzer.core.report import Report, quantity_info
from analyzer.core.reporter import Reporter
from analyzer.core.rollup import layer_keys, module_tree
from analyzer.plugins.reporters import common
from analyzer.plugins.reporters.html_graph import MAX_NODES, graph_section
from analyzer.plugins.reporters.html_values import (
    esc,
    formatter,
    group_of,
    is_number,
    label_of,
    script_columns,
    script_holds,
    value_cells,
)

ASSETS = "html_assets"
# without JavaScript, rows on later pages and in folded modules are shown
NOSCRIPT = "<noscript><style>.az-report tr.az-hidden{display:table-row}</style></noscript>"
# a full page draws its tables by script: without one it says so (the notebook form writes them)
NOSCRIPT_PAGE = ('<noscript><p class="az-warn">This page draws its tables with JavaScript, which is off: '
                 "the numbers are in the page's data; --format markdown, csv or json (or the notebook form, "
                 "Report._repr_html_) show them without a script.</p></noscript>")  # fmt: skip
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
        body = f'<img alt="{esc(plot.title)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
    else:
        raise ValueError(f"plot {plot.title!r}: kind must be svg or png, not {plot.kind!r}")
    caption = f"<figcaption>{esc(plot.title)}{': ' + esc(plot.caption) if plot.caption else ''}</figcaption>"
    return f'<figure class="az-plot">{body}{caption}</figure>'


def plots_from_files(paths: Iterable[str | Path]) -> list[Plot]:
    """The SVG files among ``paths`` (``--plot DIR`` writes each figure as PNG and SVG) as plots,
    titled by their file stem: the page reuses the figures instead of drawing them again."""
    return [
        Plot(Path(p).stem, Path(p).read_text(encoding="utf-8"))
        for p in paths
        if str(p).endswith(".svg")
    ]


@functools.cache  # the package's own files: read once a process
def _asset(name: str) -> str:
    return (
        resources.files("analyzer.plugins.reporters")
        .joinpath(ASSETS, name)
        .read_text(encoding="utf-8")
    )


def _json_script(data: Any) -> str:
    """JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` can end the element."""
    text = json.dumps(data, separators=(",", ":"), default=str, allow_nan=False)
    if "<" in text or ">" in text or "&" in text:  # (most pages have none: no copy)
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" class="az-data">{text}</script>'


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


def _totals(report: Report, binary: bool = False, script: dict[str, Any] | None = None) -> str:
    """Every total (hidden ones too), grouped as the text formats order them: exact value,
    readable value, unit and convention; a group starts with a heading row. ``script``: the
    page's data blob, where the rows go for report.js's ``totalRows`` (``_total_data``)."""
    shown = common.total_infos(report)
    keys = [*shown, *(k for k in report.totals if k not in shown)]  # display "hidden": last, but shown
    head = "<tr><th>quantity</th><th>value</th><th>readable</th><th>unit</th><th>convention</th></tr>"
    if script is not None:
        q = report.quantities  # (a shown quantity the report does not declare: a device's, described there)
        infos = {k: info if k in q else quantity_info(q, k) for k, info in shown.items()}
        script["totals"] = _total_data(report, keys, infos, binary)
        return f'<div class="az-totals-box"><table class="az-totals"><thead>{head}</thead><tbody></tbody></table></div>'
    rows, group = [], None
    for k in keys:
        v = report.totals.get(k)
        if v is None:
            continue
        info = quantity_info(report.quantities, k)
        if info["group"] != group:
            group = info["group"]
            rows.append(f'<tr class="az-group-row"><th colspan="5">{esc(group)}</th></tr>')
        b = report.completeness.bound(k)
        how = info.get("format", "count")
        if type(v) is int and (how == "count" or how == "bytes"):  # most totals (digits: nothing to escape)
            exact, readable = format(v, ","), common.human(v) if how == "count" else common.human_bytes(v, binary)
            if b:
                exact, readable = common.marked(exact, b), common.marked(readable, b)
        else:
            exact = esc(common.marked(common.show_exact(v, info), b))
            readable = esc(common.marked(common.show_human(v, info, binary), b))
        key = esc(k)
        rows.append(
            f'<tr data-q="{key}"><td title="{key}">{esc(label_of(k, info))}</td>'
            f'<td class="num az-value">{exact}</td><td class="num az-human">{readable}</td>'
            f'<td>{esc(info.get("unit", ""))}</td><td class="az-conv">{esc(info.get("convention", ""))}</td></tr>'
        )
    return (f'<div class="az-totals-box"><table class="az-totals"><thead>{head}</thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')  # fmt: skip


def _total_data(report: Report, keys: list[str], infos: dict[str, dict[str, Any]], binary: bool) -> list[list[Any]]:
    """The totals rows for report.js's ``totalRows``: key, format, digits, value, mark, whether
    the value is a float, then label, group, unit and convention unless the page's conventions
    table says the same; a value the script could misread (text, a bool, NaN, beyond 2**53...)
    comes as its two cells' text, written here. ``infos``: the metadata known already."""
    rows = []
    totals, bound, q = report.totals, report.completeness.bound, report.quantities
    for k in keys:
        v = totals.get(k)
        if v is None:
            continue
        info = infos.get(k) or quantity_info(q, k)
        t = type(v)
        b = bound(k)
        if not script_holds(v):
            v = [esc(common.marked(common.show_exact(v, info), b)), esc(common.marked(common.show_human(v, info, binary), b))]
        row = [k, info.get("format", "count"), info.get("digits", 4), v, b, t is float]
        group = info["group"]
        if info is not q.get(k) or not group or type(group) is not str:  # _summary's conventions row differs
            row += [str(info.get("label") or k), group, str(info.get("unit", "")), str(info.get("convention", ""))]
        rows.append(row)
    return rows


def _completeness(report: Report) -> str:
    if report.completeness.complete:
        return '<p class="az-ok">Complete: every op was counted.</p>'
    cells = [[esc(c) for c in row] for row in common.uncounted_cells(report)]
    return (f'<p class="az-warn">{esc(common.completeness_line(report))}</p>'
            + _table(common.UNCOUNTED_HEADERS, cells, "az-plain", numeric_from=3))  # fmt: skip


def _summary(report: Report, binary: bool = False, script: dict[str, Any] | None = None) -> str:
    parts = [
        f'<p class="az-model">{esc(common.model_line(report))}</p>',
        _totals(report, binary, script),
        _completeness(report),
    ]
    if report.warnings:
        parts.append('<ul class="az-warnings">' + "".join(
            f"<li>warning: {esc(common.one_line(w))}</li>" for w in report.warnings) + "</ul>")  # fmt: skip
    if report.options:
        opts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(_option_text(v))}</dd>" for k, v in report.options.items())
        parts.append(
            f'<details class="az-options"><summary>Options of this run</summary><dl>{opts}</dl></details>'
        )
    conv = [(k, str(i.get("label") or k), str(i.get("unit", "")), str(i.get("aggregate", "")),  # label_of,
             str(i.get("group") or i.get("metric") or "other"), str(i.get("convention", "")))  # group_of inline
            for k, i in report.quantities.items()]  # fmt: skip
    headers = ["key", "label", "unit", "aggregate", "group", "convention"]
    if script is not None:  # report.js's textRows
        script["conventions"] = _packed(conv)
        table = _table(headers, [], "az-plain az-conventions-table")
    else:
        table = _text_table(headers, conv, "az-plain az-conventions-table")
    parts.append(f'<details class="az-conventions"><summary>Conventions of every quantity</summary>{table}</details>')
    return "".join(parts)


_JSON_WORDS = {True: "true", False: "false", None: "null"}


def _option_text(value: Any) -> str:
    """``json.dumps(value, default=str)``; an option's usual scalars without an encoder each."""
    t = type(value)
    if t is str:
        return encode_basestring_ascii(value)
    if t is int:
        return int.__repr__(value)
    if t is bool or value is None:
        return _JSON_WORDS[value]
    return json.dumps(value, default=str)


_CELL, _ROW = "\x1f", "\x1e"  # separators html.escape leaves as they are


def _packed(rows: list[tuple[str, ...]]) -> str | list[tuple[str, ...]]:
    """Rows of text as one string, cells joined by US and rows by RS (report.js ``unpack``): one
    string costs the page's JSON less than hundreds; the rows themselves where a cell holds either."""
    text = _ROW.join(map(_CELL.join, rows))
    if text.count(_CELL) != sum(map(len, rows)) - len(rows) or text.count(_ROW) != len(rows) - 1:
        return rows
    return text


def _text_table(headers: Sequence[str], rows: list[tuple[str, ...]], cls: str) -> str:
    """``_table`` of text cells (none numeric) escaped here, all at once: one escape of the
    joined text rather than one a cell (the conventions of every quantity)."""
    text = _packed(rows)
    if not rows or type(text) is not str:  # a separator in a cell: one escape a cell
        return _table(headers, [[esc(c) for c in row] for row in rows], cls, numeric_from=len(headers))
    body = html.escape(text).replace(_ROW, "</td></tr><tr><td>").replace(_CELL, "</td><td>")
    head = "".join(f"<th>{h}</th>" for h in headers)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody><tr><td>{body}</td></tr></tbody></table>'


@dataclass(slots=True)
class _Column:
    key: str
    label: str | None  # label, group, title: None where the page's script reads the conventions row
    group: str | None
    title: str | None
    info: dict[str, Any]
    values: list[Any]
    shown: bool = True


def _column_reader(report: Report) -> Callable[[str], Sequence[Any]]:
    """Each layer column read once a page: the graph, the layer table and the roll-ups share
    them (``Report.layer_columns``)."""
    return functools.cache(report.layer_columns())  # (a list, or the stored array of ints or floats)


def _layer_columns(report: Report, columns: Sequence[str] | None = None, layer_column: Any = None,
                   described: bool = True) -> list[_Column]:  # fmt: skip
    """Every per-layer quantity, then each device's latency and bound. ``columns`` (names or
    groups, as ``--columns``) chooses which start shown; by default those ``display``ed as columns.
    ``described=False``: a quantity the report describes has no label, group or title here (the
    page's script reads them from the conventions table)."""
    rows = report.layers
    chosen = set(common.select_columns(report, columns)) if columns is not None else None
    present = layer_keys(rows)
    q = report.quantities
    order = [k for k in q if k in present] + [k for k in present if k not in q]
    read = layer_column or report.layer_column
    cols = []
    for k in order:
        info = q.get(k)
        if info is None or "label" not in info or "group" not in info:  # (else quantity_info gives it as it is)
            info = quantity_info(q, k)
        shown = info.get("display", "column") != "hidden" if chosen is None else k in chosen
        if not described and info is q.get(k):
            cols.append(_Column(k, None, None, None, info, read(k), shown))
            continue
        title = f"{k} ({info.get('unit', '')}): {info.get('convention', '')}" if info else k
        cols.append(_Column(k, label_of(k, info), group_of(info), title, info, read(k), shown))
    for r in report.hardware:
        by_name = {layer.get("name"): layer for layer in r.layers}
        lat = [by_name.get(row.name, {}).get("latency_s") for row in rows]
        bound = [by_name.get(row.name, {}).get("bound") for row in rows]
        cols.append(_Column(f"latency_s@{r.device}", f"latency @ {r.device}", "hardware",
                            f"predicted latency on {r.device} (roofline)", {"format": "seconds"}, lat,
                            shown=chosen is None or "latency_s" in chosen))  # fmt: skip
        cols.append(_Column(f"bound@{r.device}", f"bound @ {r.device}", "hardware",
                            f"compute- or memory-bound on {r.device}", {"format": "text"}, bound,
                            shown=chosen is None or "bound" in chosen))  # fmt: skip
    return cols


HIDE = {True: "", False: ' data-hide="1"'}  # a column that starts hidden (--columns left it out)


def _layers_table(
    report: Report, cols: list[_Column], max_rows: int = MAX_TABLE_ROWS, page_rows: int = PAGE_ROWS,
    binary: bool = False, script: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    """The per-layer table; columns carry their group (``data-g``), which the script hides by
    position, so cells need no attributes (a 10k-layer table stays a few MB). Rows beyond the
    first page start hidden (shown without JavaScript): the browser lays out one page.

    ``script``: the page's data blob; the rows go there as columns (``_layer_data``) and the
    page's script writes them, else (a notebook fragment) they are written here."""
    rows = report.layers[:max_rows]
    n = len(rows)
    marks = [row.incomplete for row in rows] if any(row.incomplete for row in rows) else None
    if script is not None:  # header, group switches and rows drawn by report.js (layerHead, layerRows)
        script["layers"] = _layer_data(rows, cols, marks, binary, page_rows)
        head, toggles, body = "", "", []
    else:  # the cells a column at a time (one rule per column), then each row's one join
        groups = list(dict.fromkeys(c.group for c in cols))
        gid = {g: i for i, g in enumerate(groups)}
        head = "<th>#</th><th>layer</th><th>op</th><th>output</th>" + "".join(
            f'<th data-g="{gid[c.group]}"{HIDE[c.shown]} title="{esc(c.title)}">{esc(c.label)}</th>' for c in cols
        )
        toggles = "".join(
            f'<label><input type="checkbox" class="az-group" value="{gid[g]}" '
            f"{'checked' if any(c.shown for c in cols if c.group == g) else ''}> {esc(g)}</label>"
            for g in groups
        )
        cells = [value_cells(c.values[:n], formatter(c.info, binary=binary), c.key, marks) for c in cols]
        body = []
        for i, (row, values) in enumerate(zip(rows, zip(*cells, strict=True) if cells else repeat(()), strict=False)):
            search = f"{row.name} {row.op} {row.scope}".lower()
            hidden = ' class="az-hidden"' if i >= page_rows else ""
            body.append(f'<tr data-i="{i}" data-search="{esc(search)}"{hidden}><td>{i}</td><td>{esc(row.name)}</td>'
                        f'<td>{esc(row.op)}</td><td>{esc(common.fmt(row.output_shapes))}</td>{"".join(values)}</tr>')  # fmt: skip
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


def _layer_data(rows: list[Any], cols: list[_Column], marks: list[dict[str, str]] | None, binary: bool,
                page_rows: int) -> dict[str, Any]:  # fmt: skip
    """The layer table for report.js's ``layerHead`` and ``layerRows``: each column's key, header
    (label, group, title; none where the conventions table describes it), which start hidden;
    the rows' names, ops, scopes, output shapes (lists of int lists, else their text) and each
    column's values (``script_columns``)."""
    n = len(rows)
    outputs = [row.output_shapes for row in rows]
    if not _int_shapes(outputs):  # anything but lists of int lists: written as common.fmt does
        outputs = list(map(common.fmt, outputs))
    return {
        "page": page_rows,
        "name": [row.name for row in rows],
        "op": [row.op for row in rows],
        "scope": [row.scope for row in rows],
        "output": outputs,
        "keys": [c.key for c in cols],
        "head": [None if c.label is None else [c.label, c.group, c.title] for c in cols],
        "hide": [i for i, c in enumerate(cols) if not c.shown],
        "columns": script_columns([(c.key, c.values[:n], c.info) for c in cols], binary, marks),
    }


def _int_shapes(outputs: list[Any]) -> bool:
    """Every layer's output shapes a non-empty list of lists of ints (report.js writes them)."""
    if set(map(type, outputs)) - {list} or not all(outputs):
        return False
    shapes = list(chain.from_iterable(outputs))
    return not set(map(type, shapes)) - {list} and not set(map(type, chain.from_iterable(shapes))) - {int}


def _modules_table(
    report: Report, depth: int | None, binary: bool = False, columns: Sequence[str] | None = None,
    layer_column: Any = None, script: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    """The module tree with the columns of the text formats' module table (``--columns``, by
    default the quantities displayed as columns): the layer table above has every quantity.
    ``script``: the page's data blob, where the rows go for report.js's ``moduleRows`` (as in
    ``_layers_table``)."""
    q = report.quantities
    shown = common.select_columns(report, columns)
    if any(row.incomplete for row in report.layers):  # marks on modules: Report.modules() adds them
        rows = report.modules()
        paths, depths, counts = [m.path for m in rows], [m.depth for m in rows], [m.layers for m in rows]
        marks: list[dict[str, str]] | None = [m.values.get("incomplete") or {} for m in rows]
        column = lambda k: [m.values.get(k) for m in rows]  # noqa: E731
    else:  # the roll-ups' columns as they are, no row objects; only the quantities shown
        tree = module_tree(report.layers, _aggregates(q, shown), None, layer_column or report.layer_column)
        paths, depths, counts, marks, column = tree.paths, tree.depths, tree.counts, None, tree.column
    values = {k: column(k) for k in shown}
    keys = [k for k, vs in values.items() if vs.count(None) < len(vs)]  # some module has it
    head = "<th>module</th><th>layers</th>" + "".join(
        f'<th title="{esc(q.get(k, {}).get("convention", k))}">{esc(label_of(k, quantity_info(q, k)))}</th>'
        for k in keys
    )
    open_depth = 1 if depth is None else depth
    marks = marks if marks and any(marks) else None
    body: list[str] = []
    if script is not None:
        script["modules"] = {"open": open_depth, "path": paths, "depth": depths, "layers": counts, "keys": keys,
                             "columns": script_columns([(k, values[k], quantity_info(q, k)) for k in keys], binary, marks)}  # fmt: skip
        return _modules_frame(open_depth, head, body)
    fmts = [(k, formatter(quantity_info(q, k), binary=binary)) for k in keys]
    cells_by_key = [value_cells(values[k], fmt, k, marks) for k, fmt in fmts]
    n_modules = len(paths)
    rows_cells = zip(*cells_by_key, strict=True) if cells_by_key else repeat(())
    for n, (path, m_depth, m_layers, cells_n) in enumerate(zip(paths, depths, counts, rows_cells, strict=False)):
        has_children = n + 1 < n_modules and depths[n + 1] > m_depth and paths[n + 1].startswith(path + ".")
        toggle = (
            '<button class="az-fold" aria-label="fold">▾</button>'
            if has_children
            else '<span class="az-leaf"></span>'
        )
        name = path.rsplit(".", 1)[-1] if m_depth > 1 else path
        cells = [f'<td class="az-tree" style="padding-left:{(m_depth - 1) * 1.2 + 0.3:.1f}em">{toggle}'
                 f'<span title="{esc(path)}">{esc(name)}</span></td>', f"<td>{m_layers}</td>", *cells_n]  # fmt: skip
        # folded below open_depth in the page itself (shown whole without JavaScript)
        state = " ".join(c for c, on in (("az-folded", has_children and m_depth >= open_depth),
                                         ("az-hidden", m_depth > open_depth)) if on)  # fmt: skip
        cls = f' class="{state}"' if state else ""
        body.append(f'<tr data-depth="{m_depth}" data-path="{esc(path)}"{cls}>{"".join(cells)}</tr>')
    return _modules_frame(open_depth, head, body)


def _aggregates(quantities: dict[str, dict[str, Any]], shown: Sequence[str]) -> dict[str, str]:
    """Each quantity's ``aggregate``, ``none`` (not rolled up) but for those ``shown`` and the
    parts of a shown ratio: the module table's roll-ups computes no column it does not show."""
    needed = set(shown)
    for k in shown:
        how = str(quantities.get(k, {}).get("aggregate", "sum"))
        if how.startswith("ratio:"):
            needed.update(how.removeprefix("ratio:").split("/", 1))
    return {k: str(info.get("aggregate", "sum")) if k in needed else "none" for k, info in quantities.items()}


def _modules_frame(open_depth: int, head: str, body: list[str]) -> str:
    return (f'<div class="az-scroll"><table class="az-modules" data-open="{open_depth}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')  # fmt: skip


def _hardware(report: Report) -> str:
    if not report.hardware:
        return "<p>No device was given (<code>--device NAME</code>).</p>"
    cells = [[esc(c) for c in row] for row in common.hardware_cells(report)]
    notes = "".join(f"<li>{esc(line)}</li>" for line in common.hardware_notes(report))
    conventions = "".join(f"<li>{esc(r.device)}: {esc(r.details.get('latency_convention', ''))} "
                          f"({esc(r.details.get('model', ''))})</li>" for r in report.hardware)  # fmt: skip
    return (_table(common.HARDWARE_HEADERS, cells, "az-plain az-hardware")
            + f'<ul class="az-notes">{notes}{conventions}</ul>'
            + "".join(_figures(r.device, r.details.get("figures") or {}) for r in report.hardware))  # fmt: skip


def _figures(device: str, figures: dict[str, Any]) -> str:
    """The device figures a prediction used, each with its kind and source (hardware_db)."""
    if not figures:
        return ""
    rows = [[esc(k), esc(common.plain(f["value"]) if is_number(f.get("value")) else f.get("value", "")),
             esc(f.get("kind", "")), esc(f.get("source", ""))] for k, f in figures.items() if isinstance(f, dict)]  # fmt: skip
    table = _table(
        ["figure", "value", "kind", "source"], rows, "az-plain az-figures", numeric_from=1
    )
    return f"<details><summary>{esc(device)}: the figures used, with sources</summary>{table}</details>"


# --- pages ---------------------------------------------------------------------
def _page(title: str, body: str, compact: bool, noscript: str = NOSCRIPT) -> str:
    """The document around ``body`` (``compact``: a notebook fragment); ``noscript``: what shows
    with JavaScript off."""
    css, js = _asset("report.css"), _asset("report.js")
    if compact:  # a fragment for notebooks: style and script travel inside it
        return f'<div class="az-report az-compact"><style>{css}</style>{body}{noscript}<script>{js}</script></div>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{css}</style></head>"
        f'<body><div class="az-report">{noscript}{body}</div><script>{js}</script></body></html>\n'
    )


def _section(anchor: str, title: str, content: str, compact: bool, open_: bool = True) -> str:
    if compact:
        return f'<details class="az-section"{" open" if open_ else ""}><summary>{esc(title)}</summary>{content}</details>'
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{content}</section>'


def render_html(
    report: Report, *, compact: bool = False, plots: Sequence[Plot] = (), depth: int | None = None,
    columns: Sequence[str] | None = None, binary_units: bool = False, graph_limit: int = MAX_NODES,
    page_rows: int = PAGE_ROWS,
) -> str:  # fmt: skip
    """The report as one HTML document (``compact``: a notebook fragment without the graph view).

    ``plots`` are embedded inline in a Plots section (``plot_html``); ``depth``
    opens the module tree down to that depth; ``columns`` (as ``--columns``)
    chooses the layer-table columns shown at first (the others are a click
    away); ``binary_units`` writes bytes as KiB/MiB/GiB; ``graph_limit`` is
    the number of graph nodes beyond which layers are collapsed into modules;
    ``page_rows`` the layer-table rows shown at a time.
    """
    with collector.paused():  # lists and strings by the thousand, no cycle among them
        return _render_html(report, compact, plots, depth, columns, binary_units, graph_limit, page_rows)


def _render_html(report: Report, compact: bool, plots: Sequence[Plot], depth: int | None,
                 columns: Sequence[str] | None, binary_units: bool, graph_limit: int, page_rows: int) -> str:  # fmt: skip
    name = report.model.get("name", "model")
    data: dict[str, Any] = {"schema": "analyzer.html/1"}
    binary = binary_units
    read = _column_reader(report)
    script = None if compact else data  # a full page's script writes the tables (faster, smaller)
    if script is not None:
        data["binary"] = binary
    sections = [_section("summary", "Summary", _summary(report, binary, script), compact)]
    max_rows = COMPACT_ROWS if compact else MAX_TABLE_ROWS
    cols = _layer_columns(report, columns, read, described=compact)
    layers = _layers_table(report, cols, max_rows, page_rows, binary, script)
    if not compact and report.layers:
        # the graph's colours read the layer table's columns of raw numbers where it has every layer
        table = data["layers"]
        shared = {k for k, c in zip(table["keys"], table["columns"], strict=True) if c[0] != "h" and c[1] != "s"} \
            if len(table["name"]) == len(report.layers) else set()  # fmt: skip
        graph, data["graph"] = graph_section(report, graph_limit, read, shared)
        sections.append(_section("graph", "Graph", graph, compact))
    sections.append(_section("layers", "Layers", layers, compact, open_=False))
    modules = _modules_table(report, depth, binary, columns, read, script)
    sections.append(_section("modules", "Modules", modules, compact, open_=False))
    sections.append(
        _section("hardware", "Hardware", _hardware(report), compact, open_=bool(report.hardware))
    )
    if plots:
        sections.append(_section("plots", "Plots", "".join(plot_html(p) for p in plots), compact))
    nav = "" if compact else "<nav>" + " ".join(
        f'<a href="#{a}">{t}</a>' for a, t in (("summary", "Summary"), ("graph", "Graph"), ("layers", "Layers"),
                                              ("modules", "Modules"), ("hardware", "Hardware"), ("plots", "Plots"))
        if a != "plots" or plots) + "</nav>"  # fmt: skip
    header = f"<header><h1>{esc(name)}</h1>{nav}</header>"
    return _page(
        f"{name}: analyzer report", header + "".join(sections) + _json_script(data), compact,
        NOSCRIPT if compact else NOSCRIPT_PAGE,
    )


def render_comparison_html(comparison: Comparison, *, compact: bool = False, depth: int | None = None,
                           columns: Sequence[str] | None = None, binary_units: bool = False,
                           plots: Sequence[Plot] = ()) -> str:  # fmt: skip
    """A comparison as one HTML document: totals side by side, aligned layers, hardware, notes.

    ``depth`` adds each model's module roll-ups down to that depth.
    """
    n = len(comparison.labels)
    headers, rows = common.comparison_cells(comparison, binary_units)
    totals = _table(
        [esc(h) for h in headers], [[esc(c) for c in r] for r in rows], "az-plain az-totals", 1
    )
    sections = [_section("totals", "Totals", totals, compact)]
    if depth is not None:
        for title, t_headers, t_rows, numeric_from in common.comparison_detail_tables(
            comparison, depth, columns, binary_units
        ):
            table = _table(
                [esc(h) for h in t_headers],
                [[esc(c) for c in r] for r in t_rows],
                "az-plain",
                numeric_from,
            )
            sections.append(_section("modules", title, table, compact))
    a_headers, a_rows = common.aligned_cells(
        comparison, lambda t: f"\x00{t}\x01", columns, binary_units
    )
    aligned = [
        [
            esc(c).replace("\x00", '<strong class="az-differs">').replace("\x01", "</strong>")
            for c in r
        ]
        for r in a_rows
    ]
    sections.append(_section("layers", "Layers aligned across models",
                             '<div class="az-controls"><input type="search" class="az-filter" placeholder="filter rows" '
                             'aria-label="filter rows"> <span class="az-count"></span></div><div class="az-scroll">'
                             + _table([esc(h) for h in a_headers], aligned, "az-layers az-sortable", n)
                             + "</div>", compact))  # fmt: skip
    if any(rep.hardware for rep in comparison.reports):
        cells = [[esc(c) for c in row] for row in common.comparison_hardware_cells(comparison)]
        notes = "".join(
            f"<li>{esc(line)}</li>" for line in common.comparison_hardware_notes(comparison)
        )
        sections.append(_section("hardware", "Hardware",
                                 _table(common.COMPARISON_HARDWARE_HEADERS, cells, "az-plain", 2) + f"<ul>{notes}</ul>", compact))  # fmt: skip
    notes = common.comparison_notes(comparison)
    if notes:
        sections.append(
            '<div class="az-warn">' + "".join(f"<p>{esc(line)}</p>" for line in notes) + "</div>"
        )
    if plots:
        sections.append(_section("plots", "Plots", "".join(plot_html(p) for p in plots), compact))
    title = " vs ".join(comparison.labels)
    header = f"<header><h1>{esc(title)}</h1><p>{MARKS['lower']} at least, {MARKS['upper']} at most, " \
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
        columns: Sequence[str] | None = None,
        binary_units: bool = False,
        plots: Sequence[Plot] = (),
    ) -> str:
        """The whole page; ``depth`` opens the module tree down to that depth, ``columns`` and
        ``binary_units`` are ``--columns`` and ``--binary-units`` (``render_html``).

        ``plots`` (beyond the Reporter contract, optional) are embedded inline:
        ``plots.html_plots(report)`` gives the matplotlib figures. Not drawn by
        default: SVG rendering of the figures takes longer than the analysis.
        """
        return render_html(
            report, depth=depth, columns=columns, binary_units=binary_units, plots=plots
        )

    def render_comparison(
        self,
        comparison: Comparison,
        *,
        color: bool = False,
        width: int | None = None,
        depth: int | None = None,
        columns: Sequence[str] | None = None,
        binary_units: bool = False,
    ) -> str:
        """``columns`` chooses the aligned quantities (``--columns``); ``binary_units`` the byte units."""
        return render_comparison_html(
            comparison, depth=depth, columns=columns, binary_units=binary_units
        )


@hookimpl
def analyzer_register_reporters(register):
    register(HtmlReporter())
