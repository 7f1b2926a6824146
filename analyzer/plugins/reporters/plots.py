"""Plots of a report (matplotlib, ``analyzer[plot]``): ``--plot DIR`` writes each as PNG and SVG.

- ``roofline-<device>``: the device's roofline (peak ops/s per data type,
  one bandwidth slope per memory level) with every layer as a point at its
  arithmetic intensity and attained ops/s, sized by its share of the time;
- ``layers``: per-layer bars of MACs, activations and (first device) latency;
- ``memory-<device>`` (microcontrollers): bytes live along the execution
  order against the SRAM line, graph order and the reordered order beside it;
- ``batch-<device>`` (CPUs, GPUs): throughput and latency against batch size.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot (no
global state, no display needed). The HTML report embeds the same figures as
inline SVG (``html_plots``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from analyzer.core.errors import UsageError

MAX_BARS = 60  # more layers: the largest by MACs, and the title says how many are shown
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)


def _figure(width: float = 8.0, height: float = 5.0) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("plots need matplotlib: pip install 'analyzer[plot]'") from None
    return Figure(figsize=(width, height), layout="constrained")


def figures(report: Any) -> dict[str, Any]:
    """Every plot the report supports, by file stem."""
    out = {}
    for result in report.hardware:
        out[f"roofline-{result.device}"] = roofline(report, result.device)
    out["layers"] = layer_bars(report)
    for result in report.hardware:
        if "arena" in (result.details.get("memory") or {}):
            out[f"memory-{result.device}"] = memory_timeline(report, result.device)
        elif result.details.get("roofline"):
            out[f"batch-{result.device}"] = batch_curves(report, result.device)
    return out


def write_plots(report: Any, directory: str | Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write every figure of ``report`` to ``directory`` (created) as PNG and SVG; returns the paths."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--plot: cannot create {directory} ({e.strerror})") from None
    return save_figures(figures(report), directory, formats)


def save_figures(figs: dict[str, Any], directory: Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Each figure as ``<stem>.<format>``; SVG text stays text (searchable, smaller)."""
    import matplotlib

    paths = []
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for stem, fig in figs.items():
            for fmt in formats:
                path = directory / f"{_safe(stem)}.{fmt}"
                fig.savefig(path, format=fmt, dpi=110)
                paths.append(path)
    return paths


def svg(fig: Any) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")
    return buf.getvalue()


def html_plots(report: Any) -> list[Any]:
    """The figures as ``Plot`` objects for the HTML report (inline SVG); none without matplotlib."""
    from analyzer.plugins.reporters.html import Plot

    try:
        figs = figures(report)
    except UsageError:
        return []
    return [Plot(fig.axes[0].get_title() or stem, svg(fig)) for stem, fig in figs.items()]


def _safe(stem: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)


def roofline(report: Any, device: str) -> Any:
    """Attained ops/s against arithmetic intensity: the device's roof and every layer under it."""
    result = report.device(device)
    figs = result.details.get("figures", {})
    fig = _figure()
    ax = fig.add_subplot()
    rows = [r for r in result.layers if r.get("latency_s") and r.get("bytes") and r.get("ops")]
    total = sum(r["latency_s"] for r in rows) or 1.0
    for bound, colour in (("compute", "tab:red"), ("memory", "tab:blue")):
        pts = [r for r in rows if r.get("bound") == bound]
        if pts:
            ax.scatter([r["ops"] / r["bytes"] for r in pts], [r["ops"] / r["latency_s"] for r in pts],
                       s=[10 + 400 * r["latency_s"] / total for r in pts], alpha=0.6, color=colour,
                       label=f"{bound}-bound layers ({len(pts)})")  # fmt: skip
    peaks = {k.removeprefix("peak_ops_per_s."): v["value"] for k, v in figs.items() if k.startswith("peak_ops_per_s.")}
    bandwidths = {k.removesuffix(".bandwidth_bytes_per_s"): v["value"] for k, v in figs.items()
                  if k.endswith(".bandwidth_bytes_per_s")}  # fmt: skip
    xs = [r["ops"] / r["bytes"] for r in rows] or [1.0]
    lo, hi = min(xs + [0.1]) / 2, max(xs + [100.0]) * 2
    top = max(peaks.values(), default=max((r["ops"] / r["latency_s"] for r in rows), default=1.0))
    for dtype, peak in peaks.items():
        ax.axhline(peak, linestyle="--", linewidth=1, color="black")
        ax.annotate(f"peak {dtype}", (hi, peak), ha="right", va="bottom", fontsize=8)
    for level, bw in bandwidths.items():  # the roof: bandwidth x intensity up to the ridge, then the peak
        ridge = min(max(top / bw, lo), hi)
        ax.plot([lo, ridge, hi], [bw * lo, bw * ridge, min(bw * hi, top)], linewidth=1, label=f"{level} bandwidth")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (ops/byte)")
    ax.set_ylabel("attained performance (ops/s)")
    ax.set_title(f"Roofline: {report.model.get('name')} on {device}")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def layer_bars(report: Any) -> Any:
    """MACs, activations and latency of each layer (the largest MAX_BARS by MACs, in execution order)."""
    layers = list(report.layers)
    shown = layers
    if len(layers) > MAX_BARS:
        keep = {r.name for r in sorted(layers, key=lambda r: -(r.get("macs") or 0))[:MAX_BARS]}
        shown = [r for r in layers if r.name in keep]
    device = report.hardware[0] if report.hardware else None
    latency = {r["name"]: r.get("latency_s") or 0.0 for r in device.layers} if device else {}
    panels = [("macs", "MACs", lambda r: r.get("macs") or 0),
              ("activations", "output activations (elements)", lambda r: r.get("activations") or 0)]  # fmt: skip
    if device:
        panels.append(("latency", f"latency on {device.device} (ms)", lambda r: latency.get(r.name, 0.0) * 1e3))
    fig = _figure(max(8.0, len(shown) * 0.18), 2.6 * len(panels) + 1)
    axes = fig.subplots(len(panels), 1, sharex=True)
    xs = range(len(shown))
    for ax, (_key, label, value) in zip(axes, panels, strict=True):
        ax.bar(xs, [value(r) for r in shown], width=0.8)
        ax.set_ylabel(label)
    axes[-1].set_xticks(list(xs), [r.name for r in shown], rotation=90, fontsize=6)
    axes[-1].set_xlabel("layer (execution order)")
    note = f" (largest {len(shown)} of {len(layers)} by MACs)" if len(shown) < len(layers) else ""
    axes[0].set_title(f"Per-layer MACs, activations and latency: {report.model.get('name')}{note}")
    return fig


