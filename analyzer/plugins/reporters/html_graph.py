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
from array import array
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
    infos = g.infos()
    node = g.node
    layer_of: dict[str, int] = {}  # tensor -> the layer producing it
    for i, row in enumerate(rows):
        for n in row.nodes:
            if n in infos:
                for t in node(n).outputs:
                    layer_of[t] = i
    edges: set[tuple[int, int]] = set()
    for i, row in enumerate(rows):
        for n in row.nodes:
            info = infos.get(n)
            if info is not None:
                for t in info.act_inputs:
                    j = layer_of.get(t)
                    if j is not None and j != i:
                        edges.add((j, i))
    return edges


def _paths(rows: Sequence[LayerRow]) -> list[list[str]]:
    """``module_path`` of each row (the regular expression only where a call suffix can be)."""
    return [row.scope.split(".") if row.scope and "@" not in row.scope else module_path(row) for row in rows]


def _groups(rows: Sequence[LayerRow], limit: int, paths: list[list[str]]) -> tuple[list[list[int]], str]:
    """Layer indices per collapsed node, and how they were grouped (module depth or runs)."""
    deepest = max((len(p) for p in paths), default=1)
    for depth in range(deepest, 0, -1):
        keys: dict[str, list[int]] = {}
        for i, p in enumerate(paths):
            members = keys.get(key := ".".join(p[:depth]))
            if members is not None:
                members.append(i)
            elif len(keys) < limit:
                keys[key] = [i]
            else:  # a group too many: a shallower depth, without reading the rest
                break
        else:
            return list(keys.values()), f"modules at depth {depth}"
    size = math.ceil(len(rows) / limit)
    return [
        list(range(s, min(s + size, len(rows)))) for s in range(0, len(rows), size)
    ], f"runs of {size} layers"


