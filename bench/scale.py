"""Scale: time and peak memory of build, analysis and every report format, 1k to 1M nodes.

The graph is framework-free (``analyzer.GraphBuilder``) and mixes what real
networks are made of: residual convolution blocks (conv, batch_norm, relu,
add) and MLP blocks (layer_norm, linear, a swish split into sigmoid + mul in
one scope, linear, add), each op in a module scope like
``stage3.block12.conv1``, joined by reshapes.

Each size runs in a fresh subprocess so the peaks do not mix. In it:

- ``build``: building the graph with the builder (peak RSS above the
  interpreter's at start);
- ``analyze``: ``analyze_graph`` with the default plugins; ``peak`` is the
  process's peak RSS after it, build included (the goal's figure);
- each format is rendered in a forked child, to a file, the way the CLI
  writes ``--output`` (``Reporter.iter_report``'s pieces as they come);
  ``+MB`` is its peak RSS above the parent's at the fork.

``cpu s`` is the analysis's CPU time: on a shared machine the wall time
also counts the time other processes held the cores.

Slopes are least-squares fits of log(value) on log(nodes) over the sizes
run: 1 means linear. ``B/node`` is the peak divided by the node count at the
largest size.

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000,1000000] [--formats table,json,csv,markdown]
    .venv/bin/python bench/scale.py --phases 1000000   # CPU time and peak RSS of each analysis step
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORMATS = ("table", "json", "csv", "markdown")
# channels and spatial side of the conv stages, tokens of the MLP stages
WIDTH, SIDE, TOKENS = 16, 8, 64
CONV_BLOCK, MLP_BLOCK = 20, 20  # blocks per stage


def build_graph(nodes: int):
    """A graph of about ``nodes`` nodes (within one block) of the mix described above."""
    from analyzer import GraphBuilder

    b = GraphBuilder(f"scale{nodes}")
    x = b.input("x", (1, WIDTH, SIDE, SIDE))
    stage = 0
    while len(b.graph) < nodes:
        with b.scope(f"stage{stage}"):
            if stage % 2 == 0:
                for k in range(CONV_BLOCK):
                    if len(b.graph) >= nodes:
                        break
                    with b.scope(f"block{k}"):
                        y = b.conv(x, WIDTH, 3, padding=1, bias=False, name="conv1")
                        y = b.batch_norm(y, name="bn1")
                        y = b.relu(y, name="relu1")
                        y = b.conv(y, WIDTH, 3, padding=1, bias=False, name="conv2")
                        y = b.batch_norm(y, name="bn2")
                        y = b.add(y, x, name="add")
                        x = b.relu(y, name="relu2")
            else:
                h = b.reshape(x, (1, WIDTH, TOKENS), name="to_tokens")
                h = b.permute(h, (0, 2, 1), name="transpose")
                for k in range(MLP_BLOCK):
                    if len(b.graph) >= nodes:
                        break
                    with b.scope(f"block{k}"):
                        y = b.layer_norm(h, name="norm")
                        y = b.linear(y, 4 * WIDTH, name="fc1")
                        scope = b._scoped("act")  # swish as two ops of one layer, as JAX lowers it
                        gate = b.op("sigmoid", [y], b.shape(y), scope=scope)
                        y = b.op("mul", [y, gate], b.shape(y), scope=scope)
                        y = b.linear(y, WIDTH, name="fc2")
                        h = b.add(h, y, name="add")
                h = b.permute(h, (0, 2, 1), name="transpose_back")
                x = b.reshape(h, (1, WIDTH, SIDE, SIDE), name="to_image")
        stage += 1
    return b.build(x)


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _write(report, fmt: str, path: Path) -> int:
    """Write ``report`` as ``fmt`` to ``path`` as the CLI's ``--output`` does; the bytes written."""
    from analyzer.core.plugins import default_plugins

    reporter = default_plugins().reporter(fmt)
    render = getattr(reporter, "iter_report", None)  # the CLI writes the pieces as they come
    chunks = render(report) if render else (reporter.render_report(report),)  # before it streamed
    size = 0
    with path.open("w") as out:
        for chunk in chunks:
            size += out.write(chunk)
    return size


def _render_in_child(fmt: str, report, out_dir: Path) -> dict:
    """Render ``fmt`` in a forked child; its time and peak RSS above the parent's."""
    base = _rss_now()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            t, cpu = time.perf_counter(), time.process_time()
            path = out_dir / f"report.{fmt}"
            size = _write(report, fmt, path)
            result = {
                "s": time.perf_counter() - t,
                "cpu": time.process_time() - cpu,
                "extra": _maxrss() - base,
                "bytes": size,
            }
        except BaseException as e:  # noqa: BLE001  (reported to the parent, not raised in the child)
            result = {"error": f"{type(e).__name__}: {e}"}
        os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def run_one(nodes: int, formats: list[str], out_dir: Path) -> dict:
    from analyzer import analyze_graph
    from analyzer.core.plugins import default_plugins

    plugins = default_plugins()
    gc.collect()
    base = _maxrss()
    t = time.perf_counter()
    graph = build_graph(nodes)
    build_s = time.perf_counter() - t
    build_peak = _maxrss() - base
    t, cpu = time.perf_counter(), time.process_time()
    report = analyze_graph(graph, plugins=plugins)
    analyze_s, analyze_cpu = time.perf_counter() - t, time.process_time() - cpu
    row = {
        "nodes": len(graph), "layers": len(report.layers), "build_s": build_s, "build_mb": build_peak / 1e6,
        "analyze_s": analyze_s, "analyze_cpu": analyze_cpu, "peak_mb": (_maxrss() - base) / 1e6, "formats": {},
    }  # fmt: skip
    for fmt in formats:
        row["formats"][fmt] = _render_in_child(fmt, report, out_dir)
    return row


