"""Sweep throughput: 1 against 2 local workers from the command line (cold: every run imports what
it needs), for a sweep the size of issue 20's figures and one of about a thousand architectures;
the local Ray instance; and the cost of one more device on a reused graph.

    OMP_NUM_THREADS=1 .venv/bin/python bench/sweep.py                 # about 8 minutes on 2 cores
    OMP_NUM_THREADS=1 .venv/bin/python bench/sweep.py --repeat 1 --no-ray --no-large   # about 1 minute

Families (examples/sweep_families.py): MobileNetV2 width x resolution (x classes in the large
sweep), framework-free (the builder) and in PyTorch (meta tensors), at int8 on three devices.
An "analysis" is one (configuration, precision, device) row. Each run is ``python -m analyzer
sweep FILE --workers N --output runs.parquet`` in a fresh process, as a user runs it: start-up
(Python, the analyzer, torch, the pool's fork server) is inside the time. Runs with 1 and 2
workers alternate back to back and each pair is repeated; medians are reported. The steady
rate excludes start-up: (rows of the large sweep - rows of the small) / (its seconds - the
small's). The machine is shared: the load average is printed beside each repetition, and
``--max-load`` waits for a quieter machine before each. Figures go to docs/performance.md
("Sweeps").
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAMILIES = ROOT / "examples" / "sweep_families.py"
DEVICES = ["stm32f746", "stm32h743", "raspberry-pi-4"]
SMALL = {"width": [0.25, 0.35, 0.5, 0.6, 0.75, 0.9, 1.0, 1.2, 1.4, 1.6], "resolution": list(range(96, 257, 16)),
         "num_classes": [2]}  # fmt: skip  # 110 configurations, the sweep of the first figures
LARGE = {"width": [round(0.25 + 0.05 * i, 2) for i in range(24)], "resolution": list(range(96, 257, 8)),
         "num_classes": [2, 10]}  # fmt: skip  # 24 x 21 x 2 = 1008 configurations
# the torch family reaches torch through examples/mobilenet_v2.py, which its source does not show:
# 'framework' names it, so the pool's fork server imports torch and the frontend once (docs/sweeps.md)
FRAMEWORK = {"torch_mobilenet_v2": "torch"}


def sweep_toml(factory: str, grid: dict[str, list[Any]]) -> str:
    lines = [f"devices = {DEVICES!r}".replace("'", '"'), "weight_bits = [8]", "activation_bits = [8]", "",
             "[model]", f'factory = "{FAMILIES}:{factory}"']  # fmt: skip
    if factory in FRAMEWORK:
        lines.append(f'framework = "{FRAMEWORK[factory]}"')
    lines += ["", "[grid]", *(f"{k} = {v!r}" for k, v in grid.items())]
    return "\n".join(lines) + "\n"


def cli_run(toml: Path, workers: int, out: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the command's own process, rows) of one cold command-line sweep."""
    cmd = [sys.executable, "-m", "analyzer", "sweep", str(toml), "--workers", str(workers), "--output", str(out),
           "--no-resume"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command; not its pool (the fork server's children)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    m = re.search(r"(\d+) rows, (\d+) errors", done.stdout)
    assert m and m.group(2) == "0", done.stdout[-500:]
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, int(m.group(1))


def wait_for_quiet(max_load: float | None, patience_s: float = 300) -> float:
    """The 1-minute load average, after waiting (up to ``patience_s``) for it to fall under ``max_load``."""
    deadline = time.monotonic() + patience_s
    while max_load is not None and os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(10)
    return os.getloadavg()[0]


def throughput(args: argparse.Namespace, tmp: Path) -> None:
    sizes = [("small", SMALL)] + ([] if args.no_large else [("large", LARGE)])
    for factory in ("mobilenet_v2", "torch_mobilenet_v2"):
        runs: dict[tuple[str, int], list[tuple[float, float, int]]] = {}
        tomls = {}
        for size, grid in sizes:
            tomls[size] = tmp / f"{factory}_{size}.toml"
            tomls[size].write_text(sweep_toml(factory, grid))
        for rep in range(args.repeat):
            load = wait_for_quiet(args.max_load)
            line = []
            for size, _grid in sizes:
                for workers in (1, 2):  # back to back: the pair sees the same machine
                    r = cli_run(tomls[size], workers, tmp / "runs.parquet")
                    runs.setdefault((size, workers), []).append(r)
                    line.append(f"{size} x{workers} {r[0]:6.2f} s")
            print(f"  {factory} rep {rep + 1} (load {load:.1f} -> {os.getloadavg()[0]:.1f}): {', '.join(line)}",
                  flush=True)  # fmt: skip
        print(f"\n{factory}: medians of {args.repeat}")
        print(f"  {'sweep':6s} {'rows':>5s} {'x1 s':>7s} {'x2 s':>7s} {'x1 rows/s':>9s} {'x2 rows/s':>9s}"
              f" {'x2 / x1':>8s} {'x1 parent CPU':>13s} {'x2 parent CPU':>13s}")  # fmt: skip
        for size, _grid in sizes:
            one, two = runs[(size, 1)], runs[(size, 2)]
            rows = one[0][2]
            ratio = statistics.median(a[0] / b[0] for a, b in zip(one, two, strict=True))
            t1, t2 = statistics.median(r[0] for r in one), statistics.median(r[0] for r in two)
            c1, c2 = statistics.median(r[1] for r in one), statistics.median(r[1] for r in two)
            print(f"  {size:6s} {rows:5d} {t1:7.2f} {t2:7.2f} {rows / t1:9.1f} {rows / t2:9.1f} {ratio:7.2f}x"
                  f" {c1:12.2f}s {c2:12.2f}s")  # fmt: skip
        if len(sizes) == 2:
            steady = []
            for k in range(args.repeat):
                rates = []
                for workers in (1, 2):
                    (ts, _, ns), (tl, _, nl) = runs[("small", workers)][k], runs[("large", workers)][k]
                    rates.append((nl - ns) / (tl - ts))
                steady.append((rates[0], rates[1], rates[1] / rates[0]))
            r1, r2 = statistics.median(s[0] for s in steady), statistics.median(s[1] for s in steady)
            print(f"  steady (large - small): x1 {r1:.1f} rows/s, x2 {r2:.1f} rows/s,"
                  f" x2 / x1 {statistics.median(s[2] for s in steady):.2f}x")  # fmt: skip
        print(flush=True)


def ray_rate(tmp: Path) -> None:
    from analyzer.sweep import sweep

    print("Ray (local instance, 2 CPUs, started by the sweep), the small sweep, in this process:")
    for factory in ("mobilenet_v2", "torch_mobilenet_v2"):
        doc = {"model": {"factory": f"{FAMILIES}:{factory}"}, "devices": DEVICES, "weight_bits": [8],
               "activation_bits": [8], "grid": SMALL}  # fmt: skip
        start = time.perf_counter()
        result = sweep(doc, executor="ray", workers=2, progress=False)
        seconds = time.perf_counter() - start
        assert not result.errors, result.errors[:1]
        print(f"  {factory:20s} {len(result.rows):5d} rows {seconds:7.2f} s {len(result.rows) / seconds:7.1f} rows/s")
    print()


def device_cost(factory: str) -> None:
    """Capture once, then analyse with 0, 1, 2 and 3 devices: the hardware stage's cost per device
    (CPU time, best of 15). The first device also builds what every device of the analysis
    shares (per-layer work, the MCU arena plan); each further device only prices it."""
    from analyzer.core.engine import analyze_graph
    from analyzer.core.options import AnalysisOptions
    from analyzer.core.plugins import default_plugins
    from analyzer.sweep.plan import plan_from_mapping
    from analyzer.sweep.tasks import capture

    p = plan_from_mapping({"model": {"factory": f"{FAMILIES}:{factory}"}, "devices": DEVICES,
                           "grid": {"width": [0.5], "resolution": [128], "num_classes": [2]}})  # fmt: skip
    (task,) = p.tasks()
    opts = AnalysisOptions(weight_bits=8, activation_bits=8)
    ps = default_plugins()

    def best(fn: Any, n: int = 15) -> float:
        times = []
        for _ in range(n):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return min(times)

    capture(p, task)  # warm: imports
    cap = best(lambda: capture(p, task))
    graph = capture(p, task)
    analyze_graph(graph, opts, devices=DEVICES, plugins=ps)  # warm
    with_k = [best(lambda k=k: analyze_graph(graph, opts, devices=DEVICES[:k], plugins=ps)) for k in range(4)]
    added = [with_k[k + 1] - with_k[k] for k in range(3)]
    mean = (with_k[3] - with_k[0]) / 3
    steps = ", ".join(f"+{d} {a * 1e3:.2f} ms ({a / cap:.1%})" for d, a in zip(DEVICES, added, strict=True))
    print(f"  {factory:20s} capture {cap * 1e3:6.1f} ms, analysis without a device {with_k[0] * 1e3:5.2f} ms;"
          f" {steps}; mean of 3 {mean * 1e3:.2f} ms = {mean / cap:.1%} of a capture")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="pairs of 1- and 2-worker runs per sweep (medians)")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--no-large", action="store_true", help="only the 110-configuration sweep")
    ap.add_argument("--max-load", type=float, help="wait (up to 5 min) for a 1-minute load under this before each pair")
    ap.add_argument("--only", choices=["devices", "throughput"], help="one part of the benchmark")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {len(DEVICES)} devices at int8\n")
    if args.only != "throughput":
        print("hardware stage on a reused graph (CPU time, best of 15):")
        for factory in ("mobilenet_v2", "torch_mobilenet_v2"):
            device_cost(factory)
        print()
    if args.only == "devices":
        return
    with tempfile.TemporaryDirectory() as d:
        print("command line, cold, 1 and 2 local workers (wall seconds):")
        throughput(args, Path(d))
        if not args.no_ray:
            ray_rate(Path(d))


if __name__ == "__main__":
    main()
