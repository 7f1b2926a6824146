"""What the text reporters show, shared by the table and markdown formats."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from analyzer.core.compare import Comparison
from analyzer.core.completeness import MARKS, percent
from analyzer.core.errors import UsageError
from analyzer.core.report import DEVICE_QUANTITIES, Report, quantity_info
from analyzer.core.rollup import layer_keys
from analyzer.plugins.reporters import textgrid

# Row fields every layer row has, before the quantities (key, header).
LAYER_FIELDS = (("name", "layer"), ("op", "op"), ("output_shapes", "output"))
# Deprecated: totals follow report.quantities (total_quantities()); kept empty for old importers.
TOTAL_ROWS: tuple[str, ...] = ()
_PREFIXES = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_BYTES = (("B", "kB", "MB", "GB", "TB", "PB", "EB"), 1000)
_BYTES_BINARY = (("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"), 1024)


def plain(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, never in scientific notation.

    ``0.000123 -> "0.000123"``, ``1527.3 -> "1527"``, ``1048576.0 -> "1,048,576"`` (integers of five
    or more digits get thousands separators; a table cell never reads ``1.049e+06``).
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exp = math.floor(math.log10(abs(value)))
    if exp >= digits - 1:
        n = round(value)
        return f"{n:,}" if abs(n) >= 10_000 else str(n)
    text = f"{value:.{digits - 1 - exp}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def human(value: float) -> str:
    """A count with an SI prefix up to E: ``724406816 -> "724.4M"``, ``3.072e18 -> "3.1E"``."""
    size = abs(value)
    if size >= 1e3:
        for scale, p in _PREFIXES:
            if size >= scale:
                return f"{value / scale:.1f}{p}"
    return plain(value)


def human_bytes(value: float, binary: bool = False) -> str:
    """Bytes to three significant digits: ``1048576 -> "1.05 MB"`` (10^3 steps, docs/metrics.md's
    MB = 10^6 bytes), or ``"1 MiB"`` with ``binary`` (2^10 steps)."""
    units, step = _BYTES_BINARY if binary else _BYTES
    scaled, i = float(value), 0
    # step up while the rounded figure reaches a step (999.9 kB reads 1 MB, not 1000 kB); a figure
    # at the step or above reaches it rounded, one under 99% of it cannot (3 digits: 0.5% at most)
    while i < len(units) - 1:
        size = abs(scaled)
        if size < step and (size < 0.99 * step or abs(float(plain(scaled, 3).replace(",", ""))) < step):
            break
        scaled, i = scaled / step, i + 1
    return f"{plain(scaled, 3)} {units[i]}"


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return plain(value)
    if isinstance(value, list) and value and isinstance(value[0], list):
        return ", ".join("x".join(map(str, s)) for s in value)
    return str(value)


def marked(text: str, bound: str | None) -> str:
    """``text`` with the mark of an incomplete value in front (``≥`` lower bound, ``≤`` upper, ``~`` not exact).

    Non-numeric values (``fits``, ``bound``) get a trailing ``?`` instead.
    """
    if bound is None or text in ("-", ""):
        return text
    if text[:1].isdigit() or text[:1] == "-":
        return MARKS[bound] + text
    return text + "?"


def show(value: Any, info: dict[str, Any], binary: bool = False, compact: bool = False) -> str:
    """One value as its quantity's ``format`` says, exact where a count is (``724,406,816``;
    ``724.4M`` when ``compact``, for a narrow terminal).

    Bytes read ``1.05 MB`` (``1 MiB`` with ``binary``), ratios and floats keep ``digits``
    significant digits, times are in ms, energies in mJ, rates per second; a per-dim list
    (receptive field) reads ``11x11``. Never scientific notation.
    """
    if value is None:
        return "-"
    if isinstance(value, list) and value and not isinstance(value[0], list):
        return "x".join(show(v, info, binary, compact) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return fmt(value)
    how = info.get("format", "count")
    if how == "bytes":
        return human_bytes(value, binary)
    if how in ("float", "ratio"):
        return plain(value, int(info.get("digits", 4)))
    if how == "seconds":
        return _scaled(value, "s")
    if how == "joules":
        return _scaled(value, "J")
    if how == "rate":
        return f"{plain(value)}/s"
    if compact and how == "count":
        return human(value)
    return fmt(value)


_SUBUNITS = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def _scaled(value: float, unit: str) -> str:
    """Seconds or joules with the prefix that keeps the figure at 1 or more: ``2.769e-08 -> "27.69 ns"``."""
    for scale, prefix in _SUBUNITS:
        if abs(value) >= scale:
            return f"{plain(value / scale)} {prefix}{unit}"
    return "0 " + unit if value == 0 else f"{plain(value / 1e-9)} n{unit}"


def show_exact(value: Any, info: dict[str, Any]) -> str:
    """The totals' value column: every digit of a count or a byte size (``3,504,872``)."""
    if info.get("format") == "bytes" and isinstance(value, int | float) and not isinstance(value, bool):
        return fmt(value)
    return show(value, info)


