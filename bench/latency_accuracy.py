"""How far to trust ``--device host``: predicted vs measured latency of real models it never saw.

Over 20+ real models (timm and transformers built from code with random
weights, the analyzer's zoo), each run with one thread in PyTorch eager
(``analyzer.plugins.hardware.measure``: thread CPU time, the fastest of
``--repeat`` runs, as the micro-benchmarks keep theirs: other processes on
a shared machine only ever slow a run down) and predicted by

- before: the cpu roofline on the ``host`` spec derived from the OS's CPU
  description (no measurement: ``host.derived_host_doc``);
- after: the kernel-level model of ``calibrate`` (``host-kernels.json``).

Prints the per-model table, the share within +-10% and +-20%, the mean and
worst absolute error, the load average. Held-out check: no layer of a
validation model (same op, input, parameter and output shapes, kernel
attributes) is among the micro-benchmarks: calibrating here leaves them out
(``measure_kernels(exclude=...)``), and the count of coinciding layers is
printed (0 unless ``--kernels`` names a file calibrated without them).

    python bench/latency_accuracy.py [--kernels FILE] [--quick] [--repeat R] [--models a,b] [--no-trim]

``--kernels``: an existing host-kernels.json (default: calibrate now, one
thread; ``--quick`` for the short set). ``--no-trim`` runs the benchmark in
a process where glibc keeps freed memory (MALLOC_TRIM_THRESHOLD_ and
MALLOC_MMAP_THRESHOLD_ set high), which removes the page faults some models
pay on every run with the default allocator settings.
"""

# ruff: noqa: E402
from __future__ import annotations

import os
import sys

if "--no-trim" in sys.argv and os.environ.get("MALLOC_TRIM_THRESHOLD_") is None:
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_=str(1 << 40), MALLOC_MMAP_THRESHOLD_=str(1 << 30))
    os.execve(sys.executable, [sys.executable, *sys.argv], env)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "frontends" / "torch"))

import tv_shim  # noqa: F401 - timm imports torchvision, whose C++ ops do not match this torch

tv_shim.load()

import torch

IMAGE = (1, 3, 224, 224)


def _timm(name: str, shape: tuple[int, ...] = IMAGE) -> Callable[[], tuple[Any, Any]]:
    def build() -> tuple[Any, Any]:
        import timm

        return timm.create_model(name, pretrained=False), torch.randn(shape)

    return build


def _hf(kind: str, seq: int = 128) -> Callable[[], tuple[Any, Any]]:
    def build() -> tuple[Any, Any]:
        import transformers as tf

        ids = torch.randint(0, 1000, (1, seq))
        if kind == "bert":
            cfg = tf.BertConfig(vocab_size=8000, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                                intermediate_size=1024)  # fmt: skip
            return tf.BertModel(cfg), ids
        if kind == "distilbert":
            cfg = tf.DistilBertConfig(
                vocab_size=8000, dim=384, n_layers=3, n_heads=6, hidden_dim=1536
            )
            return tf.DistilBertModel(cfg), ids
        if kind == "gpt2":
            cfg = tf.GPT2Config(vocab_size=8000, n_embd=256, n_layer=4, n_head=4, n_positions=256)
            return tf.GPT2Model(cfg), ids
        if kind == "t5":
            cfg = tf.T5Config(
                vocab_size=8000, d_model=256, d_kv=32, d_ff=1024, num_layers=4, num_heads=8
            )
            return tf.T5EncoderModel(cfg), ids
        raise ValueError(kind)

    return build


def _zoo_torch(name: str) -> Callable[[], tuple[Any, Any]]:
    def build() -> tuple[Any, Any]:
        import torch.nn as nn

        if name == "zoo_tiny_cnn":  # the zoo's tiny CNN, written in PyTorch
            m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                              nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))  # fmt: skip
            return m, torch.randn(1, 3, 32, 32)
        raise ValueError(name)

    return build


MODELS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "resnet18": _timm("resnet18"), "resnet34": _timm("resnet34"), "resnet50": _timm("resnet50"),
    "mobilenetv2_100": _timm("mobilenetv2_100"), "mobilenetv3_small_100": _timm("mobilenetv3_small_100"),
    "mobilenetv3_large_100": _timm("mobilenetv3_large_100"), "efficientnet_b0": _timm("efficientnet_b0"),
    "mnasnet_100": _timm("mnasnet_100"), "regnetx_002": _timm("regnetx_002"), "regnety_004": _timm("regnety_004"),
    "convnext_atto": _timm("convnext_atto"), "ghostnet_100": _timm("ghostnet_100"),
    "vit_tiny_patch16_224": _timm("vit_tiny_patch16_224"), "deit_tiny_patch16_224": _timm("deit_tiny_patch16_224"),
    "mixer_s16_224": _timm("mixer_s16_224"), "resnet18_128px": _timm("resnet18", (1, 3, 128, 128)),
    "bert_4l_256": _hf("bert"), "distilbert_3l_384": _hf("distilbert"), "gpt2_4l_256": _hf("gpt2"),
    "t5_encoder_4l_256": _hf("t5"), "zoo_tiny_cnn": _zoo_torch("zoo_tiny_cnn"),
}  # fmt: skip


