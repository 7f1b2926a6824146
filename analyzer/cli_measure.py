"""``python -m analyzer measure SPEC``: run a model on this host, print measured beside predicted.

See analyzer/plugins/hardware/measure.py for how it runs and times, and
docs/hardware.md ("Host latency: kernel-level model") for what the numbers mean.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from analyzer.core.errors import UsageError

FORMATS = ("table", "json")


def _count(low: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    return parse


def add_parser(subs: Any, parents: list[argparse.ArgumentParser]) -> None:
    m = subs.add_parser("measure", parents=parents, help="run a model on this host and compare with the prediction",
                        description="Run the model for real on this machine (PyTorch eager, or ONNX Runtime for "
                        ".onnx files) with its own weights (random ones for a model on the meta device), and print measured beside predicted latency, per "
                        "layer and in total.")  # fmt: skip
    m.add_argument("spec", metavar="SPEC")
    from analyzer.cli import _shape

    m.add_argument("--input-shape", "-i", type=_shape, action="append", metavar="SHAPE[:DTYPE]",
                   help="input shape such as 1,3,224,224 (repeat for several inputs); default: the SPEC's, "
                   "and for an .onnx file its own, symbolic dims at 1")  # fmt: skip
    m.add_argument(
        "--threads", type=_count(1), default=1, metavar="N", help="intra-op threads (default 1)"
    )
    m.add_argument(
        "--repeat", type=_count(1), default=20, metavar="R", help="timed runs (default 20)"
    )
    m.add_argument(
        "--warmup", type=_count(0), default=3, metavar="W", help="untimed runs first (default 3)"
    )
    m.add_argument(
        "--device",
        "-d",
        default="host",
        metavar="NAME",
        help="device of the prediction (default host)",
    )
    m.add_argument(
        "--framework", metavar="NAME", help="frontend to use when detection is not wanted"
    )
    m.add_argument(
        "--max-memory", metavar="SIZE", help="memory limit for materialising meta-device weights"
    )
    m.add_argument("--no-layers", action="store_true", help="total only (no hooked per-layer runs)")
    m.add_argument(
        "--format", "-f", default="table", metavar="{table,json}", help="table (default) or json"
    )
    m.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write to FILE instead of stdout"
    )


def run_measure(spec_text: str, plugins: Any, *, device: str = "host", threads: int = 1, repeat: int = 20,
                warmup: int = 3, framework: str | None = None, max_memory: Any = None,
                per_layer: bool = True, inputs: Any = None) -> dict[str, Any]:  # fmt: skip
    """Analyze SPEC for ``device`` at ``threads``, run it, and return the comparison document.

    ``inputs`` (shapes or ``Tensor`` specs, ``--input-shape``) replace the SPEC's. Inputs given as
    shapes run as random tensors of the analysed graph's input shapes and dtypes; an ``.onnx``
    file's symbolic dims not bound by ``inputs`` run at 1, in the analysis and in ONNX Runtime.
    """
    from analyzer.core.engine import analyze
    from analyzer.core.frontend import shape_inputs
    from analyzer.core.spec import resolve_spec
    from analyzer.plugins.hardware import measure as ms

    target = plugins.devices.get(device)
    if target.device_class != "cpu":  # the run happens here: comparing it with a GPU or MCU says nothing
        raise UsageError(f"measure runs the model on this machine's CPU: --device must be a CPU "
                         f"(host after calibrate), not {device!r} (a {target.device_class})")  # fmt: skip
    spec = resolve_spec(spec_text, plugins, framework)
    inputs = inputs if inputs is not None else spec.inputs
    fopts = dict(spec.frontend_options)
    if max_memory:
        fopts["max_memory"] = max_memory
    model = spec.model
    onnx_file = isinstance(model, Path | str) and Path(model).suffix == ".onnx"
    if onnx_file and inputs is None and "dims" not in fopts:
        fopts["dims"] = {name: 1 for name in _onnx_symbols(Path(model))}  # as ONNX Runtime will run it
    report = analyze(model, inputs, params=spec.params, framework=framework or spec.framework,
                     devices=[device], plugins=plugins, name=spec.name, frontend_options=fopts,
                     hardware={"threads": threads})  # fmt: skip
    graph_shapes = {n: tuple(int(d) for d in report.graph.shape(n)) for n in report.graph.inputs}
    if onnx_file:
        m = ms.measure_onnx(Path(model), threads, repeat, warmup, shapes=graph_shapes)
    elif _is_torch_module(model):
        if inputs is None or shape_inputs(inputs) is not None:  # shapes, not tensors: make real ones
            inputs = ms.example_inputs(report.graph)
        m = ms.measure_torch(model, inputs, threads, repeat, warmup, per_layer, max_memory)
    else:
        raise UsageError(f"measure: {spec_text} is not a PyTorch module or an .onnx file "
                         f"(the runtimes measure runs)")  # fmt: skip
    return ms.compare(report, m)


def _onnx_symbols(path: Path) -> list[str]:
    """The symbolic dim names of an ONNX file's inputs (read without its weights)."""
    try:
        import onnx
    except ImportError:
        return []
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception:  # the analysis names what is wrong with the file
        return []
    inits = {t.name for t in graph.initializer}
    return sorted({d.dim_param for vi in graph.input if vi.name not in inits
                   for d in vi.type.tensor_type.shape.dim if d.dim_param})  # fmt: skip


def _is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def cmd_measure(args: argparse.Namespace, plugins: Any) -> int:
    from analyzer.plugins.hardware.measure import render_table

    if args.format not in FORMATS:
        raise UsageError(f"measure: format {args.format!r} not available (table or json)")
    from analyzer.cli import _inputs

    doc = run_measure(args.spec, plugins, device=args.device, threads=args.threads, repeat=args.repeat,
                      warmup=args.warmup, framework=args.framework, max_memory=args.max_memory,
                      per_layer=not args.no_layers, inputs=_inputs(args))  # fmt: skip
    text = json.dumps(doc, indent=2) + "\n" if args.format == "json" else render_table(doc)
    if args.output:
        try:
            args.output.write_text(text)
        except OSError as e:
            raise UsageError(f"--output: cannot write {args.output} ({e.strerror})") from None
    else:
        sys.stdout.write(text)
    return 0
