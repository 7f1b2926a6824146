"""What the text reporters show, shared by the table and markdown formats."""

from __future__ import annotations

import io
import math
from typing import Any

from rich.console import Console

from analyzer.core.compare import Comparison
from analyzer.core.completeness import MARKS, percent
from analyzer.core.report import Report

LAYER_COLUMNS = (
    ("name", "layer"),
    ("op", "op"),
    ("output_shapes", "output"),
    ("params", "params"),
    ("macs", "MACs"),
    ("flops", "FLOPs"),
    ("activations", "new act."),
    ("io_activations", "in+out act."),
)
TOTAL_ROWS = (
    "params", "non_trainable_params", "buffers", "model_size_bytes", "macs", "flops",
    "mac_flops", "other_flops", "int_ops", "total_activations", "peak_activations",
    "peak_live_activations", "peak_activation_bytes", "peak_live_activation_bytes",
)  # fmt: skip
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
    for scale, p in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.1f}{p}"
    return plain(value)


def human_bytes(value: float, binary: bool = False) -> str:
    """Bytes to three significant digits: ``1048576 -> "1.05 MB"`` (10^3 steps, docs/metrics.md's
    MB = 10^6 bytes), or ``"1 MiB"`` with ``binary`` (2^10 steps)."""
    units, step = _BYTES_BINARY if binary else _BYTES
    scaled, i = float(value), 0
    # step up while the rounded figure reaches a step (999.9 kB reads 1 MB, not 1000 kB)
    while i < len(units) - 1 and abs(float(plain(scaled, 3).replace(",", ""))) >= step:
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


def layer_cells(report: Report) -> list[list[str]]:
    rows = []
    for row in report.layers:
        marks = row.incomplete
        rows.append([marked(fmt(row.get(key)), marks.get(key)) if marks else fmt(row.get(key)) for key, _ in LAYER_COLUMNS])
    return rows


MODULE_COLUMNS = (
    ("path", "module"), ("layers", "layers"), ("params", "params"), ("macs", "MACs"),
    ("flops", "FLOPs"), ("activations", "new act."), ("io_activations", "max in+out act."),
)  # fmt: skip


def module_cells(report: Report, depth: int) -> list[list[str]]:
    rows = []
    for m in report.modules(depth):
        d = m.to_dict()
        marks = d.get("incomplete") or {}
        cells = [marked(fmt(d.get(key)), marks.get(key)) for key, _ in MODULE_COLUMNS]
        cells[0] = "  " * (m.depth - 1) + cells[0]
        rows.append(cells)
    return rows


def detail_table(report: Report, depth: int | None) -> tuple[str, list[str], list[list[str]], int]:
    """(title, headers, rows, first numeric column) of the per-layer or per-module table."""
    if depth is not None:
        return f"Modules (depth {depth})", [h for _, h in MODULE_COLUMNS], module_cells(report, depth), 1
    return "Layers", [h for _, h in LAYER_COLUMNS], layer_cells(report), 3


def total_cells(report: Report) -> list[list[str]]:
    rows = []
    for key in TOTAL_ROWS:
        value = report.totals.get(key)
        if value is None:
            continue
        unit = report.quantities.get(key, {}).get("unit", "")
        b = report.completeness.bound(key)
        rows.append([key, marked(fmt(value), b), marked(human(value), b) if isinstance(value, int | float) else "", unit])
    return rows


def hardware_cells(report: Report) -> list[list[str]]:
    rows = []
    for r in report.hardware:
        m = report.completeness.hardware.get(r.device, {})
        rows.append([r.device, marked(f"{plain(r.latency_s * 1e3)} ms", m.get("latency_s")),
                     marked(f"{plain(r.throughput_per_s)}/s", m.get("throughput_per_s")),
                     "-" if r.energy_j is None else marked(f"{plain(r.energy_j * 1e3)} mJ", m.get("energy_j")),
                     marked(r.bound, m.get("bound")), marked(fmt(r.fits), m.get("fits"))])  # fmt: skip
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


HARDWARE_HEADERS = ["device", "latency", "throughput", "energy", "bound", "fits"]


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


def comparison_cells(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Totals side by side; a model's incomplete total carries its mark (``≥``...)."""
    headers = ["quantity", *comparison.labels, "agree", "why not"]
    rows = []
    for r in comparison.totals():
        q = r["quantity"]
        bounds = [rep.completeness.bound(q) for rep in comparison.reports]
        values = [marked(fmt(v), b) for v, b in zip(r["values"], bounds, strict=True)]
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


def comparison_detail_tables(comparison: Comparison, depth: int) -> list[tuple[str, list[str], list[list[str]], int]]:
    """Each model's per-module roll-up down to ``depth`` (module paths differ across frameworks,
    so the roll-ups stand one under the other rather than aligned)."""
    tables = []
    for label, rep in zip(comparison.labels, comparison.reports, strict=True):
        title, headers, rows, numeric_from = detail_table(rep, depth)
        tables.append((f"{label}: {title}", headers, rows, numeric_from))
    return tables


def comparison_notes(comparison: Comparison) -> list[str]:
    """One line per model whose totals are incomplete: what was not counted and its share."""
    return [f"{label}: INCOMPLETE, {rep.completeness.describe()}"
            for label, rep in zip(comparison.labels, comparison.reports, strict=True) if not rep.complete]  # fmt: skip


ALIGNED_QUANTITIES = (("params", "params"), ("macs", "MACs"), ("mac_flops", "MAC FLOPs"),
                      ("other_flops", "other FLOPs"), ("activations", "new act."))  # fmt: skip


def aligned_cells(comparison: Comparison, mark=lambda text: text) -> tuple[list[str], list[list[str]]]:
    """Rows of the aligned layers: names per model, then each quantity (one value if all agree,
    else every model's, passed through ``mark`` to highlight), then the explanation."""
    headers = [*comparison.labels, *(h for _, h in ALIGNED_QUANTITIES), "difference"]
    rows = []
    for row in comparison.layers():
        names = [", ".join(n) if n else "-" for n in row.layers]
        if row.kind == "segment":
            names = [f"({n})" if n != "-" else n for n in names]
        cells = []
        for q, _ in ALIGNED_QUANTITIES:
            vals = row.values[q]
            cells.append(fmt(vals[0]) if len(set(vals)) == 1 else mark(" / ".join(fmt(v) for v in vals)))
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


def rich_text(*renderables: Any, color: bool = False, width: int | None = None) -> str:
    """Render rich objects to a string (colors only when asked).

    Strings (notes, warnings) are one line each, never broken by the renderer:
    a terminal wraps them, a file or pipe gets them whole (one line to grep).
    """
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width or 200, highlight=False)
    for r in renderables:
        console.print(r, soft_wrap=isinstance(r, str))
    return buf.getvalue()