def live_bytes(placements: list[dict[str, Any]], order: list[str]) -> list[int]:
    """Bytes live at each step of ``order`` (a buffer lives from its first to its last layer)."""
    index = {name: i for i, name in enumerate(order)}
    live = [0] * len(order)
    for p in placements:
        first, last = index.get(p["first"]), index.get(p["last"])
        if first is None or last is None:
            continue
        for i in range(first, last + 1):
            live[i] += int(p["bytes"])
    return live


def memory_timeline(report: Any, device: str) -> Any:
    """Live activation bytes per step, in graph order and in the planner's reordered order, against SRAM."""
    result = report.device(device)
    memory = result.details["memory"]
    arena = memory["arena"]
    graph_order = [r.name for r in report.layers]
    fig = _figure()
    ax = fig.add_subplot()
    series = {"graph order": (arena.get("placements", []), arena.get("order") or graph_order)}
    reordered = _reordered_arena(report, device) if not arena.get("reorder") else None
    if reordered is not None:
        series["reordered (planner's search)"] = (reordered.get("placements", []), reordered.get("order") or graph_order)
    elif arena.get("reorder"):
        series = {"reordered (planner's search)": series["graph order"]}
    for (label, (placements, order)), style in zip(series.items(), ("-", "--"), strict=False):
        ax.step(range(len(order)), live_bytes(placements, order), where="mid", label=label, linestyle=style)
    sram = memory.get("sram", {})
    if sram.get("capacity_bytes"):
        budget = sram["capacity_bytes"] - sram.get("runtime_overhead_bytes", 0)
        ax.axhline(budget, color="tab:red", linestyle="--", label=f"{sram.get('level', 'SRAM')} for the arena")
    ax.set_xlabel("step (layers in execution order)")
    ax.set_ylabel("live activation bytes")
    ax.set_title(f"Live memory: {report.model.get('name')} on {device}")
    ax.legend(fontsize=8)
    return fig


def _reordered_arena(report: Any, device: str) -> dict[str, Any] | None:
    """The same device's plan with the planner's reordering on (the hardware stage again, same graph)."""
    if report.graph is None:
        return None
    from analyzer.core.engine import analyze_graph
    from analyzer.core.options import AnalysisOptions

    opts = AnalysisOptions.from_kwargs(report.options)
    opts = replace(opts, hardware={**opts.hardware, "reorder": True})
    again = analyze_graph(report.graph, opts, devices=[device])
    return again.hardware[0].details["memory"]["arena"]


def batch_curves(report: Any, device: str) -> Any:
    """Throughput and latency against batch size (the report's sweep, or powers of two up to 128)."""
    result = report.device(device)
    sweep = result.details.get("batch_sweep") or []
    if not sweep and report.graph is not None:
        from analyzer.core.engine import analyze_graph
        from analyzer.core.options import AnalysisOptions

        opts = AnalysisOptions.from_kwargs(report.options)
        opts = replace(opts, hardware={**opts.hardware, "batch_sizes": list(BATCHES)})
        sweep = analyze_graph(report.graph, opts, devices=[device]).hardware[0].details.get("batch_sweep") or []
    fig = _figure()
    ax = fig.add_subplot()
    batches = [r["batch"] for r in sweep]
    ax.plot(batches, [r["throughput_per_s"] for r in sweep], marker="o", color="tab:blue", label="throughput")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("throughput (items/s)")
    other = ax.twinx()
    other.plot(batches, [r["latency_s"] * 1e3 for r in sweep], marker="s", color="tab:orange", label="latency")
    other.set_ylabel("latency per batch (ms)")
    ax.set_title(f"Throughput and latency against batch: {report.model.get('name')} on {device}")
    ax.legend(loc="upper left", fontsize=8)
    other.legend(loc="lower right", fontsize=8)
    return fig