def show_human(value: Any, info: dict[str, Any], binary: bool = False) -> str:
    """The totals' readable column: SI prefixes for counts, kB/MB (KiB/MiB) for bytes, else nothing."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    how = info.get("format", "count")
    if how == "count":
        return human(value)
    if how == "bytes":
        return human_bytes(value, binary)
    return ""


def _present(report: Report) -> set[str]:
    """Quantities some layer row carries (the engine's rows share theirs: no pass a row)."""
    return set(layer_keys(report.layers))


def column_choices(report: Report) -> tuple[list[str], list[str]]:
    """(quantity names, group names) that ``--columns`` accepts for this report."""
    present = _present(report)
    names = [q for q in report.quantities if q in present]
    names += sorted(q for q in present if q not in report.quantities)  # values no metric declares
    if report.hardware:
        names += [q.name for q in DEVICE_QUANTITIES if q.per_layer]
    groups = {quantity_info(report.quantities, q)["group"]: None for q in names if q in report.quantities}
    if report.hardware:
        groups["hardware"] = None
    return names, [g for g in groups if g]


def select_columns(report: Report, columns: Sequence[str] | None) -> list[str]:
    """The per-layer quantities to show: ``columns`` (names or group names, ``all``), or by default
    every quantity whose ``display`` is ``column``. An unknown name is a UsageError listing the valid ones."""
    present = _present(report)
    if columns is None:
        quantities = report.quantities
        return [q for q, info in quantities.items() if q in present and (
            info if "label" in info and "group" in info else quantity_info(quantities, q))["display"] == "column"]  # fmt: skip
    names, groups = column_choices(report)
    device = {q.name: q for q in DEVICE_QUANTITIES}
    chosen = []
    for item in columns:
        if item == "all":
            chosen += [q for q in names if q in present or q in device]
        elif item in names:
            chosen.append(item)
        elif item in groups:
            chosen += [q for q in names if _info(report, q)["group"] == item and (q in present or q in device)]
        else:
            raise UsageError(f"--columns: unknown column {item!r}; quantities: {', '.join(names)}; "
                             f"groups: {', '.join(groups)}; or all")  # fmt: skip
    return list(dict.fromkeys(chosen))


_DEVICE_INFO = {q.name: q.describe("hardware") for q in DEVICE_QUANTITIES}


def _info(report: Report, name: str) -> dict[str, Any]:
    """A quantity's metadata: the report's, a device result's, or Quantity's defaults."""
    if name not in report.quantities and name in _DEVICE_INFO:
        return _DEVICE_INFO[name]
    return quantity_info(report.quantities, name)


def _device_rows(report: Report) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    return [(r.device, {row.get("name"): row for row in r.layers}) for r in report.hardware]


def layer_table(report: Report, columns: Sequence[str] | None = None, binary: bool = False,
                compact: bool = False) -> tuple[list[str], list[list[str]]]:  # fmt: skip
    """Headers and rows of the per-layer table: name, op, output, then the chosen quantities' columns
    (a device quantity gives one column per device)."""
    chosen = select_columns(report, columns)
    device_names = {q.name for q in DEVICE_QUANTITIES}
    devices = _device_rows(report) if any(q in device_names for q in chosen) else []
    headers = [h for _, h in LAYER_FIELDS]
    for q in chosen:
        label = _info(report, q)["label"]
        headers += [f"{label} {d}" for d, _ in devices] if q in device_names else [label]
    layers = report.layers
    # a column at a time: each quantity's values read as one column and formatted by one rule
    cells = [[row.name for row in layers], [row.op for row in layers], [_shapes(row.output_shapes) for row in layers]]
    for q in chosen:
        info = _info(report, q)
        if q in device_names:
            for _, by_layer in devices:
                cells.append([show(by_layer.get(row.name, {}).get(q), info, binary, compact) for row in layers])
            continue
        texts = show_column(report.layer_column(q), info, binary, compact)
        if any(row.incomplete for row in layers):
            texts = [marked(text, row.incomplete.get(q)) for text, row in zip(texts, layers, strict=True)]
        cells.append(texts)
    return headers, [list(row) for row in zip(*cells, strict=True)] if layers else []


def show_column(values: Sequence[Any], info: dict[str, Any], binary: bool = False, compact: bool = False) -> list[str]:
    """``show`` of each value of one quantity: exact counts (ints, the usual case) take one format call."""
    if info.get("format", "count") == "count":
        if compact:  # a narrow terminal: 724.4M
            return [human(v) if (t := type(v)) is int or t is float else show(v, info, binary, compact) for v in values]
        return [format(v, ",") if type(v) is int else show(v, info, binary, compact) for v in values]
    return [show(v, info, binary, compact) for v in values]


def _shapes(shapes: Any) -> str:
    """``fmt`` of a layer's output shapes: ``1x64x56x56`` (several: comma-separated)."""
    if type(shapes) is list and len(shapes) == 1 and type(shapes[0]) is list:
        return "x".join(map(str, shapes[0]))
    return fmt(shapes)


def layer_cells(report: Report) -> list[list[str]]:
    """The default per-layer table's rows (``layer_table`` has the headers)."""
    return layer_table(report)[1]


def module_table(report: Report, depth: int, columns: Sequence[str] | None = None, binary: bool = False,
                 compact: bool = False) -> tuple[list[str], list[list[str]]]:  # fmt: skip
    """Headers and rows of the per-module roll-ups: path (indented by depth), layer count, then the
    chosen quantities that have a group value."""
    chosen = [q for q in select_columns(report, columns) if q in report.quantities
              and _info(report, q)["aggregate"] != "none"]  # fmt: skip
    headers = ["module", "layers", *(_info(report, q)["label"] for q in chosen)]
    rows = []
    for m in report.modules(depth):
        d = m.to_dict()
        marks = d.get("incomplete") or {}
        cells = ["  " * (m.depth - 1) + m.path, fmt(m.layers)]
        cells += [marked(show(d.get(q), _info(report, q), binary, compact), marks.get(q)) for q in chosen]
        rows.append(cells)
    return headers, rows


def detail_table(report: Report, depth: int | None, columns: Sequence[str] | None = None,
                 binary: bool = False, compact: bool = False) -> tuple[str, list[str], list[list[str]], int]:  # fmt: skip
    """(title, headers, rows, first numeric column) of the per-layer or per-module table."""
    if depth is not None:
        return f"Modules (depth {depth})", *module_table(report, depth, columns, binary, compact), 1
    return "Layers", *layer_table(report, columns, binary, compact), 3


def total_quantities(report: Report, columns: Sequence[str] | None = None) -> list[str]:
    """Every quantity with a model total, in report order, grouped (groups in order of first
    appearance); ``hidden`` ones only when ``columns`` names them or their group."""
    return list(total_infos(report, columns))


def total_infos(report: Report, columns: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """``total_quantities`` with each one's metadata (``_info``)."""
    named = set(columns or ())
    quantities, totals = report.quantities, report.totals
    keys = [q for q in quantities if q in totals]
    keys += [q for q in totals if q not in quantities]
    groups: dict[str, dict[str, dict[str, Any]]] = {}  # in order of first appearance, report order within
    for q in keys:
        info = quantities.get(q)
        if info is None or "label" not in info or "group" not in info:  # (else _info gives it as it is)
            info = _info(report, q)
        if info["display"] != "hidden" or q in named or info["group"] in named:
            groups.setdefault(info["group"], {})[q] = info
    return {q: info for group in groups.values() for q, info in group.items()}


TOTAL_HEADERS = ["quantity", "value", "", "unit"]


def total_groups(report: Report, columns: Sequence[str] | None = None, binary: bool = False) -> list[tuple[str, list[list[str]]]]:
    """The totals block by group: (group, rows of name, exact value, readable value, unit).

    The first column is the quantity's name: what JSON, CSV and ``--columns`` call it.
    """
    groups: dict[str, list[list[str]]] = {}
    bound = report.completeness.bound
    for q, info in total_infos(report, columns).items():
        value = report.totals.get(q)
        if value is None:
            continue
        how = info.get("format", "count")
        if type(value) is int and (how == "count" or how == "bytes"):  # most totals: every digit, then readable
            exact, readable = format(value, ","), human(value) if how == "count" else human_bytes(value, binary)
        else:
            exact, readable = show_exact(value, info), show_human(value, info, binary)
        b = bound(q)
        if b:
            exact, readable = marked(exact, b), marked(readable, b)
        groups.setdefault(info["group"], []).append([q, exact, readable, info.get("unit", "")])
    return list(groups.items())


def total_cells(report: Report, columns: Sequence[str] | None = None, binary: bool = False) -> list[list[str]]:
    """Rows of the totals block, groups one after the other."""
    return [row for _, rows in total_groups(report, columns, binary) for row in rows]


def _summary(value: Any, q: Any) -> str:
    """A device's figure in the Hardware table: latency in ms and energy in mJ, so devices line up."""
    if value is not None and q.format in ("seconds", "joules"):
        return f"{plain(value * 1e3)} m{'s' if q.format == 'seconds' else 'J'}"
    return show(value, q.describe())


HARDWARE_HEADERS = ["device", *(q.label for q in DEVICE_QUANTITIES)]
DEVICE_NAMES = frozenset(q.name for q in DEVICE_QUANTITIES)


def hardware_cells(report: Report) -> list[list[str]]:
    rows = []
    for r in report.hardware:
        m = report.completeness.hardware.get(r.device, {})
        rows.append([r.device, *(marked(_summary(getattr(r, q.name), q), m.get(q.name)) for q in DEVICE_QUANTITIES)])
    return rows


UNCOUNTED_HEADERS = ["not counted", "op", "why", "count", "layers", "share"]


def uncounted_cells(report: Report, max_layers: int = 3) -> list[list[str]]:
    """One row per uncounted part (framework op, kind, reason): count, layers and share of the model."""
    rows = []
    for p in report.completeness.parts:
        layers = p["layers"][:max_layers] + ([f"{len(p['layers']) - max_layers} more"] if len(p["layers"]) > max_layers else [])
        ops = sorted({g["op"] for g in report.completeness.gaps if (g["source_op"] or g["op"]) == p["label"]})
        rows.append([p["label"], ", ".join(ops), p["reason"], str(p["count"]), ", ".join(layers), percent(p["share"])])
    return rows


def completeness_line(report: Report) -> str:
    """The legend of the marks and the share of the model left uncounted ("" when complete)."""
    c = report.completeness
    if c.complete:
        return ""
    return (f"INCOMPLETE: {percent(c.share)} of the model is not counted (params {percent(c.param_share)}, "
            f"activations {percent(c.activation_share)}); marked values are bounds: "
            "≥ at least, ≤ at most, ~ not exact, ? may differ")  # fmt: skip


def _b(v: float) -> str:
    return human_bytes(v)


def hardware_notes(report: Report) -> list[str]:
    """One line per device on memory fit (margins, bottleneck layer) and the batch sweep, where given."""
    lines = []
    for r in report.hardware:
        mem = r.details.get("memory") or {}
        if "flash" in mem and "sram" in mem:  # MCU: flash and SRAM apart
            f, s = mem["flash"], mem["sram"]
            lines.append(
                f"{r.device}: flash {_b(f['required_bytes'])} of {_b(f['capacity_bytes'])} (margin {_b(f['margin_bytes'])}); "
                f"{s['level']} arena {_b(s['arena_bytes'])} + runtime {_b(s['runtime_overhead_bytes'])} of "
                f"{_b(s['capacity_bytes'])} (margin {_b(s['margin_bytes'])}); peak at layer {mem.get('bottleneck_layer')}"
            )
            # a .tflite file runs on TFLM as it is: its own arena is checked against TFLM (docs/hardware.md)
            tflm = (mem.get("arena") or {}).get("tflm") or {} if report.model.get("framework") == "tflite" else {}
            if tflm.get("refused"):
                lines.append(f"{r.device}: stock TFLM would refuse this model: {tflm['refused']}")
            elif tflm.get("arena_bytes"):  # what the stock runtime allocates, beside the analyzer's plan
                cmsis = (tflm.get("cmsis_nn") or {}).get("arena_bytes")
                lines.append(
                    f"{r.device}: stock TFLM's own arena {_b(tflm['arena_bytes'])} (planned {_b(tflm['head_bytes'])} + "
                    f"persistent {_b(tflm['tail_bytes'])}, at the host build's struct sizes)"
                    + (f", {_b(cmsis)} with CMSIS-NN kernels" if cmsis and cmsis != tflm["arena_bytes"] else "")
                )  # fmt: skip
        elif "required_bytes" in mem:
            lines.append(f"{r.device}: needs {_b(mem['required_bytes'])} of {_b(mem['capacity_bytes'])} "
                         f"{mem.get('level', '')} (margin {_b(mem['margin_bytes'])})")  # fmt: skip
        energy = r.details.get("energy") or {}
        if energy.get("from_power_j") is not None and r.energy_j is not None:
            # say why the energy is a lower bound when bytes moved at a level with no energy figure
            unmodelled = energy.get("unmodelled_bytes") or {}  # level -> bytes
            gap = ", ".join(f"{_b(b)} of {level}" for level, b in unmodelled.items())
            gap = f" (≥: {gap} moved with no energy figure)" if gap else ""
            lines.append(f"{r.device}: energy {plain(r.energy_j * 1e3)} mJ from ops and bytes moved{gap}, "
                         f"{plain(energy['from_power_j'] * 1e3)} mJ from power x latency")  # fmt: skip
        sweep = r.details.get("batch_sweep") or []
        if sweep:
            lines.append(f"{r.device} batch sweep: " + "; ".join(
                f"{b['batch']}: {plain(b['latency_s'] * 1e3)} ms, {plain(b['throughput_per_s'])}/s" + ("" if b["fits"] else " (does not fit)")
                for b in sweep))  # fmt: skip
    return lines


def comparison_cells(comparison: Comparison, binary: bool = False) -> tuple[list[str], list[list[str]]]:
    """Totals side by side (every quantity with a total, ``hidden`` ones left out), each as its
    ``format`` says; a model's incomplete total carries its mark (``≥``...)."""
    headers = ["quantity", *comparison.labels, "agree", "why not"]
    infos = comparison.quantities()
    rows = []
    for r in comparison.totals():
        q = r["quantity"]
        info = infos.get(q) or quantity_info({}, q)
        if info.get("display") == "hidden":
            continue
        bounds = [rep.completeness.bound(q) for rep in comparison.reports]
        values = [marked(show_exact(v, info), b) for v, b in zip(r["values"], bounds, strict=True)]
        agree = "yes" if r["equal"] else "NO"
        if any(bounds):  # equal figures, one of them a bound: they may still differ
            agree += "?"
        rows.append([q, *values, agree, r["explanation"]])
    return headers, rows


COMPARISON_HARDWARE_HEADERS = ["model", *HARDWARE_HEADERS]


def comparison_hardware_cells(comparison: Comparison) -> list[list[str]]:
    """One row per model and device: the Hardware table of each report, labelled."""
    return [[label, *row] for label, rep in zip(comparison.labels, comparison.reports, strict=True)
            for row in hardware_cells(rep)]  # fmt: skip


def comparison_hardware_notes(comparison: Comparison) -> list[str]:
    """Each model's hardware notes (memory fit, energy, batch sweep), labelled."""
    return [f"{label}: {line}" for label, rep in zip(comparison.labels, comparison.reports, strict=True)
            for line in hardware_notes(rep)]  # fmt: skip


def comparison_detail_tables(comparison: Comparison, depth: int, columns: Sequence[str] | None = None,
                             binary: bool = False) -> list[tuple[str, list[str], list[list[str]], int]]:  # fmt: skip
    """Each model's per-module roll-up down to ``depth`` (module paths differ across frameworks,
    so the roll-ups stand one under the other rather than aligned)."""
    tables = []
    for label, rep in zip(comparison.labels, comparison.reports, strict=True):
        title, headers, rows, numeric_from = detail_table(rep, depth, columns, binary)
        tables.append((f"{label}: {title}", headers, rows, numeric_from))
    return tables


def comparison_notes(comparison: Comparison) -> list[str]:
    """One line per model whose totals are incomplete: what was not counted and its share."""
    return [f"{label}: INCOMPLETE, {rep.completeness.describe()}"
            for label, rep in zip(comparison.labels, comparison.reports, strict=True) if not rep.complete]  # fmt: skip


def aligned_quantities(comparison: Comparison, columns: Sequence[str] | None = None) -> list[str]:
    """The aligned rows' columns: ``columns`` (names or groups), else each ``column`` quantity."""
    infos = comparison.quantities()
    compared = comparison.row_quantities()
    if columns is None:
        return [q for q in compared if infos[q].get("display") == "column"]
    groups = list(dict.fromkeys(infos[q]["group"] for q in compared))
    chosen = []
    for item in columns:
        if item == "all":
            chosen += compared
        elif item in compared:
            chosen.append(item)
        elif item in groups:
            chosen += [q for q in compared if infos[q]["group"] == item]
        elif item not in DEVICE_NAMES:  # device columns are per report (the Hardware table)
            raise UsageError(f"--columns: unknown column {item!r}; quantities: {', '.join(compared)}; "
                             f"groups: {', '.join(groups)}; or all")  # fmt: skip
    return list(dict.fromkeys(chosen))


def aligned_cells(comparison: Comparison, mark=lambda text: text, columns: Sequence[str] | None = None,
                  binary: bool = False) -> tuple[list[str], list[list[str]]]:  # fmt: skip
    """Rows of the aligned layers: names per model, then each quantity (one value if all agree,
    else every model's, passed through ``mark`` to highlight), then the explanation."""
    infos = comparison.quantities()
    shown = aligned_quantities(comparison, columns)
    headers = [*comparison.labels, *(infos[q]["label"] for q in shown), "difference"]
    rows = []
    for row in comparison.layers():
        names = [", ".join(n) if n else "-" for n in row.layers]
        if row.kind == "segment":
            names = [f"({n})" if n != "-" else n for n in names]
        cells = []
        for q in shown:
            vals = row.values[q]
            text = [show(v, infos[q], binary) for v in vals]
            cells.append(text[0] if len(set(vals)) == 1 else mark(" / ".join(text)))
        rows.append([*names, *cells, row.explanation])
    return headers, rows


def model_line(report: Report) -> str:
    m = report.model
    ins = ", ".join(f"{i['name']} {'x'.join(map(str, i['shape']))} {i['dtype']}" for i in m["inputs"])
    capture = f", captured by {m['capture']}" if m.get("capture") else ""
    capture += f", {m['mode']} mode" if m.get("mode") else ""
    return f"{m['name']} ({m['framework'] or 'ir'}{capture}); inputs: {ins}"


def one_line(text: object) -> str:
    """A message on one line: a warning is one line wherever it is printed (docs/errors.md)."""
    return " ".join(str(text).split())


# C0 and C1 control characters but tab and newline, shown as \xNN: names read from an untrusted file
# (docs/security.md) never send ESC or BEL to a terminal (colours, titles, cursor moves)
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)}


def printable(text: str) -> str:
    """``text`` with control characters written as ``\\xNN`` escapes (tab and newline kept)."""
    return text.translate(_CONTROL)


def rich_text(*renderables: Any, color: bool = False, width: int | None = None) -> str:
    """Render rich objects to a string (colors only when asked).

    Strings (notes, warnings) are one line each, never broken by the renderer:
    a terminal wraps them, a file or pipe gets them whole (one line to grep).
    Tables come out as rich draws them, written by ``textgrid`` wherever it
    reproduces rich exactly (25x faster; bench/render.py).
    """
    parts = [printable(r) if isinstance(r, str) else r for r in renderables]
    return textgrid.to_text(*parts, color=color, width=width)