def held_out_overlap(graphs: dict[str, Any], bench_keys: set[Any]) -> dict[str, int]:
    """Per model: how many of its layers' exact shapes are among the micro-benchmarks."""
    from analyzer.plugins.hardware import kernel_features as kf

    return {
        name: sum(kf.from_node(g, n).key() in bench_keys for n in g.nodes())
        for name, g in graphs.items()
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--kernels", type=Path, help="an existing host-kernels.json (default: calibrate now)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="the quick micro-benchmark set when calibrating"
    )
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--models", help="comma-separated subset of: " + ", ".join(MODELS))
    ap.add_argument(
        "--no-trim", action="store_true", help="glibc keeps freed memory (see the docstring)"
    )
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    ap.add_argument("--save-kernels", type=Path, help="keep the host-kernels.json calibrated here")
    args = ap.parse_args()

    from analyzer import analyze
    from analyzer.core.devices import DeviceCatalog
    from analyzer.core.plugins import load_plugins
    from analyzer.plugins.hardware import calibrate as cal
    from analyzer.plugins.hardware import kernel_features as kf
    from analyzer.plugins.hardware import kernel_model as km
    from analyzer.plugins.hardware.host import derived_host_doc
    from analyzer.plugins.hardware.measure import measure_torch

    torch.set_num_threads(1)
    names = args.models.split(",") if args.models else list(MODELS)
    tmp = Path(tempfile.mkdtemp(prefix="latency_accuracy_"))
    try:
        derived = derived_host_doc()
        cal._write(derived, tmp / "host.toml")
        cal._write({**derived, "name": "host-derived"}, tmp / "host-derived.toml")
        built, graphs = {}, {}
        for name in names:  # the validation layers first: calibration leaves them out
            model, x = MODELS[name]()
            built[name] = (model.eval(), x)
            graphs[name] = analyze(model, x).graph
        held_out = {kf.from_node(g, n).key() for g in graphs.values() for n in g.nodes()}
        t0 = time.perf_counter()
        if args.kernels:
            shutil.copy(args.kernels, tmp / km.FILE_NAME)
            how = f"kernels from {args.kernels}"
        else:
            cal.write_kernels(tmp, cal.measure_kernels(1, args.quick, exclude=held_out))
            how = f"calibrated now ({'quick' if args.quick else 'full'}, {time.perf_counter() - t0:.0f} s)"
        doc = km.read(tmp / km.FILE_NAME)
        if args.save_kernels:
            shutil.copy(tmp / km.FILE_NAME, args.save_kernels)
        bench_keys = {kf.OpShape(op, _tuples(i), _tuples(o), _tuples(p)).key()
                      for op, i, p, o in doc["calibrations"]["1"]["benchmarks"]}  # fmt: skip
        ps = load_plugins()
        ps.devices = DeviceCatalog([tmp])
        rows = []
        for name in names:
            model, x = built[name]
            report = analyze(
                graphs[name], devices=["host-derived", "host"], plugins=ps, hardware={"threads": 1}
            )
            before, after = (h.latency_s for h in report.hardware)
            m = measure_torch(model, x, threads=1, repeat=args.repeat, warmup=2, per_layer=False)
            meas = min(m.samples)  # CPU time: other processes only ever slow a run down
            rows.append({"model": name, "measured_ms": meas * 1e3, "median_ms": m.median_s * 1e3,
                         "before_ms": before * 1e3, "after_ms": after * 1e3, "before_err": before / meas - 1,
                         "after_err": after / meas - 1, "page_faults": m.faults.get("page_faults", 0.0),
                         "system_ms": m.faults.get("system_s", 0.0) * 1e3})  # fmt: skip
            r = rows[-1]
            print(f"{name:24s} measured {r['measured_ms']:9.2f} ms (median {r['median_ms']:.2f})  before "
                  f"{r['before_ms']:9.2f} ({r['before_err']:+.1%})  after {r['after_ms']:9.2f} "
                  f"({r['after_err']:+.1%})  faults/run {r['page_faults']:.0f}", flush=True)  # fmt: skip
        overlap = held_out_overlap(graphs, bench_keys)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(render(rows, how, overlap, args))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "overlap": overlap}, indent=2))
    return 0


def _tuples(v: Any) -> Any:
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def render(
    rows: list[dict[str, Any]], how: str, overlap: dict[str, int], args: argparse.Namespace
) -> str:
    lines = ["| model | measured ms (fastest / median) | before ms | error | after ms | error | page faults/run |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['model']} | {r['measured_ms']:.2f} / {r['median_ms']:.2f} | {r['before_ms']:.2f} | {r['before_err']:+.1%} | "
                     f"{r['after_ms']:.2f} | {r['after_err']:+.1%} | {r['page_faults']:.0f} |")  # fmt: skip
    lines.append("")
    for key, label in (
        ("before_err", "before (derived roofline)"),
        ("after_err", "after (kernel-level model)"),
    ):
        errs = [abs(r[key]) for r in rows]
        n = len(errs)
        lines.append(f"{label}: within +-10% {sum(e <= 0.10 for e in errs)}/{n} "
                     f"({sum(e <= 0.10 for e in errs) / n:.0%}), within +-20% {sum(e <= 0.20 for e in errs)}/{n} "
                     f"({sum(e <= 0.20 for e in errs) / n:.0%}), mean |error| {sum(errs) / n:.1%}, "
                     f"worst {max(errs):.1%}")  # fmt: skip
    load = os.getloadavg()
    lines.append(
        f"held-out: {sum(overlap.values())} validation-model layers coincide with a micro-benchmark"
    )
    lines.append(f"{how}; fastest of {args.repeat} runs per model, 1 thread, thread CPU time; "
                 f"allocator: {'glibc, no trim' if args.no_trim else 'glibc defaults'}; load average "
                 f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} on {os.cpu_count()} CPUs; "
                 f"{datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
