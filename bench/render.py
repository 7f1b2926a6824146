"""Rendering beside analysis: every report format against ``analyze_graph`` for the zoo models.

Goal (docs/performance.md): rendering a report in any format takes less
time than the analysis that produced it. For each model of
``analyzer/zoo.py`` the script times, warm, ``--repeat`` rounds of one
``analyze_graph`` followed by each format's rendering the way the CLI
writes a file (``Reporter.iter_report`` without colour, the whole text
joined) and, for the table, the way it prints on a terminal (colour, 100
columns); every format the CLI writes, HTML included. Each column is the
median over the rounds; the analysis and the formats alternate, so a busy
moment of a shared machine falls on all of them alike. The last column is
the slowest format's time over the analysis's.

    .venv/bin/python bench/render.py [--repeat 5] [--formats table,json,csv,markdown,html]
    .venv/bin/python bench/render.py --models "" --nodes 100000 --repeat 1 --warmup 0

``--nodes`` adds the graph of ``bench/scale.py`` at each size given (no
devices), timed the same way.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/scale.py for --nodes

from analyzer import analyze_graph, zoo  # noqa: E402
from analyzer.core.plugins import default_plugins  # noqa: E402

MODELS = ("alexnet", "vgg16", "resnet50", "mobilenet_v2", "transformer_encoder", "tiny_cnn")


def seconds(fn) -> float:
    """CPU seconds of one call."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def render(reporter, report, **options) -> str:
    return "".join(reporter.iter_report(report, **options))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--formats", default="table,json,csv,markdown,html")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--nodes", default="", help="sizes of bench/scale.py's graph to time too, e.g. 100000")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs before the timed ones")
    args = p.parse_args()
    plugins = default_plugins()
    formats = args.formats.split(",")
    cases = [(f, {}) for f in formats]
    if "table" in formats:
        cases.append(("table", {"color": True, "width": 100}))
    head = ["model", "layers", "analysis ms"]
    head += [f"{f}{' (tty)' if o else ''} ms" for f, o in cases] + ["slowest / analysis"]
    lines = [head]
    graphs = [(name, lambda name=name: getattr(zoo, name)()) for name in args.models.split(",") if name]
    if args.nodes:
        from scale import build_graph  # bench/scale.py's mix of convolution and MLP blocks

        graphs += [(f"scale {n}", lambda n=n: build_graph(int(n))) for n in args.nodes.split(",")]
    for name, build in graphs:
        graph = build()
        report = analyze_graph(graph, plugins=plugins)
        steps = [functools.partial(analyze_graph, graph, plugins=plugins)]
        steps += [functools.partial(render, plugins.reporter(fmt), report, **options) for fmt, options in cases]
        for _ in range(args.warmup):
            for step in steps:
                step()
        rounds = [[seconds(step) for step in steps] for _ in range(args.repeat)]
        t_analysis, *t_formats = (statistics.median(column) for column in zip(*rounds, strict=True))
        line = [name, str(len(report.layers)), f"{t_analysis * 1e3:.1f}", *(f"{t * 1e3:.1f}" for t in t_formats)]
        line.append(f"{max(t_formats) / t_analysis:.2f}")
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
