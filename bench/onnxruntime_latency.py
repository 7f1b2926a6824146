"""ONNX Runtime on this host beside the analyzer's ``--device host`` prediction, for the zoo.

Each zoo model is exported to ONNX (``bench/onnx_zoo.py``) and run with ONNX
Runtime on the CPU, one thread (``intra_op_num_threads=1``,
``inter_op_num_threads=1``, sequential execution, all graph optimizations):
``--warmup`` untimed runs, then the median of ``--repeat`` timed ones. The
prediction is the analyzer's latency for device ``host`` on the same
``.onnx`` file (``python -m analyzer analyze FILE --device host``), so the
two figures describe one graph. The ratio is predicted / measured.

    OMP_NUM_THREADS=1 .venv/bin/python bench/onnxruntime_latency.py [--archs mobilenet_v2 resnet50]

The ``host`` device comes from ``python -m analyzer calibrate`` (or
``calibrate --quick --output-dir DIR`` with ``ANALYZER_DEVICE_PATH=DIR``);
without it the prediction column says so. One run on the shared 2-core
development machine (loaded; calibrate --quick), median of 5:

    model           onnxruntime (ms)  predicted (ms)   ratio
    alexnet                   111.88           64.91    0.58
    mobilenet_v2               27.76           21.82    0.79
    resnet50                  284.20          280.12    0.99
    transformer                32.45           27.97    0.86
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from onnx_zoo import ARCHS, export_zoo


def ort_latency(path: Path, shape: tuple[int, ...], warmup: int, repeat: int) -> float:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).random(shape, dtype=np.float32)}
    for _ in range(warmup):
        session.run(None, feed)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def predicted(path: Path, device: str) -> float | str:
    import analyzer

    try:
        report = analyzer.analyze(path, devices=[device])
    except Exception as e:  # no calibrated host: say why instead of failing the whole table
        return f"n/a ({(str(e).splitlines() or [type(e).__name__])[0][:60]})"
    return report.hardware[0].latency_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", nargs="*", default=list(ARCHS))
    ap.add_argument("--device", default="host")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument(
        "--folder", type=Path, default=Path(tempfile.gettempdir()) / "analyzer-onnx-zoo"
    )
    args = ap.parse_args()
    files = export_zoo(args.folder, tuple(args.archs))
    print(f"{'model':<14} {'onnxruntime (ms)':>17} {'predicted (ms)':>15} {'ratio':>7}")
    for arch, (path, shape) in files.items():
        measured = ort_latency(path, shape, args.warmup, args.repeat)
        pred = predicted(path, args.device)
        if isinstance(pred, str):
            print(f"{arch:<14} {measured * 1e3:>17.2f} {pred:>15}")
        else:
            print(f"{arch:<14} {measured * 1e3:>17.2f} {pred * 1e3:>15.2f} {pred / measured:>7.2f}")


if __name__ == "__main__":
    main()
