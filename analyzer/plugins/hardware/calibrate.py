"""``python -m analyzer calibrate``: measure this machine and write the ``host`` device spec.

Measured (kind "measured"), best of several runs:

- peak FP32 ops/s: a square float32 matmul (2n^3 FLOP), the faster of numpy
  and PyTorch where it is installed;
- bandwidth of each cache level and of DRAM: a single-thread numpy copy of
  a buffer sized for that level, counted as read + write (the STREAM
  convention), minus the fixed cost of one call;
- per-layer overhead and efficiency per op class, where PyTorch is
  installed: the time of a trivial module call, and for a few typical
  layers of each class (GEMM, conv, depthwise, elementwise, pooling,
  global pooling, norm, concat), the roofline time at full peak against the
  measured time.

Capacities come from the OS (``host.host_info``). The file goes to
``output_dir``, else the first directory of ``$ANALYZER_DEVICE_PATH``, else
the user device directory, all of which the device catalog reads, so
``--device host`` works afterwards.
"""

from __future__ import annotations

import datetime
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.core.devices import env_device_dirs, load_device, user_device_dir
from analyzer.core.errors import AnalysisError
from analyzer.plugins.hardware.host import HostInfo, _fig, derived_host_doc, host_info

MEASURED = "python -m analyzer calibrate"


Clock = Callable[[], float]


def best_time(
    fn: Callable[[], Any], repeats: int, number: int = 1, clock: Clock = time.perf_counter
) -> float:
    """Minimum over ``repeats`` of the mean time of ``number`` calls (after one warm-up call).

    ``clock``: wall time by default; ``time.process_time`` measures CPU time,
    which other processes on a shared machine do not inflate (single-threaded
    runs only: it adds up the time of all threads).
    """
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = clock()
        for _ in range(number):
            fn()
        best = min(best, (clock() - t0) / number)
    return best


def timed(
    fn: Callable[[], Any], budget_s: float, repeats: int, clock: Clock = time.perf_counter
) -> float:
    """Like ``best_time``, with as many calls per repeat as fit in ``budget_s``."""
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return best_time(fn, repeats, max(1, int(budget_s / one)), clock)


def measure_matmul(quick: bool, clock: Clock = time.perf_counter) -> tuple[float, str]:
    """The best float32 matmul rate of numpy and (if installed) PyTorch, and which one it was."""
    n = 1024 if quick else 2048
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    reps = 5 if quick else 15
    rates = {f"numpy {np.__version__}": 2 * n**3 / best_time(lambda: a @ b, reps, 1, clock)}
    try:
        import torch
    except ImportError:
        return next(iter(rates.values())), next(iter(rates))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    with torch.inference_mode():
        rates[f"PyTorch {torch.__version__}"] = (
            2 * n**3 / best_time(lambda: ta @ tb, reps, 1, clock)
        )
    lib = max(rates, key=rates.__getitem__)
    return rates[lib], lib


