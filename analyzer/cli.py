"""``python -m analyzer``: analyze, compare, devices, plugins, calibrate.

Exit codes: 0 success; 1 the model could not be loaded or analyzed; 2 the
command line is wrong (unknown option, bad SPEC, unknown device); 130
interrupted; 141 the reader of stdout went away (``| head``). Every failure prints one line to stderr, every warning one
``analyzer: warning:`` line; ``--debug`` adds the traceback and lets the
frameworks' own log output through. docs/errors.md lists them all.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import inspect
import json
import os
import re
import shutil
import sys
import tomllib
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from analyzer.cli_quiet import quiet_frameworks
from analyzer.core.errors import AnalysisError, AnalyzerError, UsageError, missing_framework

PROG = "analyzer"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage dumps."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{PROG}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _shape(text: str) -> tuple[tuple[int, ...], str | None]:
    """``1,3,224,224`` or ``1,128:int64`` -> (shape, dtype)."""
    dims, _, dtype = text.partition(":")
    try:
        shape = tuple(int(d) for d in re.split(r"[,x]", dims))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: expected comma-separated integers like 1,3,224,224") from None
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: dimensions must be positive (a batch of 0 is empty)")
    return shape, dtype or None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _common(debug_default: Any = False) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--debug", action="store_true", default=debug_default, help="show tracebacks on errors")
    p.add_argument("--block-plugin", action="append", default=debug_default if debug_default is argparse.SUPPRESS else [],
                   metavar="NAME", help="do not load this plugin (repeatable); also $ANALYZER_BLOCK_PLUGINS")  # fmt: skip
    return p


def version() -> str:
    """The installed distribution's version; ``analyzer.__version__`` when run from a bare checkout."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("analyzer")
    except PackageNotFoundError:
        import analyzer

        return getattr(analyzer, "__version__", "unknown")


def _output_options(p: argparse.ArgumentParser, formats: Sequence[str] | None = None, depth: bool = True) -> None:
    """--format/--output (and --depth); ``formats`` are the only choices a command without reporters has."""
    if formats is None:
        p.add_argument("--format", "-f", default="table", help="table (default), json, csv, markdown, html, or a plugin's format")
    else:
        # no argparse choices: the command's own check words the error as docs/errors.md lists it
        p.add_argument("--format", "-f", default=formats[0], metavar="{" + ",".join(formats) + "}",
                       help=f"{formats[0]} (default) or {', '.join(formats[1:])}")  # fmt: skip
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the result to FILE instead of stdout")
    if formats is None:  # the report formats: which quantities, in which units
        p.add_argument("--columns", type=_names, metavar="A,B,...",
                       help="per-layer columns: quantity or group names (compute, memory, traffic...) or all; "
                       "default: each quantity shown as a column (the totals list every quantity)")  # fmt: skip
        p.add_argument("--binary-units", action="store_true", help="bytes in KiB/MiB/GiB instead of kB/MB/GB")
    if depth:
        p.add_argument("--depth", type=_positive_int, metavar="N", help="per-module roll-ups down to depth N instead of one row per layer")