def run_phases(nodes: int) -> None:
    """Print the CPU time and the peak RSS after each step of one analysis of ``nodes`` nodes:
    the engine's steps and each metric's ``compute`` (wrapped for the run, in this process)."""
    from analyzer.core import engine
    from analyzer.core.plugins import default_plugins

    plugins = default_plugins()
    graph = build_graph(nodes)
    print(f"{nodes:,} nodes built: peak RSS {_maxrss() / 1e6:,.0f} MB")
    spent: dict[str, float] = {}

    def timed(name, fn):
        def run(*args, **kwargs):
            cpu = time.process_time()
            out = fn(*args, **kwargs)
            spent[name] = spent.get(name, 0.0) + time.process_time() - cpu
            print(f"  {name:<28} {time.process_time() - cpu:7.2f} s   peak RSS {_maxrss() / 1e6:,.0f} MB", flush=True)
            return out

        return run

    graph.validate = timed("Graph.validate", graph.validate)
    for step in ("canonicalize", "group_layers", "_layer_rows"):
        setattr(engine, step, timed(step, getattr(engine, step)))
    for metric in plugins.metrics.values():
        metric.compute = timed(f"metric {metric.name}", metric.compute)
    cpu = time.process_time()
    engine.analyze_graph(graph, plugins=plugins)
    total = time.process_time() - cpu
    print(f"analysis {total:.2f} s CPU ({total - sum(spent.values()):.2f} s in no step above), "
          f"peak RSS {_maxrss() / 1e6:,.0f} MB")  # fmt: skip


def _slope(xs: list[float], ys: list[float]) -> float:
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else float("nan")


def _print(rows: list[dict], formats: list[str]) -> None:
    head = ["nodes", "layers", "build s", "build MB", "analyze s", "cpu s", "peak MB"]
    for fmt in formats:
        head += [f"{fmt} s", f"{fmt} +MB"]
    lines = [head]
    for r in rows:
        line = [f"{r['nodes']:,}", f"{r['layers']:,}", f"{r['build_s']:.2f}", f"{r['build_mb']:.0f}",
                f"{r['analyze_s']:.2f}", f"{r.get('analyze_cpu', 0):.2f}", f"{r['peak_mb']:.0f}"]  # fmt: skip
        for fmt in formats:
            f = r["formats"][fmt]
            if "error" in f:
                line += ["error", f["error"][:30]]
            else:
                line += [f"{f['s']:.2f}", f"{max(f['extra'], 0) / 1e6:.0f}"]
        lines.append(line)
    if len(rows) > 1:
        n = [r["nodes"] for r in rows]
        line = ["slope", "", f"{_slope(n, [r['build_s'] for r in rows]):.2f}", f"{_slope(n, [r['build_mb'] for r in rows]):.2f}",
                f"{_slope(n, [r['analyze_s'] for r in rows]):.2f}", f"{_slope(n, [r.get('analyze_cpu', 0) for r in rows]):.2f}",
                f"{_slope(n, [r['peak_mb'] for r in rows]):.2f}"]  # fmt: skip
        for fmt in formats:
            ok = [r for r in rows if "error" not in r["formats"][fmt]]
            xs = [r["nodes"] for r in ok]
            line += [f"{_slope(xs, [r['formats'][fmt]['s'] for r in ok]):.2f}",
                     f"{_slope(xs, [max(r['formats'][fmt]['extra'], 1) for r in ok]):.2f}"]  # fmt: skip
        lines.append(line)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(str(c).rjust(w) for c, w in zip(line, widths, strict=True)))
    last = rows[-1]
    per_node = {
        "time": last["analyze_s"] / last["nodes"] * 1e6,
        "bytes": last["peak_mb"] * 1e6 / last["nodes"],
    }
    print(
        f"at {last['nodes']:,} nodes: analysis {per_node['time']:.1f} us/node, peak {per_node['bytes']:.0f} B/node"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000,1000000")
    p.add_argument("--formats", default=",".join(FORMATS))
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process: one size
    p.add_argument(
        "--out", type=Path, default=Path("/tmp/analyzer-scale"), help="where rendered reports go"
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON too")
    p.add_argument("--phases", type=int, metavar="NODES", help="time each step of one analysis of NODES nodes")
    args = p.parse_args()
    if args.phases:
        run_phases(args.phases)
        return
    formats = [f for f in args.formats.split(",") if f]
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        print(json.dumps(run_one(args.one, formats, args.out)))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            str(n),
            "--formats",
            ",".join(formats),
            "--out",
            str(args.out),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode:
            sys.exit(f"size {n} failed:\n{out.stderr}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  done {n:,} nodes", file=sys.stderr, flush=True)
    _print(rows, formats)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
