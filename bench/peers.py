"""The analyzer beside every PyTorch peer that runs on meta tensors, same process, same models.

Each tool gets the same weight-free model (built under ``torch.device("meta")``)
and meta inputs, one thread, warm (two untimed runs first); the figure is the
median of ``--repeat`` runs. The ratio column is the tool's time over the
analyzer's; the goal (issue 13) is the analyzer at most half the fastest
peer's time on every model.

Peers (installed only for this benchmark, outside the project's venv):

    mkdir -p /tmp/peers /tmp/peers-thop
    .venv/bin/pip install --no-deps --target /tmp/peers ultralytics-thop ptflops calflops \\
        torchinfo deepspeed hjson ninja py-cpuinfo einops
    .venv/bin/pip install --no-deps --target /tmp/peers-thop thop
    OMP_NUM_THREADS=1 .venv/bin/python bench/peers.py --peers /tmp/peers --thop /tmp/peers-thop

``thop`` and ``ultralytics-thop`` install the same module name, hence two
folders. A peer that fails on a model is listed with its one-line error and
left out of the fastest-peer figure. What each tool counts differs (MACs,
FLOPs, modules only); counts are printed for reference, not compared here:
the exactness comparison is in the test suites and docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from timing import timed  # noqa: E402  (bench/timing.py)

import analyzer  # noqa: E402

Build = Callable[[], tuple[torch.nn.Module, dict[str, torch.Tensor]]]


def _vision(name: str) -> Build:
    def build() -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
        from tests.plugins.frontends.torch import tv_shim

        tv_shim.load()
        import timm

        with torch.device("meta"):
            model = timm.create_model(name, pretrained=False).eval()
        return model, {"x": torch.empty(1, 3, 224, 224, device="meta")}

    return build


def _text(kind: str) -> Build:
    def build() -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
        import transformers

        config = transformers.GPT2Config() if kind == "gpt2" else transformers.BertConfig()
        config._attn_implementation = "sdpa"
        cls = transformers.GPT2Model if kind == "gpt2" else transformers.BertModel
        with torch.device("meta"):
            model = cls(config).eval()
        ids = torch.zeros(1, 128, dtype=torch.long, device="meta")
        return model, {"input_ids": ids}

    return build


MODELS: dict[str, Build] = {
    "ResNet-50": _vision("resnet50"),
    "MobileNetV2": _vision("mobilenetv2_100"),
    "ViT-B/16": _vision("vit_base_patch16_224"),
    "DenseNet-121": _vision("densenet121"),
    "GPT-2 (128 tokens)": _text("gpt2"),
    "BERT-base (128 tokens)": _text("bert"),
}


def _quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Peers print tables and warnings; keep the benchmark's output readable."""

    def run() -> Any:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return fn()

    return run


def _import_thop(folder: str | None) -> Any:
    """``thop`` from ``folder`` (the two thop packages share one module name)."""
    for name in [m for m in sys.modules if m == "thop" or m.startswith("thop.")]:
        del sys.modules[name]
    if folder:
        sys.path.insert(0, folder)
    try:
        return importlib.import_module("thop")
    finally:
        if folder:
            sys.path.remove(folder)


def peers(
    model: torch.nn.Module, inputs: dict[str, torch.Tensor], thop_dir: str | None
) -> dict[str, Callable[[], Any]]:
    args = tuple(inputs.values())
    out: dict[str, Callable[[], Any]] = {}

    def flop_counter() -> int:
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            model(**inputs)
        return counter.get_total_flops()

    out["FlopCounterMode (FLOPs)"] = flop_counter

    for label, folder in (("thop (MACs)", thop_dir), ("ultralytics-thop (MACs)", None)):

        def thop_run(folder: str | None = folder) -> int:
            thop = _import_thop(folder)
            macs, _ = thop.profile(model, inputs=args, verbose=False)
            return int(macs)

        out[label] = thop_run

    for backend in ("pytorch", "aten"):

        def ptflops_run(backend: str = backend) -> int:
            from ptflops import get_model_complexity_info

            macs, _ = get_model_complexity_info(
                model, (1,), input_constructor=lambda _: dict(inputs), as_strings=False,
                backend=backend, print_per_layer_stat=False, verbose=False,
            )  # fmt: skip
            return int(macs)

        out[f"ptflops {backend} (MACs)"] = ptflops_run

    def calflops_run() -> int:
        from calflops import calculate_flops

        _, macs, _ = calculate_flops(model, kwargs=dict(inputs), output_as_string=False,
                                     print_results=False, print_detailed=False)  # fmt: skip
        return int(macs)

    out["calflops (MACs)"] = calflops_run

    def deepspeed_run() -> int:
        from deepspeed.profiling.flops_profiler import get_model_profile

        _, macs, _ = get_model_profile(model, kwargs=dict(inputs), print_profile=False,
                                       detailed=False, as_string=False)  # fmt: skip
        return int(macs)

    out["DeepSpeed profiler (MACs)"] = deepspeed_run

    def torchinfo_run() -> int:
        from torchinfo import summary

        return int(
            summary(model, input_data=dict(inputs), verbose=0, device="meta").total_mult_adds
        )

    out["torchinfo (mult-adds)"] = torchinfo_run
    return {k: _quiet(v) for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--peers", help="folder the peers were installed into (pip --target)")
    p.add_argument("--thop", help="folder the original thop was installed into")
    p.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    args = p.parse_args()
    if args.peers:
        sys.path.append(args.peers)
    from tests.plugins.frontends.torch import tv_shim

    tv_shim.load()  # peers import torchvision (ptflops, calflops): its ops need the shim first
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, median of {args.repeat} warm runs, meta tensors")
    worst = 0.0
    for name in args.models:
        model, inputs = MODELS[name]()
        t_ours, report = timed(lambda m=model, i=inputs: analyzer.analyze(m, i), args.repeat)
        print(f"\n{name}: analyzer {t_ours * 1e3:.1f} ms, {report.totals['macs']:,} MACs "
              f"({report.model['capture']}, {len(report.unsupported)} unsupported op kinds)")  # fmt: skip
        fastest = None
        for label, fn in peers(model, inputs, args.thop).items():
            try:
                t, value = timed(fn, args.repeat)
            except Exception as e:  # a peer that cannot run this model: say why, skip it
                first = (str(e).strip().splitlines() or [""])[0][:90]
                print(f"  {label:<26}        -  failed: {type(e).__name__}: {first}")
                continue
            fastest = t if fastest is None else min(fastest, t)
            print(f"  {label:<26} {t * 1e3:8.1f} ms  x{t / t_ours:5.2f}  {value:,}")
        if fastest is not None:
            share = t_ours / fastest
            worst = max(worst, share)
            verdict = "meets" if share <= 0.5 else "misses"
            print(f"  analyzer / fastest peer: {share:.2f} (goal <= 0.50: {verdict})")
    print(f"\nworst analyzer / fastest-peer ratio: {worst:.2f} (goal <= 0.50)")


if __name__ == "__main__":
    main()
