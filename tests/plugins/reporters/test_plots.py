"""Plots: every figure is written as PNG and SVG, non-empty, with the right titles and axis labels."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from analyzer import analyze_graph, zoo  # noqa: E402
from analyzer.cli import main  # noqa: E402
from analyzer.core.options import AnalysisOptions  # noqa: E402
from analyzer.plugins.reporters import plots  # noqa: E402


@pytest.fixture(scope="module")
def report():
    return analyze_graph(zoo.tiny_cnn(), devices=["stm32f746", "raspberry-pi-4"])


def labels(fig) -> list[tuple[str, str, str]]:
    return [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]


def test_each_figure_has_its_title_and_axes(report) -> None:
    figs = plots.figures(report)
    assert set(figs) == {"roofline-stm32f746", "roofline-raspberry-pi-4", "layers", "memory-stm32f746", "batch-raspberry-pi-4"}
    assert labels(figs["roofline-stm32f746"])[0] == (
        "Roofline: tiny_cnn on stm32f746", "arithmetic intensity (ops/byte)", "attained performance (ops/s)")
    bars = labels(figs["layers"])
    assert bars[0][0].startswith("Per-layer MACs, activations and latency: tiny_cnn")
    assert [y for _, _, y in bars] == ["MACs", "output activations (elements)", "latency on stm32f746 (ms)"]
    assert bars[-1][1] == "layer (execution order)"
    assert labels(figs["memory-stm32f746"])[0] == (
        "Live memory: tiny_cnn on stm32f746", "step (layers in execution order)", "live activation bytes")
    batch = labels(figs["batch-raspberry-pi-4"])
    assert batch[0] == ("Throughput and latency against batch: tiny_cnn on raspberry-pi-4", "batch size", "throughput (items/s)")
    assert batch[1][2] == "latency per batch (ms)"


def test_roofline_points_are_the_layers_and_memory_line_is_the_sram(report) -> None:
    fig = plots.roofline(report, "raspberry-pi-4")
    points = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert points == len([r for r in report.device("raspberry-pi-4").layers if r.get("latency_s") and r.get("bytes")])
    mem = plots.memory_timeline(report, "stm32f746")
    sram = report.device("stm32f746").details["memory"]["sram"]
    budget = sram["capacity_bytes"] - sram["runtime_overhead_bytes"]
    assert any(list(line.get_ydata()) == [budget, budget] for line in mem.axes[0].lines)


def test_live_bytes_by_hand() -> None:
    placements = [{"first": "a", "last": "b", "bytes": 10}, {"first": "b", "last": "c", "bytes": 5},
                  {"first": "c", "last": "c", "bytes": 1}]  # fmt: skip
    assert plots.live_bytes(placements, ["a", "b", "c"]) == [10, 15, 6]


def test_batch_curve_comes_from_the_report_sweep_when_asked() -> None:
    r = analyze_graph(zoo.tiny_cnn(), AnalysisOptions(hardware={"batch_sizes": [1, 4]}), devices=["raspberry-pi-4"])
    fig = plots.batch_curves(r, "raspberry-pi-4")
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 4]


def test_cli_plot_writes_png_and_svg(tmp_path: Path) -> None:
    out = tmp_path / "plots"
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "--device", "stm32f746", "--plot", str(out), "-o",
                 str(tmp_path / "r.txt")]) == 0  # fmt: skip
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{s}.{e}" for s in ("roofline-stm32f746", "layers", "memory-stm32f746") for e in ("png", "svg"))
    for p in out.iterdir():
        assert p.stat().st_size > 1000
        head = p.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if p.suffix == ".png" else b"<?xml" in head or b"<svg" in head
    assert "Per-layer MACs, activations and latency: tiny_cnn" in (out / "layers.svg").read_text()  # text, not paths


def test_missing_matplotlib_is_a_one_line_hint(monkeypatch: pytest.MonkeyPatch, report) -> None:
    import builtins

    real = builtins.__import__

    def no_mpl(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    with pytest.raises(Exception, match=r"plots need matplotlib: pip install 'analyzer\[plot\]'"):
        plots.figures(report)