def measure_copy(nbytes: int, quick: bool, clock: Clock = time.perf_counter) -> float:
    """Bytes/s of copying ``nbytes`` (read + write counted) with one thread."""
    n = max(nbytes // 4, 16)
    buf = np.ones(2 * n + 512, np.float32)
    src, dst = (
        buf[:n],
        buf[n + 512 :],
    )  # 2 KB apart mod 4 KB: no 4K-aliasing stalls between loads and stores
    tiny_s, tiny_d = src[:16], dst[:16]
    calls = max(1, int((4e6 if quick else 1e7) // nbytes))
    overhead = best_time(lambda: np.copyto(tiny_d, tiny_s), 5, 200, clock)
    t = best_time(lambda: np.copyto(dst, src), 7 if quick else 15, calls, clock)
    return 2 * n * 4 / max(t - overhead, t * 0.05)


def _cases(nn: Any, torch: Any) -> list[tuple[str, list[tuple[int, ...]], Callable, Callable]]:
    """(op class, input shapes, graph builder step, PyTorch callable): a few typical layers per class."""

    def conv(cin: int, cout: int, k: int, s: int = 1, g: int = 1) -> tuple[Callable, Callable]:
        return (lambda b, x: b.conv(x, cout, k, s, k // 2, groups=g, name="l"),
                nn.Conv2d(cin, cout, k, s, k // 2, groups=g))  # fmt: skip

    def lin(n_in: int, n_out: int) -> tuple[Callable, Callable]:
        return lambda b, x: b.linear(x, n_out, name="l"), nn.Linear(n_in, n_out)

    return [
        ("gemm", [(1, 256)], *lin(256, 256)),
        ("gemm", [(64, 512)], *lin(512, 512)),
        ("gemm", [(256, 1024)], *lin(1024, 1024)),
        ("gemm", [(8, 2048)], *lin(2048, 2048)),
        ("gemm", [(512, 2048)], *lin(2048, 2048)),
        ("conv", [(1, 16, 14, 14)], *conv(16, 16, 3)),
        ("conv", [(1, 64, 56, 56)], *conv(64, 64, 3)),
        ("conv", [(1, 256, 14, 14)], *conv(256, 256, 3)),
        ("conv", [(1, 128, 28, 28)], *conv(128, 128, 1)),
        ("conv", [(8, 32, 64, 64)], *conv(32, 32, 3)),
        ("depthwise", [(1, 32, 14, 14)], *conv(32, 32, 3, g=32)),
        ("depthwise", [(1, 64, 56, 56)], *conv(64, 64, 3, g=64)),
        ("depthwise", [(1, 384, 14, 14)], *conv(384, 384, 3, g=384)),
        ("depthwise", [(1, 96, 112, 112)], *conv(96, 96, 3, 2, g=96)),
        ("depthwise", [(1, 144, 56, 56)], *conv(144, 144, 3, g=144)),
        (
            "elementwise",
            [(1, 64, 56, 56)] * 2,
            lambda b, x, y: b.add(x, y, name="l"),
            lambda x, y: x + y,
        ),
        (
            "elementwise",
            [(1, 256, 14, 14)] * 2,
            lambda b, x, y: b.add(x, y, name="l"),
            lambda x, y: x + y,
        ),
        ("elementwise", [(1, 128, 56, 56)], lambda b, x: b.relu(x, name="l"), nn.ReLU()),
        (
            "elementwise",
            [(1, 32, 14, 14)] * 2,
            lambda b, x, y: b.add(x, y, name="l"),
            lambda x, y: x + y,
        ),
        (
            "pooling",
            [(1, 64, 112, 112)],
            lambda b, x: b.max_pool(x, 3, 2, 1, name="l"),
            nn.MaxPool2d(3, 2, 1),
        ),
        (
            "pooling",
            [(8, 32, 64, 64)],
            lambda b, x: b.max_pool(x, 2, 2, name="l"),
            nn.MaxPool2d(2, 2),
        ),
        (
            "pooling",
            [(1, 16, 14, 14)],
            lambda b, x: b.max_pool(x, 2, 2, name="l"),
            nn.MaxPool2d(2, 2),
        ),
        (
            "reduction",
            [(1, 512, 7, 7)],
            lambda b, x: b.global_avg_pool(x, name="l"),
            nn.AdaptiveAvgPool2d(1),
        ),
        (
            "reduction",
            [(1, 1280, 7, 7)],
            lambda b, x: b.global_avg_pool(x, name="l"),
            nn.AdaptiveAvgPool2d(1),
        ),
        (
            "normalization",
            [(1, 32, 14, 14)],
            lambda b, x: b.batch_norm(x, name="l"),
            nn.BatchNorm2d(32).eval(),
        ),
        (
            "normalization",
            [(1, 64, 56, 56)],
            lambda b, x: b.batch_norm(x, name="l"),
            nn.BatchNorm2d(64).eval(),
        ),
        (
            "normalization",
            [(1, 384, 14, 14)],
            lambda b, x: b.batch_norm(x, name="l"),
            nn.BatchNorm2d(384).eval(),
        ),
        (
            "normalization",
            [(1, 128, 256)],
            lambda b, x: b.layer_norm(x, name="l"),
            nn.LayerNorm(256),
        ),
        (
            "movement",
            [(1, 32, 56, 56)] * 2,
            lambda b, x, y: b.concat([x, y], 1, name="l"),
            lambda x, y: torch.cat([x, y], 1),
        ),
        (
            "movement",
            [(1, 16, 14, 14)] * 2,
            lambda b, x, y: b.concat([x, y], 1, name="l"),
            lambda x, y: torch.cat([x, y], 1),
        ),
    ]


def fit_class(points: list[tuple[float, float]], floor_s: float) -> tuple[float, float]:
    """(fixed cost a, efficiency e) from (ideal, measured) pairs, measured = a + ideal / e.

    Weighted least squares on relative errors (weights 1/measured^2), so small
    layers pin the fixed cost and large ones the slope; floor_s <= a <= the
    fastest measurement, e in [0.01, 1].
    """
    w = [1 / (m * m) for _, m in points]
    sw = sum(w)
    mi = sum(wi * i for wi, (i, _) in zip(w, points, strict=True)) / sw
    mm = sum(wi * m for wi, (_, m) in zip(w, points, strict=True)) / sw
    var = sum(wi * (i - mi) ** 2 for wi, (i, _) in zip(w, points, strict=True))
    cov = sum(wi * (i - mi) * (m - mm) for wi, (i, m) in zip(w, points, strict=True))
    slope = cov / var if len(points) > 1 and var > 0 else 0.0
    a = mm - slope * mi
    cap = min(m for _, m in points)
    if (
        slope <= 0 or not floor_s <= a <= cap
    ):  # too few or too noisy points: clamp a, refit the slope
        a = min(max(a, floor_s), cap) if slope > 0 else floor_s
        slope = sum(wi * i * (m - a) for wi, (i, m) in zip(w, points, strict=True)) / sum(
            wi * i * i for wi, (i, _) in zip(w, points, strict=True))  # fmt: skip
    e = min(1.0, max(0.01, 1 / slope if slope > 0 else 1.0))
    if e in (1.0, 0.01):  # slope clipped: refit the fixed cost alone
        a = min(
            max(floor_s, sum(wi * (m - i / e) for wi, (i, m) in zip(w, points, strict=True)) / sw),
            cap,
        )
    return a, e


def _torch_benchmarks(info: HostInfo, doc: dict[str, Any], quick: bool,
                      clock: Clock = time.perf_counter) -> tuple[dict[str, Any], dict[str, float], dict[str, Any]]:  # fmt: skip
    """Per-layer overhead and efficiency per op class, measured with PyTorch eager on this CPU.

    Per class, the measured times t_i are fitted by least squares as
    t_i = a + ideal_i / e, where ideal_i is the roofline time at full peak and
    bandwidth: a is the class's fixed cost per layer (framework dispatch,
    kernel setup), e its efficiency (clipped to [0.01, 1]). Small and large
    layers of each class pin down both.
    """
    import torch

    from analyzer.core.builder import GraphBuilder
    from analyzer.core.devices import DeviceCatalog
    from analyzer.core.engine import analyze_graph
    from analyzer.core.options import AnalysisOptions
    from analyzer.core.plugins import load_plugins

    # many short windows, keep the fastest: robust to other processes sharing the CPU
    budget, repeats = (0.002, 7) if quick else (0.003, 25)
    cases = _cases(torch.nn, torch)
    points: dict[str, list[tuple[float, float]]] = {}
    with torch.inference_mode(), tempfile.TemporaryDirectory() as tmp:
        x1 = torch.zeros(1)
        relu = torch.nn.ReLU()
        overhead = timed(lambda: relu(x1), budget, repeats, clock)
        _write(doc, Path(tmp) / "host.toml")
        ps = load_plugins()
        ps.devices = DeviceCatalog([Path(tmp)])
        opts = AnalysisOptions(
            hardware={"efficiency": {k: 1.0 for k, *_ in cases}, "layer_overhead_s": 0.0}
        )
        for kind, shapes, build, fn in cases:
            b = GraphBuilder(kind)
            out = build(b, *(b.input(f"x{i}", s) for i, s in enumerate(shapes)))
            ideal = (
                analyze_graph(b.build(out), opts, devices=["host"], plugins=ps)
                .hardware[0]
                .latency_s
            )
            args = [torch.randn(*s) for s in shapes]
            measured = timed(lambda f=fn, a=args: f(*a), budget, repeats, clock)
            points.setdefault(kind, []).append((ideal, measured))
    eff, fixed = {}, {}
    note = f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads"
    for kind, pts in points.items():
        a, e = fit_class(pts, overhead)
        eff[kind] = round(e, 4)
        fixed[kind] = _fig(a, MEASURED, "measured", f"{note}; fitted over {len(pts)} layers")
    return _fig(overhead, MEASURED, "measured", note + ", trivial nn.Module call"), eff, fixed


def calibrate(
    quick: bool = False, info: HostInfo | None = None, clock: Clock = time.perf_counter
) -> dict[str, Any]:
    """Measure this machine; returns the ``analyzer.device/1`` document of ``host``."""
    info = info or host_info()
    doc = derived_host_doc(info)
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    doc["description"] = f"measured by '{MEASURED}' on {stamp}" + (" (--quick)" if quick else "")
    rate, lib = measure_matmul(quick, clock)
    doc["peak_ops_per_s"]["fp32"] = _fig(
        rate, MEASURED, "measured", f"float32 {lib} matmul, best of several"
    )
    caches = {f"l{c.level}": c for c in info.caches}
    for level in doc["memory"]:
        c = caches.get(level["name"])
        # src + dst fill half of one instance of a cache; DRAM: far beyond every cache
        size = c.size_bytes // 4 if c else (64 << 20 if quick else 256 << 20)
        bw = measure_copy(size, quick, clock)
        note = f"single-thread numpy copy of {size} B, read + write counted"
        if c and c.instances > 1:  # private caches: every core has its own
            bw, note = bw * c.instances, note + f", x {c.instances} private instances"
        level["bandwidth_bytes_per_s"] = _fig(bw, MEASURED, "measured", note)
    try:
        doc["layer_overhead_s"], doc["efficiency"], doc["class_overhead_s"] = _torch_benchmarks(
            info, doc, quick, clock
        )
        doc["notes"] = (
            "Per op class: measured PyTorch time = class_overhead_s + roofline time at full peak / efficiency."
        )
    except ModuleNotFoundError as e:
        if e.name != "torch":
            raise
        doc["notes"] = (
            "PyTorch not installed: efficiency factors and per-layer overhead keep their defaults."
        )
    doc["notes"] += _load_note()
    return doc


def _load_note() -> str:
    """Other work on the machine slows every measurement: say how busy it was."""
    try:
        one, five, _ = os.getloadavg()
    except (OSError, AttributeError):
        return ""
    return f" Load average at calibration: {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs."


def _write(doc: dict[str, Any], path: Path) -> None:
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by 'python -m analyzer calibrate': figures measured on this machine.\n"
        + tomli_w.dumps(doc)
    )


def default_output_dir() -> Path:
    env = env_device_dirs()
    return env[0] if env else user_device_dir()


def measure_kernels(
    threads: int = 1,
    quick: bool = False,
    counts: dict[str, int] | None = None,
    show: bool | None = None,
    exclude: Any = (),
) -> dict[str, Any]:
    """Run the micro-benchmarks with ``threads`` intra-op threads and fit the kernel-level model.

    Returns one calibration of ``host-kernels.json`` (``kernel_model``). The
    thread count is restored afterwards; a progress bar is drawn on a terminal.
    """
    import torch

    from analyzer.core.progress import track
    from analyzer.plugins.hardware import kernel_bench as kb
    from analyzer.plugins.hardware import kernel_model as km

    cases = kb.design(quick, counts, exclude)
    clock = kb.clock_for(threads)
    window, repeats = (0.004, 3) if quick else (0.012, 5)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    times = []
    try:
        with torch.inference_mode():
            torch.manual_seed(0)
            extra = kb.overheads(torch, window, repeats, clock)
            fusion = kb.fusion(torch, window, repeats, clock)
            for case in track(
                cases, len(cases), f"calibrating ({threads} thread{'s' * (threads > 1)})", show
            ):
                times.append(kb.time_call(kb.rotated(case, torch), window, repeats, clock))
    finally:
        torch.set_num_threads(old)
    shapes = [c.shape for c in cases]
    classes = km.fit(shapes, times)
    context = _context(torch, threads, quick, classes, extra, counts, window, show)
    return {
        "threads": threads, "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "runtime": {"name": "PyTorch eager", "torch": torch.__version__, "threads": threads},
        "quick": quick, "clock": "thread CPU time" if threads == 1 else "wall time",
        "load_average": _load_average(), **extra, "fusion": fusion, "classes": classes, "context": context,
        "benchmarks": [[s.op, s.inputs, s.params, s.outputs] for s in shapes],
    }  # fmt: skip


def _context(torch: Any, threads: int, quick: bool, classes: dict[str, Any], extra: dict[str, float],
             counts: dict[str, int] | None, window: float, show: bool | None) -> dict[str, Any]:  # fmt: skip
    """Time synthetic networks whole and fit the in-network terms (``kernel_context``)."""
    from analyzer.core.engine import analyze
    from analyzer.core.progress import track
    from analyzer.plugins.hardware import kernel_bench as kb
    from analyzer.plugins.hardware import kernel_context as kc
    from analyzer.plugins.hardware import kernel_features as kf
    from analyzer.plugins.hardware import kernel_model as km

    n = (2 if counts is not None else 8) if quick else 24
    cal = {"threads": threads, "classes": classes, **extra}
    warm_model = km.KernelModel(km.merge(None, {}, cal), threads).without_context()
    warm, nets, measured = [], [], []
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for net, x in track(kc.synthetic_networks(torch, n), n, "calibrating (networks)", show):
            net.eval()
            report = analyze(net, x)
            g = report.graph
            warm.append(sum(r["latency_s"] for r in warm_model.layer_times(g, report.layers)))
            nets.append([kf.from_node(g, node) for node in g.nodes()])
            with torch.inference_mode():
                measured.append(
                    kb.time_call(lambda net=net, x=x: net(x), window * 4, 5, kb.clock_for(threads))
                )
    finally:
        torch.set_num_threads(old)
    fitted = kc.fit_bounds(warm, nets, measured)
    bounds = (fitted["activation_bound_macs_per_byte"], fitted["weight_bound_macs_per_byte"])
    quantities = [kc._summed(net, *bounds) for net in nets]
    after = [
        w + sum(fitted[t] * q[t] for t in kc.TERMS) for w, q in zip(warm, quantities, strict=True)
    ]
    return {**fitted, "networks": n,
            "error_before": [round(w / m - 1, 4) for w, m in zip(warm, measured, strict=True)],
            "error_after": [round(a / m - 1, 4) for a, m in zip(after, measured, strict=True)]}  # fmt: skip


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def machine(info: HostInfo | None = None) -> dict[str, Any]:
    """What identifies the machine a kernel calibration belongs to."""
    info = info or host_info()
    return {"cpu": info.model, "cores": info.cores}


def write_kernels(
    directory: Path, calibration: dict[str, Any], info: HostInfo | None = None
) -> Path:
    """Add ``calibration`` to ``host-kernels.json`` in ``directory`` (same machine: others kept)."""
    from analyzer.plugins.hardware import kernel_model as km

    path = directory / km.FILE_NAME
    try:
        existing = km.read(path) if path.is_file() else None
    except AnalysisError:
        existing = None  # an unreadable old file is replaced
    doc = km.merge(existing, machine(info), calibration)
    try:
        km.write(path, doc)
    except OSError as e:
        raise AnalysisError(f"cannot write {path}: {e.strerror}") from None
    return path


def calibrate_command(
    output_dir: Path | None, quick: bool, threads: int = 1, kernels: bool = True
) -> Path:
    """Measure, write ``host.toml`` (and ``host-kernels.json``) and check they load; returns host.toml's path."""
    path = (output_dir or default_output_dir()) / "host.toml"
    doc = calibrate(quick)
    try:
        _write(doc, path)
    except OSError as e:
        raise AnalysisError(f"cannot write {path}: {e.strerror}") from None
    load_device(path)  # the file must validate like any other spec
    if kernels:
        try:
            cal = measure_kernels(threads, quick)
        except ModuleNotFoundError as e:
            if e.name not in ("torch", "sklearn"):
                raise
            return path  # the kernel-level model needs PyTorch and scikit-learn (analyzer[latency])
        write_kernels(path.parent, cal)
    return path