def _analysis_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model input")
    g.add_argument("--input-shape", "-i", type=_shape, action="append", metavar="SHAPE[:DTYPE]",
                   help="input shape such as 1,3,224,224 or 1,128:int64 (repeat for several inputs)")  # fmt: skip
    g.add_argument("--framework", help="frontend to use instead of detecting it (torch, keras, jax, ir...)")
    g.add_argument("--capture", help="frontend capture path (PyTorch: meta, export or real)")
    g.add_argument("--max-memory", metavar="SIZE", help="PyTorch: most memory a real-trace fallback may "
                   "allocate, e.g. 8GB, 50%% (of available memory) or none; default 50%%")  # fmt: skip
    g.add_argument("--train-mode", action="store_true", help="PyTorch: analyse in the module's own "
                   "mode (default: eval mode, restored afterwards)")  # fmt: skip
    c = p.add_argument_group("conventions")
    c.add_argument("--no-bias", action="store_true", help="ignore biases, as the lecture does")
    c.add_argument("--exact-flops", action="store_true", help="count 2n-1 FLOPs per length-n dot product")
    c.add_argument("--weight-bits", type=_positive_int, metavar="N", help="store every weight at N bits (model size)")
    c.add_argument("--layer-bits", action="append", metavar="PATTERN=BITS|FILE",
                   help="bit width per layer-name pattern, or a TOML/JSON file of them (repeatable)")  # fmt: skip
    c.add_argument("--activation-bits", type=_positive_int, metavar="N", help="activation bit width (default: tensor dtype)")
    c.add_argument("--optimizer", choices=["sgd", "momentum", "adam"],
                   help="for the training-memory estimate (default adam; = --option training_memory.optimizer=...)")  # fmt: skip
    c.add_argument("--train-batch", type=_positive_int, metavar="N", help="batch size of the training-memory estimate")
    c.add_argument("--strict", action="store_true", help="fail (exit 1) when any op is unsupported")
    c.add_argument("--naive-traffic", action="store_true", help="memory traffic by the lecture's naive model (one input read per MAC)")
    c.add_argument("--option", action="append", default=[], metavar="METRIC.KEY=VALUE",
                   help="set an option a metric declares, e.g. traffic.naive_traffic=true (repeatable; "
                   "'python -m analyzer plugins' lists them)")  # fmt: skip
    h = p.add_argument_group("hardware")
    h.add_argument("--device", "-d", action="append", default=[], metavar="NAME",
                   help="device from the hardware DB, or a device TOML file (repeatable)")  # fmt: skip
    h.add_argument("--batch", type=_int_list, metavar="B1,B2,...", help="batch sizes of the throughput sweep")
    h.add_argument("--efficiency", type=_key_value, action="append", metavar="CLASS=FRACTION",
                   help="override a device efficiency factor, e.g. gemm=0.5 (repeatable)")  # fmt: skip
    h.add_argument("--hardware-model", metavar="NAME",
                   help="hardware model for devices of its class, when several are installed (docs/plugins.md)")  # fmt: skip
    h.add_argument("--hardware-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a hardware model's option, e.g. runtime=tinyengine, kernel_launch_s=1e-6 (repeatable; "
                   "docs/hardware.md, Hardware options)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from analyzer.cli_devices import FORMATS as DEVICE_FORMATS

    common = _common()
    sub_common = _common(argparse.SUPPRESS)
    parser = _Parser(prog=PROG, description="Analyze the efficiency of neural networks: params, MACs, FLOPs, "
                     "activations, memory traffic; latency, energy and fit on CPUs, GPUs and MCUs.",
                     parents=[common])  # fmt: skip
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    a = subs.add_parser("analyze", parents=[sub_common], help="analyze one model",
                        description="Analyze one model. SPEC: path/file.py:NAME, package.module:NAME, or a saved "
                        "model/graph file (.json IR, .pt2, .keras, .tflite).")  # fmt: skip
    a.add_argument("spec", metavar="SPEC")
    a.add_argument("--save-graph", type=Path, metavar="FILE",
                   help="also write the analyzed graph as IR JSON, which 'analyze FILE' reads back")  # fmt: skip
    a.add_argument("--plot", type=Path, metavar="DIR", help="also write plots (roofline, per-layer bars, memory, "
                   "batch) as PNG and SVG into DIR; needs matplotlib (analyzer[plot])")  # fmt: skip
    _analysis_options(a)
    _output_options(a)

    c = subs.add_parser("compare", parents=[sub_common], help="compare several models side by side")
    c.add_argument("specs", metavar="SPEC", nargs="+")
    _analysis_options(c)
    _output_options(c)

    d = subs.add_parser("devices", parents=[sub_common], help="list devices of the hardware DB, or show one")
    d.add_argument("action", nargs="?", default="list", choices=["list", "show"])
    d.add_argument("name", nargs="?", help="device to show")
    _output_options(d, DEVICE_FORMATS, depth=False)

    p = subs.add_parser("plugins", parents=[sub_common], help="list loaded plugins, their hooks and origin")
    _output_options(p, PLUGINS_FORMATS, depth=False)

    k = subs.add_parser("calibrate", parents=[sub_common], help="measure this machine and write the 'host' device spec")
    k.add_argument("--output-dir", type=Path, help="directory for host.toml (default: the user device directory)")
    k.add_argument("--quick", action="store_true", help="shorter measurements (less accurate)")
    k.add_argument("--threads", type=int, default=1, metavar="N", help="intra-op threads of the kernel-level "
                   "micro-benchmarks (default 1); host-kernels.json keeps one calibration per count")  # fmt: skip

    from analyzer.cli_sweep import add_parser as add_sweep_parser

    add_sweep_parser(subs, [sub_common])
    from analyzer.cli_measure import add_parser as add_measure_parser

    add_measure_parser(subs, [sub_common])
    return parser


def _layer_bits(items: Sequence[str] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items or ():
        path = Path(item)
        if "=" not in item and path.suffix in (".toml", ".json"):
            try:
                text = path.read_text()
                doc = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
            except OSError as e:
                raise UsageError(f"--layer-bits: cannot read {path} ({e.strerror})") from None
            except (ValueError, RecursionError) as e:  # TOML/JSON syntax, absurd nesting or integers
                raise UsageError(f"--layer-bits: {path} is not valid {path.suffix[1:].upper()} ({e})") from None
            doc = doc.get("layer_bits", doc) if isinstance(doc, dict) else doc
            if not isinstance(doc, dict):
                raise UsageError(f"--layer-bits: {path} must map layer-name patterns to bit widths")
            pairs = list(doc.items())
        else:
            pattern, sep, bits = item.rpartition("=")
            if not sep or not pattern:
                raise UsageError(f"--layer-bits: expected PATTERN=BITS or a .toml/.json file, got {item!r}")
            pairs = [(pattern, bits)]
        for pattern, bits in pairs:
            try:
                value = int(bits)
            except (TypeError, ValueError):
                raise UsageError(f"--layer-bits: bit width for {pattern!r} must be an integer, got {bits!r}") from None
            if value <= 0:
                raise UsageError(f"--layer-bits: bit width for {pattern!r} must be positive")
            out[str(pattern)] = value
    return out


def _hardware_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> (key, value as a TOML value: number, bool, list; else the text)."""
    import tomllib

    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise UsageError(f"--hardware-option: expected KEY=VALUE, got {text!r}")
    try:
        parsed: Any = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key.strip(), parsed


def _analysis_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    for flag, value in (("--batch", args.batch), ("--efficiency", args.efficiency), ("--hardware-model", args.hardware_model),
                        ("--hardware-option", args.hardware_option)):  # fmt: skip
        if value and not args.device:
            raise UsageError(f"{flag} applies to hardware estimates: give a --device too")
    hardware: dict[str, Any] = {}
    if args.batch:
        hardware["batch_sizes"] = args.batch
    if args.efficiency:
        try:
            hardware["efficiency"] = {k: float(v) for k, v in args.efficiency}
        except ValueError:
            raise UsageError("--efficiency: FRACTION must be a number") from None
    hardware.update(_hardware_option(text) for text in args.hardware_option)
    return {
        "bias": not args.no_bias,
        "exact_flops": args.exact_flops,
        "weight_bits": args.weight_bits,
        "layer_bits": _layer_bits(args.layer_bits),
        "activation_bits": args.activation_bits,
        "strict": args.strict,
        **_metric_options(args),
        "hardware": hardware,
        "hardware_model": args.hardware_model,
    }


def _metric_options(args: argparse.Namespace) -> dict[str, Any]:
    """--option METRIC.KEY=VALUE (typed by the metric's declaration when the analysis resolves
    them), and the flags that alias built-in metrics' options, only where given."""
    from analyzer.core.options import parse_assignment

    out: dict[str, Any] = {}
    if args.option:
        out["options"] = dict(parse_assignment(text) for text in args.option)
    aliases = {"naive_traffic": args.naive_traffic or None, "optimizer": args.optimizer, "train_batch": args.train_batch}
    out.update((k, v) for k, v in aliases.items() if v is not None)
    return out


def _inputs(args: argparse.Namespace) -> Any:
    from analyzer.core.ir import Tensor

    if not args.input_shape:
        return None
    many = len(args.input_shape) > 1
    # without :DTYPE a bare shape: the frontend picks the dtype (float32; PyTorch: the model's float dtype)
    return [Tensor(f"input{i}" if many else "input", shape, dtype) if dtype else tuple(shape)
            for i, (shape, dtype) in enumerate(args.input_shape)]  # fmt: skip


def _analyze_spec(spec_text: str, args: argparse.Namespace, plugins: Any) -> Any:
    from analyzer.core import dtypes
    from analyzer.core.engine import analyze
    from analyzer.core.spec import resolve_spec

    for _shape, dtype in args.input_shape or ():
        if dtype:
            try:
                dtypes.canonical(dtype)
            except ValueError as e:
                raise UsageError(f"--input-shape: {e}") from None
    spec = resolve_spec(spec_text, plugins, args.framework)
    inputs = _inputs(args)
    frontend_options = dict(spec.frontend_options)
    if args.capture:
        frontend_options["capture"] = args.capture
    if args.max_memory:
        frontend_options["max_memory"] = args.max_memory
    if args.train_mode:
        frontend_options["train_mode"] = True
    return analyze(
        spec.model, inputs if inputs is not None else spec.inputs, params=spec.params,
        framework=args.framework or spec.framework, devices=args.device, plugins=plugins,
        name=spec.name, frontend_options=frontend_options, **_analysis_kwargs(args),
    )  # fmt: skip


def _emit(text: str | Iterable[str], args: argparse.Namespace) -> None:
    """Write ``text``, or its pieces as they come (a large report is never held whole)."""
    chunks = (text,) if isinstance(text, str) else text
    if args.output:
        try:
            with args.output.open("w") as out:
                for chunk in chunks:
                    out.write(chunk)
        except OSError as e:
            raise UsageError(f"--output: cannot write {args.output} ({e.strerror})") from None
    else:
        for chunk in chunks:
            sys.stdout.write(chunk)


def _view(obj: Any, args: argparse.Namespace, render: Any) -> dict[str, Any]:
    """--columns (checked against the report's quantities) and --binary-units, for a reporter that takes them."""
    from analyzer.plugins.reporters import common

    view: dict[str, Any] = {}
    if args.columns is not None:
        check = common.aligned_quantities if type(obj).__name__ == "Comparison" else common.select_columns
        check(obj, args.columns)  # an unknown name: one line listing the valid ones
        view["columns"] = args.columns
    if args.binary_units:
        view["binary_units"] = True
    params = inspect.signature(render).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for key in view:
        if key not in params and not takes_all:  # a plugin's reporter without them
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{flag}: format {args.format!r} does not choose columns or units")
    return view


def _render(obj: Any, args: argparse.Namespace, plugins: Any, plot_files: Sequence[Path] = ()) -> str | Iterable[str]:
    """``plot_files`` (``--plot``'s SVGs) go inline to a reporter that takes ``plots`` (html)."""
    reporter = plugins.reporter(args.format)
    color = args.output is None and sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if color else None
    depth = getattr(args, "depth", None)
    if type(obj).__name__ == "Comparison":
        view = _view(obj, args, reporter.render_comparison)
        if depth is None:
            return reporter.render_comparison(obj, color=color, width=width, **view)
        if "depth" not in inspect.signature(reporter.render_comparison).parameters:  # a plugin's older reporter
            raise UsageError(f"--depth: format {args.format!r} does not render comparisons by module")
        return reporter.render_comparison(obj, color=color, width=width, depth=depth, **view)
    view = _view(obj, args, reporter.render_report)
    if plot_files and "plots" in inspect.signature(reporter.render_report).parameters:
        from analyzer.plugins.reporters.html import plots_from_files

        view["plots"] = plots_from_files(plot_files)
    render = getattr(reporter, "iter_report", None)  # Reporter's: pieces; a duck-typed plugin's: a string
    if render is not None:
        return render(obj, color=color, width=width, depth=depth, **view)
    return reporter.render_report(obj, color=color, width=width, depth=depth, **view)


def _printable(text: str) -> str:
    """Control characters (from a file's names) as \\xNN: stderr is a terminal too (docs/security.md)."""
    from analyzer.plugins.reporters.common import printable

    return printable(text)


def _warn(message: str) -> None:
    sys.stderr.write(f"{PROG}: warning: {_printable(message)}\n")


def _warn_report(report: Any, label: str = "") -> None:
    """Each of the report's warnings as one ``analyzer: warning:`` line on stderr.

    The report keeps them too (JSON ``warnings``, a note under the table), so
    that a saved report is whole; stderr is where docs/errors.md promises them.
    """
    for message in report.warnings:
        _warn(f"{label}: " * bool(label) + " ".join(str(message).split()))  # one line


def _check_layer_bits(report: Any, args: argparse.Namespace) -> None:
    """A --layer-bits pattern matching no layer or parameter is a warning (in the report too)."""
    from fnmatch import fnmatchcase

    names = [row.name for row in report.layers] + list(getattr(report.graph, "params", ()))
    for pattern in _layer_bits(args.layer_bits):
        if not any(fnmatchcase(n, pattern) for n in names):
            example = ", ".join(repr(n) for n in names[:3])
            message = f"--layer-bits pattern {pattern!r} matches no layer or parameter (names look like {example})"
            report.warnings.append(message)  # printed with the report's other warnings


def _save_graph(report: Any, path: Path) -> None:
    from analyzer.core.serialize import save_graph

    try:
        save_graph(report.graph, path)
    except OSError as e:
        raise UsageError(f"--save-graph: cannot write {path} ({e.strerror})") from None
    except TypeError as e:
        raise AnalysisError(f"--save-graph: the graph cannot be written as JSON ({e})") from None


def cmd_analyze(args: argparse.Namespace, plugins: Any) -> int:
    plugins.reporter(args.format)  # fail on a bad format before the work
    report = _analyze_spec(args.spec, args, plugins)
    _check_layer_bits(report, args)
    if args.save_graph:
        _save_graph(report, args.save_graph)
    plot_files: list[Path] = []
    if args.plot:
        from analyzer.plugins.reporters.plots import write_plots

        plot_files = write_plots(report, args.plot)
    _warn_report(report)
    _emit(_render(report, args, plugins, plot_files), args)
    return 0


def cmd_compare(args: argparse.Namespace, plugins: Any) -> int:
    from analyzer.core.compare import compare

    plugins.reporter(args.format)
    from analyzer.core.progress import track

    reports = [_analyze_spec(s, args, plugins) for s in track(args.specs, len(args.specs), "compare")]
    for report in reports:
        _check_layer_bits(report, args)
    comparison = compare(reports, labels=_labels(args.specs, reports))
    for label, report in zip(comparison.labels, reports, strict=True):
        _warn_report(report, label)
    _emit(_render(comparison, args, plugins), args)
    return 0


def _labels(specs: list[str], reports: list[Any]) -> list[str]:
    """Short column labels: the frameworks when they differ, else the SPECs' names."""
    frameworks = [r.model["framework"] for r in reports]
    if len(set(frameworks)) == len(frameworks):
        return frameworks
    names = [s.rpartition(":")[2] or s for s in specs]
    return names if len(set(names)) == len(names) else list(specs)


def _terminal_width(args: argparse.Namespace) -> int | None:
    """The terminal's columns when the output goes to one; None for a file or pipe (lines kept whole)."""
    return shutil.get_terminal_size().columns if args.output is None and sys.stdout.isatty() else None


def cmd_devices(args: argparse.Namespace, plugins: Any) -> int:
    from analyzer.cli_devices import render_device, render_device_list

    if args.action == "show":
        if not args.name:
            raise UsageError("devices show: give a device NAME")
        _emit(render_device(plugins.devices.get(args.name), args.format, _terminal_width(args)), args)
    else:
        if args.name:
            raise UsageError(f"devices: unexpected argument {args.name!r} (did you mean 'devices show {args.name}'?)")
        _emit(render_device_list(plugins.devices.all(), args.format, _terminal_width(args)), args)
    return 0


def _plugins_json(rows: list[dict[str, Any]], blocked: list[str], options: dict[str, list[dict[str, Any]]],
                  width: int | None = None) -> str:  # fmt: skip
    return json.dumps({"plugins": rows, "blocked": blocked, "metric_options": options}, indent=2) + "\n"


def _options_table(options: dict[str, list[dict[str, Any]]]) -> Any:
    """Each metric's declared options: what --option METRIC.KEY=VALUE accepts."""
    from rich.table import Table

    t = Table(title="Metric options (--option METRIC.KEY=VALUE)", title_justify="left", header_style="bold")
    for col in ("option", "type", "default", "help"):
        t.add_column(col, overflow="fold")
    for metric, declared in options.items():
        for o in declared:
            kind = "|".join(o["choices"]) if "choices" in o else o["type"]
            alias = f" (also --{o['alias'].replace('_', '-')})" if o.get("alias") else ""
            t.add_row(f"{metric}.{o['name']}", kind, str(o["default"]).lower() if o["default"] is not None else "none",
                      o["help"] + alias)  # fmt: skip
    return t


def _plugins_table(rows: list[dict[str, Any]], blocked: list[str], options: dict[str, list[dict[str, Any]]],
                   width: int | None = None) -> str:  # fmt: skip
    from rich.table import Table

    from analyzer.plugins.reporters.common import rich_text

    t = Table(title="Loaded plugins", title_justify="left", header_style="bold")
    for col in ("name", "origin", "module", "hooks"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r["name"], r["origin"], r["module"], ", ".join(h.removeprefix("analyzer_") for h in r["hooks"]))
    return rich_text(t, *([_options_table(options)] if options else []), *(["blocked: " + ", ".join(blocked)] if blocked else []),
                     width=width)  # fmt: skip


PLUGINS_RENDERERS = {"table": _plugins_table, "json": _plugins_json}
PLUGINS_FORMATS = tuple(PLUGINS_RENDERERS)  # the first is the default


def cmd_plugins(args: argparse.Namespace, plugins: Any) -> int:
    render = PLUGINS_RENDERERS.get(args.format)
    if render is None:  # argparse's choices stop this on the command line; main() may be called otherwise
        raise UsageError(f"plugins: format {args.format!r} not available ({' or '.join(PLUGINS_FORMATS)})")
    options = {m.name: [o.describe() for o in m.options] for m in plugins.metrics.values() if m.options}
    _emit(render(plugins.describe(), plugins.blocked(), dict(sorted(options.items())), _terminal_width(args)), args)
    return 0


def cmd_calibrate(args: argparse.Namespace, plugins: Any) -> int:
    from analyzer.plugins.hardware.calibrate import calibrate_command

    if args.threads < 1:
        raise UsageError(f"--threads must be a positive integer, got {args.threads}")
    path = calibrate_command(output_dir=args.output_dir, quick=args.quick, threads=args.threads)
    sys.stdout.write(f"wrote {path}\n")
    kernels = path.parent / "host-kernels.json"
    if kernels.is_file():  # the kernel-level model (needs PyTorch and scikit-learn)
        sys.stdout.write(f"wrote {kernels} ({args.threads} thread{'s' * (args.threads > 1)})\n")
    return 0


def cmd_sweep(args: argparse.Namespace, plugins: Any) -> int:
    from analyzer.cli_sweep import cmd_sweep as run

    return run(args, plugins)


def cmd_measure(args: argparse.Namespace, plugins: Any) -> int:
    from analyzer.cli_measure import cmd_measure as run

    return run(args, plugins)


COMMANDS = {
    "measure": cmd_measure,
    "sweep": cmd_sweep,
    "analyze": cmd_analyze,
    "compare": cmd_compare,
    "devices": cmd_devices,
    "plugins": cmd_plugins,
    "calibrate": cmd_calibrate,
}


def _check_blocked(names: Sequence[str]) -> None:
    """A --block-plugin NAME that no built-in or installed plugin has is a usage error."""
    from importlib.metadata import entry_points

    from analyzer.core import plugins as loading
    from analyzer.core.plugins import BLOCK_ENV, BUILTIN_PREFIX, ENTRY_POINT_GROUP, blocked_from_env
    from analyzer.plugins import BUILTIN_PLUGINS

    known = {m.removeprefix(BUILTIN_PREFIX) for m in BUILTIN_PLUGINS}
    allowed = loading.allowed_from_env() or set()
    if not known.issuperset(names) or not known.issuperset(blocked_from_env() | allowed):
        known |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}  # a slow scan: only when needed
    for name in names:
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            raise UsageError(f"--block-plugin: no plugin is named {name!r}{hint} (see 'python -m analyzer plugins')")
    for name in sorted(blocked_from_env() - known):  # the environment may name plugins of other setups
        _warn(f"${BLOCK_ENV}: no plugin is named {name!r}")
    for name in sorted(allowed - known):
        _warn(f"${loading.LOAD_ENV}: no plugin is named {name!r}")


def _error_line(e: BaseException) -> str:
    """The one line for an error; a framework that is not installed names the extra to install."""
    text = str(e)
    missing = missing_framework(e)
    if missing is None or missing[1] in text:  # no framework missing, or the hint is there already
        return text
    # "torch frontend could not convert the model: ModuleNotFoundError: No module named 'torch'"
    # -> "torch frontend could not convert the model: torch is not installed; install it with: ..."
    cut = min((i for i in (text.find("ModuleNotFoundError"), text.find("No module named")) if i >= 0), default=-1)
    return text[:cut] + missing[1] if cut >= 0 else f"{text} ({missing[1]})"


def _run(args: argparse.Namespace) -> int:
    from analyzer.core.plugins import load_plugins

    _check_blocked(args.block_plugin)
    plugins = load_plugins(block=args.block_plugin)
    try:
        return COMMANDS[args.command](args, plugins)
    finally:
        for message in plugins.devices.warnings:
            _warn(message)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # a usage error (one line already written) or --help: an exit code, not an exception
        return e.code if isinstance(e.code, int) else 2
    if not args.command:
        parser.print_help()
        return 2
    try:
        with quiet_frameworks(not args.debug):
            return _run(args)
    except AnalyzerError as e:
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"{PROG}: error: {_printable(_error_line(e))}\n")
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:  # the reader went away (| head): nothing left to tell it
        with contextlib.suppress(OSError, ValueError):  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as e:  # a bug: still one line unless --debug
        if args.debug:
            traceback.print_exc()
        missing = missing_framework(e)
        if missing is not None:
            sys.stderr.write(f"{PROG}: error: {missing[1]}\n")
            return 1
        first = (str(e).strip().splitlines() or [""])[0]
        sys.stderr.write(f"{PROG}: error: internal error: {type(e).__name__}: {first} (rerun with --debug)\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
