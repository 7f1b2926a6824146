"""Keras frontend speed on keras.applications: build, capture and metrics per model.

Each model is built with ``weights=None`` inside ``keras.StatelessScope(
initialize_variables=False)`` (no weight initialisation), then converted
(``to_graph``: the symbolic capture and IR emission) and analyzed
(``analyze_graph``: every metric). Figures are the median of ``--repeat``
runs of the capture and metrics, after one untimed run.

    KERAS_BACKEND=tensorflow .venv/bin/python bench/keras_applications.py [--repeat 3] [NAME...]
"""

from __future__ import annotations

import argparse
import statistics
import time

import keras

import analyzer


def timed(fn, repeat: int, *args, **kwargs) -> tuple[float, object]:
    result = fn(*args, **kwargs)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "names",
        nargs="*",
        default=["MobileNetV2", "ResNet50", "VGG16", "EfficientNetB0", "ConvNeXtXLarge"],
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    print(
        f"{'model':18s} {'nodes':>6s} {'build s':>8s} {'capture s':>10s} {'metrics s':>10s} {'MACs':>16s}"
    )
    for name in args.names:
        t = time.perf_counter()
        with keras.StatelessScope(initialize_variables=False):
            model = getattr(keras.applications, name)(weights=None)
        build = time.perf_counter() - t
        inputs = (1, 224, 224, 3) if model.inputs[0].shape[1] is None else None
        capture, graph = timed(analyzer.to_graph, args.repeat, model, inputs, framework="keras")
        metrics, report = timed(analyzer.analyze_graph, args.repeat, graph)
        print(
            f"{name:18s} {len(graph):6d} {build:8.2f} {capture:10.3f} {metrics:10.3f} {report.totals['macs']:16,d}"
        )
        keras.backend.clear_session()


if __name__ == "__main__":
    main()
