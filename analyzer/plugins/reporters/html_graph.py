"""The HTML report's graph view: layers as nodes, IR edges between them, a layered layout.

Computed here rather than in the browser so the page only draws: nodes are
the report's layers in execution order, an edge joins two layers where one
reads an activation the other produced. Each node sits on the rank one below
its deepest predecessor (longest-path layering: execution order is already
topological) and, within its rank, at its leftmost predecessor's column or
the next free one, so chains run straight down and branches fan out to the side.

Beyond ``MAX_NODES`` layers the view collapses: layers are grouped by module
at the deepest scope depth that gives at most ``MAX_NODES`` groups (or, for a
flat model, into runs of consecutive layers), each group's colour values
summed, and the page says so.

``colour_metrics`` lists what the nodes can be coloured by (MACs, latency
and bound per device, activation bytes, every other per-layer quantity);
``graph_section`` gives the section's controls and the data the page's
script draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from analyzer.core.rollup import module_path
from analyzer.plugins.reporters.html_values import esc, finite, is_number, label_of

if TYPE_CHECKING:
    from analyzer.core.report import LayerRow, Report

MAX_NODES = 1000


def layer_edges(report: Report) -> set[tuple[int, int]]:
    """(producer layer index, consumer layer index) pairs from the IR; a chain without a graph."""
    rows = report.layers
    g = report.graph
    if g is None:
        return {(i - 1, i) for i in range(1, len(rows))}
    layer_of = {n: i for i, row in enumerate(rows) for n in row.nodes}
    edges: set[tuple[int, int]] = set()
    for i, row in enumerate(rows):
        for n in row.nodes:
            if n not in g:
                continue
            for t in g.info(n).act_inputs:
                src = g.producer(t)
                j = layer_of.get(src.id) if src is not None else None
                if j is not None and j != i:
                    edges.add((j, i))
    return edges


def _groups(rows: Sequence[LayerRow], limit: int) -> tuple[list[list[int]], str]:
    """Layer indices per collapsed node, and how they were grouped (module depth or runs)."""
    paths = [module_path(row) for row in rows]
    deepest = max((len(p) for p in paths), default=1)
    for depth in range(deepest, 0, -1):
        keys: dict[str, list[int]] = {}
        for i, p in enumerate(paths):
            keys.setdefault(".".join(p[:depth]), []).append(i)
        if len(keys) <= limit:
            return list(keys.values()), f"modules at depth {depth}"
    size = math.ceil(len(rows) / limit)
    return [
        list(range(s, min(s + size, len(rows)))) for s in range(0, len(rows), size)
    ], f"runs of {size} layers"


def _layout(n: int, edges: set[tuple[int, int]]) -> list[tuple[float, int]]:
    """(x, rank) per node: longest-path ranks; x at the leftmost predecessor's column or the next free one.

    The leftmost rather than the mean keeps a main path straight however many
    residual branches join it; side branches take the next columns.
    """
    preds: list[list[int]] = [[] for _ in range(n)]
    # execution order is topological; a collapsed group may point back: ignored for layout
    for a, b in edges:
        if a < b:
            preds[b].append(a)
    rank = [0] * n
    for i in range(n):
        if preds[i]:
            rank[i] = 1 + max(rank[p] for p in preds[i])
    by_rank: dict[int, list[int]] = {}
    for i in range(n):
        by_rank.setdefault(rank[i], []).append(i)
    x = [0.0] * n
    for r in sorted(by_rank):
        members = by_rank[r]
        wanted = {i: min((x[p] for p in preds[i]), default=0.0) for i in members}
        members.sort(key=lambda i: (wanted[i], i))
        last = -math.inf
        for i in members:  # as close to the wanted column as the nodes already placed allow
            x[i] = max(wanted[i], last + 1)
            last = x[i]
    return [(x[i], rank[i]) for i in range(n)]


def graph_view(
    report: Report, metrics: Mapping[str, Sequence[Any]], limit: int = MAX_NODES
) -> dict[str, Any]:
    """The graph view's data: nodes (label, op, x, rank, layer indices), edges, metric values per node.

    ``metrics`` maps a colour metric's key to one value per layer (None where
    absent); a collapsed node gets its members' values combined: numbers
    summed (MACs, latency and bytes add up), a category (``bound``) the one
    most of its members have.
    """
    rows = report.layers
    edges = layer_edges(report)
    notice = ""
    if len(rows) > limit:
        groups, how = _groups(rows, limit)
        notice = (f"{len(rows):,} layers collapsed into {len(groups):,} nodes ({how}); "
                  "the table below lists every layer")  # fmt: skip
        group_of = {i: gi for gi, members in enumerate(groups) for i in members}
        edges = {(group_of[a], group_of[b]) for a, b in edges if group_of[a] != group_of[b]}
        labels = [_group_label(rows, members) for members in groups]
        ops = [_group_ops(rows, members) for members in groups]
        values = {
            k: [_combine_metric(vals, members) for members in groups] for k, vals in metrics.items()
        }
    else:
        groups = [[i] for i in range(len(rows))]
        labels = [row.name for row in rows]
        ops = [row.op for row in rows]
        values = {k: list(vals) for k, vals in metrics.items()}
    pos = _layout(len(groups), edges)
    nodes = [{"label": labels[i], "op": ops[i], "x": pos[i][0], "rank": pos[i][1],
              "layers": groups[i] if len(groups[i]) > 1 else groups[i][0]} for i in range(len(groups))]  # fmt: skip
    return {"nodes": nodes, "edges": sorted(edges), "values": values, "notice": notice}


def _group_label(rows: Sequence[LayerRow], members: list[int]) -> str:
    if len(members) == 1:
        return rows[members[0]].name
    parts = [module_path(rows[i]) for i in members]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) > 1:
            break
        common.append(level[0])
    head = ".".join(common) or f"{rows[members[0]].name} … {rows[members[-1]].name}"
    return f"{head} ({len(members)} layers)"


def _group_ops(rows: Sequence[LayerRow], members: list[int]) -> str:
    counts: dict[str, int] = {}
    for i in members:
        counts[rows[i].op] = counts.get(rows[i].op, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{op}×{c}" for op, c in top) + (", …" if len(counts) > 3 else "")


def _combine_metric(values: Sequence[Any], members: list[int]) -> Any:
    picked = [values[i] for i in members if values[i] is not None]
    if not picked:
        return None
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in picked):
        return sum(picked)
    counts: dict[Any, int] = {}
    for v in picked:
        counts[v] = counts.get(v, 0) + 1
    return max(counts, key=lambda v: counts[v])


# --- colours and the section ---------------------------------------------------
_INTS = {int, type(None)}
_NUMBERS = {int, float, type(None)}


def colour_metrics(report: Report, layer_column: Callable[[str], list[Any]] | None = None,
                   ) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:  # fmt: skip
    """The graph's colour choices (key, label, unit, kind, group) and their values per layer.

    First the suggested ones (MACs, latency and bound per device, activation
    bytes read + written), then every other numeric per-layer quantity.
    """
    rows = report.layers
    q = report.quantities
    read = layer_column or report.layer_column  # (a page reads each column once: render_html)
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
        if vals.count(None) < len(vals):
            metrics.append({"key": key, "label": label, "unit": unit, "kind": kind, "group": group})
            # NaN and infinities (floats) become None; a column of ints as it is
            values[key] = list(vals) if set(map(type, vals)) <= _INTS else [finite(v) for v in vals]

    def column(k: str) -> list[Any]:
        vals = read(k)
        if set(map(type, vals)) <= _NUMBERS:  # the usual column: numbers (and None) only
            return vals
        return [v if is_number(v) else None for v in vals]

    add("macs", label_of("macs", q.get("macs", {"label": "MACs"})), "MAC", column("macs"))
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
            add(k, label_of(k, info), str(info.get("unit", "")), column(k), group="every quantity")
    return metrics, values


def graph_section(report: Report, limit: int = MAX_NODES, layer_column: Callable[[str], list[Any]] | None = None,
                  ) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """(the section's controls as HTML, the graph data for the page's JSON blob)."""
    metrics, values = colour_metrics(report, layer_column)
    view = graph_view(report, values, limit)
    options, group = [], None
    for m in metrics:
        if m["group"] != group:
            options.append(
                ("</optgroup>" if group else "") + f'<optgroup label="{esc(m["group"])}">'
            )
            group = m["group"]
        options.append(f'<option value="{esc(m["key"])}">{esc(m["label"])}</option>')
    select = "".join(options) + ("</optgroup>" if group else "")
    notice = f'<p class="az-notice">{esc(view["notice"])}</p>' if view["notice"] else ""
    section = (
        f'<div class="az-controls"><label>colour by <select class="az-metric">{select}</select></label> '
        '<button class="az-zoom" data-zoom="0.8" aria-label="zoom out">−</button>'
        '<button class="az-zoom" data-zoom="1.25" aria-label="zoom in">+</button> '
        f'<span class="az-legend"></span></div>{notice}<div class="az-graph"></div>'
    )
    return section, {"metrics": metrics, **view}
