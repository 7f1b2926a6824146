"""ResNet-50 (v1.5, 1x3x224x224): analyzer vs fvcore, ptflops and FlopCounterMode, side by side.

Every tool gets the same model with real weights, in the same process, warm
(two untimed runs first); the figure is the median of ``--repeat`` runs.
Peers that are not installed are skipped with a note
(``pip install -c <(echo torch==2.13.0) fvcore ptflops``).

The analyzer's figure is the whole ``analyzer.analyze`` (capture on meta
tensors + IR + every metric), split into capture (``to_graph``: the trace
and the IR it records) and metrics (``analyze_graph``: validation,
canonical passes, every metric, the report), timed pairwise on a fresh
graph. ``plain meta forward`` is the model run on meta tensors with
PyTorch's own meta kernels and no capture; ``bare dispatch trace`` is the
same under a TorchDispatchMode that records nothing. Both are slower than
the capture, which skips the Python meta kernels of batch_norm and friends.

    .venv/bin/python bench/torch_resnet50.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from timing import timed  # noqa: E402  (bench/timing.py)

import analyzer  # noqa: E402
from analyzer.core.engine import analyze_graph, to_graph  # noqa: E402
from analyzer.plugins.frontends.torch import dispatch  # noqa: E402
from tests.plugins.frontends.torch.models import ResNet50  # noqa: E402

SHAPE = (1, 3, 224, 224)


def peers(model: torch.nn.Module, x: torch.Tensor) -> dict[str, Callable[[], Any] | str]:
    out: dict[str, Callable[[], Any] | str] = {}

    def flop_counter() -> int:
        from torch.utils.flop_counter import FlopCounterMode

        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        return counter.get_total_flops()

    out["torch FlopCounterMode (FLOPs)"] = flop_counter
    if importlib.util.find_spec("fvcore"):
        from fvcore.nn import FlopCountAnalysis

        def fvcore() -> int:
            a = (
                FlopCountAnalysis(model, x)
                .unsupported_ops_warnings(False)
                .uncalled_modules_warnings(False)
            )
            return a.total()

        out["fvcore FlopCountAnalysis (MACs)"] = fvcore
    else:
        out["fvcore FlopCountAnalysis (MACs)"] = "not installed, skipped"
    if importlib.util.find_spec("ptflops"):
        from ptflops import get_model_complexity_info

        for backend in ("pytorch", "aten"):

            def ptflops(backend: str = backend) -> int:
                macs, _ = get_model_complexity_info(model, SHAPE[1:], as_strings=False, backend=backend,
                                                    print_per_layer_stat=False, verbose=False)  # fmt: skip
                return int(macs)

            out[f"ptflops backend={backend} (MACs)"] = ptflops
    else:
        out["ptflops (MACs)"] = "not installed, skipped"
    return out


def trace_without_recording(model: torch.nn.Module) -> None:
    """The capture's trace with every op handler a no-op: the trace's cost without building the IR.

    Bench-only: it swaps the frontend's handler lookup (an internal) for the
    duration; the graph it leaves is incomplete, so finishing it fails.
    """
    real = dispatch.lookup

    def noop(rec: Any, call: Any) -> None:
        pass

    dispatch.lookup = lambda key: noop if real(key) is not None else None
    try:
        to_graph(model, SHAPE)
    except analyzer.AnalysisError:
        pass  # the outputs were never recorded
    finally:
        dispatch.lookup = real


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=9)
    args = p.parse_args()
    torch.manual_seed(0)
    model = ResNet50().eval()
    x = torch.randn(*SHAPE)
    rows: list[tuple[str, float | None, str]] = []

    t_full, report = timed(lambda: analyzer.analyze(model, SHAPE), args.repeat)
    rows.append(
        ("analyzer.analyze (capture + IR + metrics)", t_full, f"{report.totals['macs']:,} MACs")
    )
    # capture and metrics timed pairwise on a fresh graph each run (no cache of an earlier run helps)
    # and the same trace with the IR recording switched off, to split to_graph into trace and IR
    caps, mets, traces = [], [], []
    for i in range(args.repeat + 2):
        t0 = time.perf_counter()
        graph = to_graph(model, SHAPE)
        t1 = time.perf_counter()
        analyze_graph(graph)
        t2 = time.perf_counter()
        trace_without_recording(model)
        t3 = time.perf_counter()
        if i >= 2:
            caps.append(t1 - t0)
            mets.append(t2 - t1)
            traces.append(t3 - t2)
    t_cap, t_met, t_trace = statistics.median(caps), statistics.median(mets), statistics.median(traces)
    rows.append(("  capture: to_graph (meta trace + IR)", t_cap,
                 f"{len(graph)} nodes, {graph.meta['capture']}; min {min(caps) * 1e3:.1f} ms"))  # fmt: skip
    rows.append(("    the same trace, IR recording off", t_trace, f"min {min(traces) * 1e3:.1f} ms"))
    rows.append(("  metrics: analyze_graph (fresh graph)", t_met, f"min {min(mets) * 1e3:.1f} ms"))
    with torch.device("meta"):
        meta_model = ResNet50().eval()
    xm = torch.empty(*SHAPE, device="meta")

    def bare() -> None:
        with torch._C._AutoDispatchBelowAutograd():
            meta_model(xm)

    rows.append(("  plain meta forward, no capture", timed(bare, args.repeat)[0], ""))

    class BareTrace(TorchDispatchMode):  # sees every ATen op, records nothing
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            return func(*args, **(kwargs or {}))

    def bare_trace() -> None:
        with torch._C._AutoDispatchBelowAutograd(), BareTrace():
            meta_model(xm)

    t_bare = timed(bare_trace, args.repeat)[0]
    rows.append(("  bare dispatch trace on meta, no IR", t_bare, "PyTorch's own meta kernels for every op"))
    t_exp, g_exp = timed(lambda: to_graph(model, SHAPE, capture="export"), max(1, args.repeat // 3))
    rows.append(("analyzer capture=export (to_graph)", t_exp, g_exp.meta["capture"]))

    peer_times = []
    for label, fn in peers(model, x).items():
        if isinstance(fn, str):
            rows.append((label, None, fn))
            continue
        t, value = timed(fn, args.repeat)
        peer_times.append(t)
        rows.append((label, t, f"{value:,}"))

    print(f"ResNet-50 v1.5 {SHAPE}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.repeat} warm runs")  # fmt: skip
    for label, t, note in rows:
        print(f"  {label:<44} {'-' if t is None else f'{t * 1e3:8.1f} ms'}  {note}")
    if peer_times:
        fastest = min(peer_times)
        verdict = "meets" if t_full <= fastest else "misses"
        print(
            f"target: analyze <= fastest peer ({fastest * 1e3:.1f} ms): {verdict} ({t_full * 1e3:.1f} ms)"
        )

    def share_verdict(share: float) -> str:
        return "meets" if share < 0.2 else "misses"

    # The 20% target read three ways (docs/frontends/torch.md, "Speed and memory")
    paired = statistics.median(m / c for m, c in zip(mets, caps, strict=True))
    print(f"metrics share of capture (target < 20%): median of paired runs {paired:.0%} ({share_verdict(paired)}), "
          f"{t_met / t_cap:.0%} of medians, {min(mets) / min(caps):.0%} of minima "
          "(this VM's timings vary by up to 2x run to run; each pair runs back to back)")  # fmt: skip
    added = statistics.median((c - t + m) / t for c, t, m in zip(caps, traces, mets, strict=True))
    print(f"IR recording + metrics vs the trace without recording: {added:.0%} (paired median; {share_verdict(added)})")
    t_ir = max(t_cap - t_trace, 0.0)
    ref = (t_ir + t_met) / t_bare
    print(f"IR recording + metrics vs a bare dispatch trace on meta (the issue's reference capture): "
          f"{ref:.0%} ({share_verdict(ref)}); the whole analyze takes {t_full / t_bare:.0%} of that trace "
          "(the capture skips PyTorch's Python meta kernels)")


if __name__ == "__main__":
    main()