def _layout(n: int, edges: set[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """(x, rank) of each node: longest-path ranks; x at the leftmost predecessor's column or the next free one.

    The leftmost rather than the mean keeps a main path straight however many
    residual branches join it; side branches take the next columns.
    """
    preds: list[list[int]] = [[] for _ in range(n)]
    # execution order is topological; a collapsed group may point back: ignored for layout
    for a, b in edges:
        if a < b:
            preds[b].append(a)
    rank = [0] * n
    at = rank.__getitem__
    for i, ps in enumerate(preds):
        if ps:
            rank[i] = 1 + max(map(at, ps))
    by_rank: dict[int, list[int]] = {}
    for i, r in enumerate(rank):
        by_rank.setdefault(r, []).append(i)
    x = [0] * n
    column = x.__getitem__
    for r in sorted(by_rank):
        members = by_rank[r]
        if len(members) == 1:  # most ranks of a network: the one node at its leftmost predecessor's column
            i = members[0]
            x[i] = min(map(column, preds[i]), default=0)
            continue
        wanted = {i: min(map(column, preds[i]), default=0) for i in members}
        members.sort(key=lambda i: (wanted[i], i))
        last = -1  # columns are 0 and up
        for i in members:  # as close to the wanted column as the nodes already placed allow
            x[i] = max(wanted[i], last + 1)
            last = x[i]
    return x, rank


def graph_view(
    report: Report, metrics: Mapping[str, Sequence[Any]], limit: int = MAX_NODES
) -> dict[str, Any]:
    """The graph view's data: the nodes as columns (``label``, ``op``, column ``x``, ``rank``,
    ``layers``: a layer's index or a collapsed node's list of them), edges, metric values per node.

    ``metrics`` maps a colour metric's key to one value per layer (None where
    absent); a collapsed node gets its members' values combined: numbers
    summed (MACs, latency and bytes add up), a category (``bound``) the one
    most of its members have.
    """
    rows = report.layers
    edges = layer_edges(report)
    notice = ""
    if len(rows) > limit:
        paths = _paths(rows)
        groups, how = _groups(rows, limit, paths)
        notice = (f"{len(rows):,} layers collapsed into {len(groups):,} nodes ({how}); "
                  "the table below lists every layer")  # fmt: skip
        group_of = [0] * len(rows)
        for gi, members in enumerate(groups):
            for i in members:
                group_of[i] = gi
        edges = {(group_of[a], group_of[b]) for a, b in edges if group_of[a] != group_of[b]}
        labels = [_group_label(rows, members, paths) for members in groups]
        ops = [_group_ops(rows, members) for members in groups]
        values = {k: _combine_metric(vals, groups) for k, vals in metrics.items()}
    else:
        labels = [row.name for row in rows]
        ops = [row.op for row in rows]
        values = {k: vals if type(vals) is list else list(vals) for k, vals in metrics.items()}
        groups = list(range(len(rows)))  # type: ignore[arg-type]  # each node one layer
    x, rank = _layout(len(groups), edges)
    nodes = {"label": labels, "op": ops, "x": x, "rank": rank,
             "layers": [g if len(g) > 1 else g[0] for g in groups] if notice else groups}  # fmt: skip
    return {"nodes": nodes, "edges": sorted(edges), "values": values, "notice": notice}


def _group_label(rows: Sequence[LayerRow], members: list[int], paths: list[list[str]]) -> str:
    if len(members) == 1:
        return rows[members[0]].name
    parts = [paths[i] for i in members]
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


def _combine_metric(values: Sequence[Any], groups: list[list[int]]) -> list[Any]:
    """Each group's value of one metric: its members' numbers summed in order, or the category
    most of them have; None where no member has a value."""
    if type(values) is array:  # a stored column: numbers only, a module's layers mostly a run of them
        return [sum(values[m[0] : m[-1] + 1]) if m[-1] - m[0] + 1 == len(m) else sum(map(values.__getitem__, m))
                for m in groups]  # fmt: skip
    if set(map(type, values)) <= _NUMBERS:  # numbers (the usual metric): sums in C, None as 0
        filled = [0 if v is None else v for v in values]
        has = [v is not None for v in values]
        return [sum(map(filled.__getitem__, members)) if any(map(has.__getitem__, members)) else None
                for members in groups]  # fmt: skip
    return [_combine_values(values, members) for members in groups]


def _combine_values(values: Sequence[Any], members: list[int]) -> Any:
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
                   shared: frozenset[str] | set[str] = frozenset(),
                   ) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:  # fmt: skip
    """The graph's colour choices (key, label, unit, kind, group) and their values per layer.

    First the suggested ones (MACs, latency and bound per device, activation
    bytes read + written), then every other numeric per-layer quantity.
    ``shared``: quantities with numbers offered without their values, each
    among every other quantity as its key alone (the page reads its values
    from its layer table, its label and unit from its conventions).
    """
    rows = report.layers
    q = report.quantities
    read = layer_column or report.layer_column  # (a page reads each column once: render_html)
    metrics: list[dict[str, Any]] = []
    values: dict[str, list[Any]] = {}

    offered: set[str] = set()

    def add(key: str, label: str, unit: str, vals: list[Any] | None, kind: str = "number",
            group: str = "suggested") -> None:  # fmt: skip
        """Offer ``key`` if some layer has a value; ``vals`` None: a shared quantity (no values)."""
        if vals is None:  # shared: a column with numbers
            pass
        elif type(vals) is array:  # a stored column of numbers, kept as it is unless NaN or infinities
            if not vals:
                return
            total = sum(vals)
            values[key] = vals if total - total == 0 else [finite(v) for v in vals]
        elif vals.count(None) == len(vals):
            return
        else:  # NaN and infinities (floats) become None; a column of ints as it is
            values[key] = list(vals) if set(map(type, vals)) <= _INTS else [finite(v) for v in vals]
        offered.add(key)
        metrics.append({"key": key, "label": label, "unit": unit, "kind": kind, "group": group})

    def numbers(k: str) -> Sequence[Any]:
        vals = read(k)
        if type(vals) is array or set(map(type, vals)) <= _NUMBERS:  # the usual column: numbers (and None) only
            return vals
        return [v if is_number(v) else None for v in vals]

    def column(k: str) -> list[Any] | None:
        return None if k in shared else numbers(k)

    add("macs", label_of("macs", q.get("macs", {"label": "MACs"})), "MAC", column("macs"))
    for r in report.hardware:
        by_name = {layer.get("name"): layer for layer in r.layers}
        add(f"latency_s@{r.device}", f"latency on {r.device}", "s",
            [by_name.get(row.name, {}).get("latency_s") for row in rows])  # fmt: skip
    reads, writes = numbers("read_bytes"), numbers("write_bytes")
    add("activation_bytes", "activation bytes (read + written)", "byte",
        [None if a is None and b is None else (a or 0) + (b or 0) for a, b in zip(reads, writes, strict=True)])  # fmt: skip
    for r in report.hardware:
        by_name = {layer.get("name"): layer for layer in r.layers}
        add(f"bound@{r.device}", f"bound on {r.device}", "",
            [by_name.get(row.name, {}).get("bound") for row in rows], kind="category")  # fmt: skip
    for k, info in q.items():
        if k in offered or not info.get("per_layer", True):
            continue
        if k in shared:
            metrics.append(k)  # type: ignore[arg-type]
        else:
            add(k, label_of(k, info), str(info.get("unit", "")), column(k), group="every quantity")
    return metrics, values


def graph_section(report: Report, limit: int = MAX_NODES, layer_column: Callable[[str], list[Any]] | None = None,
                  shared: frozenset[str] | set[str] = frozenset()) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """(the section's controls as HTML, the graph data for the page's JSON blob); ``shared``:
    the metrics the page's layer table holds as numbers, given when that table has every layer
    (the nodes then carry no label, op or layer index either)."""
    shared = shared if len(report.layers) <= limit else frozenset()  # a collapsed node combines values
    metrics, values = colour_metrics(report, layer_column, shared)
    view = graph_view(report, values, limit)
    if shared:  # each node one layer, which the page's layer table names (report.js: nodeLabel, nodeOp)
        for k in ("label", "op", "layers"):
            del view["nodes"][k]
    notice = f'<p class="az-notice">{esc(view["notice"])}</p>' if view["notice"] else ""
    section = (  # the script fills the choices (report.js initGraph)
        '<div class="az-controls"><label>colour by <select class="az-metric"></select></label> '
        '<button class="az-zoom" data-zoom="0.8" aria-label="zoom out">−</button>'
        '<button class="az-zoom" data-zoom="1.25" aria-label="zoom in">+</button> '
        f'<span class="az-legend"></span></div>{notice}<div class="az-graph"></div>'
    )
    return section, {"metrics": metrics, **view}
