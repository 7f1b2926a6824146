"""Measured PyTorch CUDA latency of the zoo beside the analyzer's GPU prediction.

The zoo's PyTorch twins (``examples/{alexnet,mobilenet_v2,resnet50,transformer}.py:torch_model``,
random weights) run in eager mode on the first CUDA device under
``torch.inference_mode``: ``--warmup`` untimed calls, then the median of
``--repeat`` calls each timed with CUDA events (``Event.record`` around the
call, ``synchronize``, ``elapsed_time``), per data type and batch size.
The prediction is the ``roofline-gpu`` model for ``--device`` (default:
detected from ``torch.cuda.get_device_name``, e.g. ``NVIDIA H200`` -> ``h200``)
on the graph the torch frontend reads from the *same* module, with the batch
sweep for the batch sizes; fp16 rows use ``compute_dtype=fp16`` with 16-bit
weights and activations. fp32 rows turn TF32 off (``allow_tf32 = False`` for
cuDNN and cuBLAS) so that fp32 runs on the CUDA cores the prediction assumes.

It also times a one-element ``torch.add`` (``--launches`` calls back to back):
the eager per-op launch + dispatch cost that the device's ``kernel_launch_s``
figure estimates.

Runs in well under five minutes on a datacenter GPU (``--budget-s``, default
240, stops measuring and marks the rest). Without CUDA it prints a message and
exits 0; ``--dry-run`` builds the models and the predictions on the CPU.

    python bench/gpu_latency.py [--device h200] [--models mobilenet_v2 resnet50]
        [--dtypes fp32 fp16] [--batches 1 8 64] [--json out.json] [--dry-run]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("alexnet", "mobilenet_v2", "resnet50", "transformer")
# torch device the measurements run on (a test swaps in "cpu" with fake CUDA events)
DEVICE = "cuda"
DTYPES = {"fp32": ("float32", 32), "fp16": ("float16", 16)}
# torch.cuda.get_device_name() substrings -> hardware_db names (first match wins)
DEVICE_NAMES = (("H200", "h200"), ("H100", "h100-sxm"), ("A100", "a100-sxm-80gb"), ("4090", "rtx-4090"),
                ("T4", "t4"), ("Orin", "jetson-orin-nano-8gb"))  # fmt: skip


def zoo_model(arch: str) -> dict[str, Any]:
    """``examples/<arch>.py``'s ``torch_model()``: a module on the meta device and its input shape."""
    spec = importlib.util.spec_from_file_location(
        f"_gpu_zoo_{arch}", ROOT / "examples" / f"{arch}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.torch_model()


def device_for(gpu_name: str) -> str | None:
    return next((db for key, db in DEVICE_NAMES if key.lower() in gpu_name.lower()), None)


def predict(
    model: Any, shape: tuple[int, ...], device: str, dtype: str, batches: list[int]
) -> dict[str, Any]:
    """Predicted latency per batch (the batch sweep) and the prediction's kernel count and launch figure."""
    import analyzer

    bits = DTYPES[dtype][1]
    hardware: dict[str, Any] = {"batch_sizes": batches}
    if dtype != "fp32":
        hardware["compute_dtype"] = dtype
    report = analyzer.analyze(model, shape, devices=[device], hardware=hardware, weight_bits=bits,
                              activation_bits=bits)  # fmt: skip
    hw = report.hardware[0]
    launch = hw.details["figures"].get("kernel_launch_s", {}).get("value")
    return {
        "kernels": hw.details.get("kernels"),
        "kernel_launch_s": launch,
        "latency_s": {row["batch"]: row["latency_s"] for row in hw.details["batch_sweep"]},
        "bound": {row["batch"]: row["bound"] for row in hw.details["batch_sweep"]},
        "notes": {
            row["batch"]: row.get("throughput_falls_because") for row in hw.details["batch_sweep"]
        },
    }


def materialize(model: Any, torch: Any, dtype: Any) -> Any:
    """The meta-device module on the GPU with random weights and sane BatchNorm statistics."""
    torch.manual_seed(0)
    model = model.to_empty(device=DEVICE).eval()
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.normal_(0, 0.05)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_var.uniform_(0.5, 1.5)
    return model.to(dtype)


def cuda_median_s(fn: Any, torch: Any, warmup: int, repeat: int) -> float:
    """Median seconds of ``repeat`` calls, each between two CUDA events, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def kernels_launched(fn: Any, torch: Any) -> int | None:
    """GPU kernels one call launches (PyTorch profiler, CUDA activity); None if the profiler fails."""
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        kinds = [e for e in prof.events() if str(getattr(e, "device_type", "")).endswith("CUDA")]
        return sum(
            1 for e in kinds if "memcpy" not in e.name.lower() and "memset" not in e.name.lower()
        )
    except Exception as e:  # a profiler problem must not cost the timing run
        print(f"gpu_latency: kernel count unavailable ({type(e).__name__}: {e})")
        return None


def launch_cost_s(torch: Any, n: int) -> float:
    """Seconds per eager op on a one-element tensor, ``n`` launches back to back (work ~ 0)."""
    x = torch.zeros(1, device=DEVICE)
    for _ in range(100):
        x = torch.add(x, 1)
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        x = torch.add(x, 1)
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / n


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    import torch

    cuda = torch.cuda.is_available() and not args.dry_run
    device = args.device
    if device is None and cuda:
        gpu = torch.cuda.get_device_name(0)
        device = device_for(gpu)
        if device is None:
            raise SystemExit(f"no device in hardware_db for {gpu!r}: name one with --device")
        print(f"GPU: {gpu} -> --device {device}")
    device = device or "h200"
    if cuda:
        per_op = launch_cost_s(torch, args.launches)
        print(
            f"eager per-op launch + dispatch (one-element add, {args.launches} back to back): {per_op * 1e6:.2f} us"
        )
    start = time.perf_counter()
    rows = []
    for arch in args.models:
        spec = zoo_model(arch)
        shape = tuple(spec["inputs"])
        for dtype in args.dtypes:
            pred = predict(spec["model"], shape, device, dtype, args.batches)
            module = None
            for batch in args.batches:
                row = {"model": arch, "dtype": dtype, "batch": batch, "device": device,
                       "predicted_ms": pred["latency_s"][batch] * 1e3, "bound": pred["bound"][batch],
                       "kernels": pred["kernels"], "measured_kernels": None, "measured_ms": None,
                       "status": "dry run" if not cuda else ""}  # fmt: skip
                if cuda and time.perf_counter() - start > args.budget_s:
                    row["status"] = "skipped (time budget)"
                elif cuda:
                    torch_dtype = getattr(torch, DTYPES[dtype][0])
                    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
                    # a fresh meta module: the predicted one stays on the meta device
                    if module is None:
                        module = materialize(zoo_model(arch)["model"], torch, torch_dtype)
                    x = torch.randn((batch, *shape[1:]), device=DEVICE, dtype=torch_dtype)
                    with torch.inference_mode():
                        call = lambda m=module, x=x: m(x)  # noqa: E731
                        row["measured_ms"] = (
                            cuda_median_s(call, torch, args.warmup, args.repeat) * 1e3
                        )
                        if batch == args.batches[0] and args.profile:
                            row["measured_kernels"] = kernels_launched(call, torch)
                    row["error_pct"] = 100 * (row["predicted_ms"] / row["measured_ms"] - 1)
                rows.append(row)
            module = None  # free the GPU memory before the next model
            if cuda:
                torch.cuda.empty_cache()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'model':<14}{'dtype':<6}{'batch':>6}{'kernels':>8}{'(run)':>7}{'predicted ms':>14}{'measured ms':>13}"
            f"{'error':>9}  bound")  # fmt: skip
    lines = [head]
    for r in rows:
        measured = f"{r['measured_ms']:.3f}" if r["measured_ms"] is not None else "-"
        error = f"{r['error_pct']:+.0f}%" if r.get("error_pct") is not None else r["status"]
        run_k = "-" if r.get("measured_kernels") is None else str(r["measured_kernels"])
        lines.append(f"{r['model']:<14}{r['dtype']:<6}{r['batch']:>6}{r['kernels'] or 0:>8}{run_k:>7}{r['predicted_ms']:>14.3f}"
                     f"{measured:>13}{error:>9}  {r['bound']}")  # fmt: skip
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", help="hardware_db GPU to predict for (default: detected)")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    p.add_argument("--batches", nargs="+", type=int, default=[1, 8, 64])
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--launches", type=int, default=2000)
    p.add_argument(
        "--budget-s", type=float, default=240.0, help="stop measuring after this many seconds"
    )
    p.add_argument("--json", type=Path, help="also write the rows here")
    p.add_argument("--no-profile", dest="profile", action="store_false",
                   help="skip counting the kernels of one call with the PyTorch profiler")  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="models and predictions only, no CUDA")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print(
            "gpu_latency: no CUDA device here; nothing measured (--dry-run prints the predictions)"
        )
        return 0
    rows = run(args)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
