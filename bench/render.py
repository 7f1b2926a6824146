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

``--processes N`` times instead as a CLI run does it: for each format, N
fresh processes each run one analysis and then one rendering in that
format (after one of the tiny CNN, so that no import or first call is
timed); it prints the median ratio of the rendering over its process's
analysis and their spread.

    .venv/bin/python bench/render.py --processes 7 --models tiny_cnn,alexnet,mobilenet_v2
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
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


def cases_of(formats: list[str]) -> list[tuple[str, dict]]:
    """Each format as the CLI writes a file, and the table as a 100-column colour terminal shows it."""
    cases: list[tuple[str, dict]] = [(f, {}) for f in formats]
    if "table" in formats:
        cases.append(("table", {"color": True, "width": 100}))
    return cases


def one_process(model: str, case: int, formats: list[str]) -> None:
    """(``--one``) This process's analysis of ``model`` then one rendering, case ``case`` of
    ``cases_of(formats)``, after the same for the tiny CNN: the two CPU times, one line."""
    plugins = default_plugins()
    fmt, options = cases_of(formats)[case]
    reporter = plugins.reporter(fmt)
    render(reporter, analyze_graph(zoo.tiny_cnn(), plugins=plugins), **options)
    graph = getattr(zoo, model)()
    t = time.process_time()
    report = analyze_graph(graph, plugins=plugins)
    analysis = time.process_time() - t
    print(analysis, seconds(functools.partial(render, reporter, report, **options)))


def processes(models: list[str], formats: list[str], n: int) -> None:
    """Each model and format in ``n`` fresh processes (``one_process``): the median ratio."""
    cases = cases_of(formats)
    print("model", *(f"{f}{' (tty)' if o else ''}" for f, o in cases), sep="  ")
    for model in models:
        cells = []
        for case in range(len(cases)):
            command = [sys.executable, __file__, "--one", model, "--case", str(case), "--formats", ",".join(formats)]
            runs = [subprocess.run(command, check=True, capture_output=True, text=True).stdout.split() for _ in range(n)]
            ratios = sorted(float(render_s) / float(analysis_s) for analysis_s, render_s in runs)
            cells.append(f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})")
        print(model, *cells, sep="  ")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--processes", type=int, default=0, help="time as a CLI run does, in this many fresh processes")
    p.add_argument("--one", default="", help=argparse.SUPPRESS)  # one such process (--processes)
    p.add_argument("--case", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--formats", default="table,json,csv,markdown,html")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--nodes", default="", help="sizes of bench/scale.py's graph to time too, e.g. 100000")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs before the timed ones")
    args = p.parse_args()
    formats = args.formats.split(",")
    if args.one:
        return one_process(args.one, args.case, formats)
    if args.processes:
        return processes([m for m in args.models.split(",") if m], formats, args.processes)
    plugins = default_plugins()
    cases = cases_of(formats)
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
