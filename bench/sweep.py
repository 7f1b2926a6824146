"""Sweep throughput: analyses per second with 1 and 2 local workers and on local Ray, per-task
overhead of each executor, and the cost of one more device on a reused graph.

    OMP_NUM_THREADS=1 .venv/bin/python bench/sweep.py            # about 2-3 minutes on 2 cores
    OMP_NUM_THREADS=1 .venv/bin/python bench/sweep.py --quick

Families (examples/sweep_families.py): MobileNetV2 width x resolution, framework-free (the
builder) and in PyTorch (meta tensors). An "analysis" is one (configuration, precision,
device) row. Figures go to docs/performance.md ("Sweeps").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzer.sweep import sweep  # noqa: E402

FAMILIES = ROOT / "examples" / "sweep_families.py"
DEVICES = ["stm32f746", "stm32h743", "raspberry-pi-4"]


def plan(factory: str, widths: list[float], resolutions: list[int]) -> dict[str, Any]:
    return {"model": {"factory": f"{FAMILIES}:{factory}"}, "devices": DEVICES, "weight_bits": [8],
            "activation_bits": [8], "grid": {"width": widths, "resolution": resolutions, "num_classes": [2]}}  # fmt: skip


def rate(doc: dict[str, Any], **kwargs: Any) -> tuple[float, float, int]:
    """(analyses per second, seconds, rows) of one sweep run."""
    start = time.perf_counter()
    result = sweep(doc, progress=False, **kwargs)
    seconds = time.perf_counter() - start
    assert not result.errors, result.errors[:1]
    return len(result.rows) / seconds, seconds, len(result.rows)


def device_cost(factory: str) -> None:
    """Capture once, then analyse with 0, 1 and 3 devices: the hardware stage's cost per device."""
    from analyzer.core.engine import analyze_graph
    from analyzer.core.options import AnalysisOptions
    from analyzer.sweep.plan import plan_from_mapping
    from analyzer.sweep.tasks import capture

    p = plan_from_mapping(plan(factory, [0.5], [128]))
    (task,) = p.tasks()
    opts = AnalysisOptions(weight_bits=8, activation_bits=8)

    def best(fn: Any, n: int = 7) -> float:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    capture(p, task)  # warm: imports
    cap = best(lambda: capture(p, task))
    graph = capture(p, task)
    analyze_graph(graph, opts, devices=DEVICES)  # warm
    base = best(lambda: analyze_graph(graph, opts, devices=[]))
    one = best(lambda: analyze_graph(graph, opts, devices=DEVICES[:1]))
    three = best(lambda: analyze_graph(graph, opts, devices=DEVICES))
    per_device = (three - base) / 3
    print(f"{factory:20s} capture {cap * 1e3:7.1f} ms  analysis {base * 1e3:6.1f} ms  +1 device {(one - base) * 1e3:5.2f} ms"
          f"  per device (of 3) {per_device * 1e3:5.2f} ms = {per_device / cap:.1%} of a capture,"
          f" {per_device / (cap + base):.1%} of capture + analysis")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer configurations")
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # big enough that starting the workers (a fork server importing the analyzer and torch) is
    # a small part of the run, as in a real sweep of hundreds of configurations
    widths = [0.35, 0.5, 0.75, 1.0] if args.quick else [0.25, 0.35, 0.5, 0.6, 0.75, 0.9, 1.0, 1.2, 1.4, 1.6]
    resolutions = [96, 128, 160] if args.quick else list(range(96, 257, 16))
    print(f"{os.cpu_count()} CPUs; {len(widths) * len(resolutions)} configurations x {len(DEVICES)} devices at int8\n")
    print("hardware stage on a reused graph (best of 7):")
    for factory in ("mobilenet_v2", "torch_mobilenet_v2"):
        device_cost(factory)
    print()
    header = f"{'family':20s} {'executor':10s} {'rows':>5s} {'seconds':>8s} {'rows/s':>8s} {'vs 1 worker':>11s}"
    print(header)
    for factory in ("mobilenet_v2", "torch_mobilenet_v2"):
        doc = plan(factory, widths, resolutions)
        runs = [("local x1", {"workers": 1}), ("local x2", {"workers": 2})]
        if not args.no_ray:
            runs.append(("ray x2", {"executor": "ray", "workers": 2}))
        one = None
        for label, kwargs in runs:
            r, s, n = rate(doc, **kwargs)
            one = one or r
            print(f"{factory:20s} {label:10s} {n:5d} {s:8.2f} {r:8.1f} {r / one:10.2f}x")
    print()
    print("per-task overhead (an empty sweep of one tiny configuration, median of 3 runs):")
    tiny = {"model": {"factory": f"{FAMILIES}:mobilenet_v2"}, "grid": {"width": [0.35], "resolution": [32]}}
    for label, kwargs in (("in-process", {"workers": 1}), ("local pool x2 (fork server)", {"workers": 2}),
                          ("ray (local start)", {"executor": "ray", "workers": 2})):  # fmt: skip
        if "ray" in label and args.no_ray:
            continue
        tiny2 = {**tiny, "grid": {"width": [0.35, 0.5], "resolution": [32]}}
        times = [rate(tiny2, **kwargs)[1] for _ in range(3)]
        print(f"  {label:24s} {statistics.median(times) * 1e3:8.0f} ms for 2 tasks (includes starting the workers)")


if __name__ == "__main__":
    main()
