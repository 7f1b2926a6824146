"""The analysis engine: model -> Graph (frontend) -> metrics -> hardware -> Report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from analyzer.core import collector, completeness
from analyzer.core.completeness import Completeness
from analyzer.core.errors import AnalysisError, AnalyzerError, UnsupportedOpsError, UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph, GraphError
from analyzer.core.ir import numel
from analyzer.core.layer_table import LayerTable, merge_rows
from analyzer.core.layers import Layer, group_layers
from analyzer.core.metric import MetricContext
from analyzer.core.options import AnalysisOptions
from analyzer.core.passes import canonicalize
from analyzer.core.plugins import PluginSet, default_plugins
from analyzer.core.progress import track
from analyzer.core.report import LayerRow, Report
from analyzer.core.rollup import derive_ratio_totals

PROGRESS_NODES = 200_000
_NO_MARKS: Mapping[str, str] = MappingProxyType({})  # rows without incomplete values share it (read-only)


def analyze(
    model: Any,
    inputs: Any = None,
    *,
    params: Any = None,
    framework: str | None = None,
    devices: Iterable[str] = (),
    plugins: PluginSet | None = None,
    name: str | None = None,
    frontend_options: Mapping[str, Any] | None = None,
    hardware_model: str | None = None,
    **options: Any,
) -> Report:
    """Analyze ``model`` called on ``inputs`` and return a Report.

    ``model`` is a framework model (PyTorch module, Keras model, JAX
    function with ``params``...), a ``Graph``, or a path to a saved model or
    saved graph. ``framework`` names the frontend when detection is not
    wanted. ``devices`` are names from the hardware DB. ``options`` are
    ``AnalysisOptions`` fields (``bias=False``, ``exact_flops=True``,
    ``weight_bits=8``...), ``options={"METRIC.KEY": value}`` for the metrics'
    declared options, or an option's alias (``optimizer="sgd"``);
    ``frontend_options`` go to the frontend;
    ``hardware_model`` names the model evaluating devices of its class.
    """
    ps = plugins or default_plugins()
    opts = AnalysisOptions.from_kwargs(options, ps.metrics.values())
    graph = to_graph(model, inputs, params=params, framework=framework, plugins=ps, **(frontend_options or {}))
    if name:
        graph.name = name
    return analyze_graph(graph, opts, devices=devices, plugins=ps, hardware_model=hardware_model)


def find_frontend(model: Any, framework: str | None, ps: PluginSet, params: Any = None) -> Frontend:
    """The frontend named ``framework``, or the one that reads the file or accepts the object.

    A plain function accepted by no frontend goes to the one whose optional
    ``accepts_params(model, params)`` recognises its parameters (JAX arrays...).
    """
    if framework is not None:
        try:
            return ps.frontends[framework]
        except KeyError:
            raise UsageError(f"unknown framework {framework!r}; frontends: {', '.join(sorted(ps.frontends))}") from None
    if isinstance(model, str | Path):
        path = Path(model)
        if not path.exists():
            raise AnalysisError(f"no such file: {path}")
        for fe in ps.frontends.values():
            if path.suffix.lower() in fe.file_suffixes:
                return fe
        for fe in ps.frontends.values():  # a file saved without its suffix: recognised by its first bytes
            sniff = getattr(fe, "accepts_file", None)
            if sniff is not None and sniff(path):
                return fe
        known = sorted({s for fe in ps.frontends.values() for s in fe.file_suffixes})
        what = f"{path.suffix} files" if path.suffix else "this file (no suffix, and no frontend recognised its content)"
        raise AnalysisError(f"{path}: no frontend reads {what} (readable: {', '.join(known)})")
    for fe in ps.frontends.values():
        if fe.accepts(model):
            return fe
    if params is not None:  # a plain function: the parameters it is called with tell its framework
        for fe in ps.frontends.values():
            claims = getattr(fe, "accepts_params", None)  # optional: (model, params) -> bool
            if claims is not None and claims(model, params):
                return fe
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    hint = ""
    if callable(model):
        names = [f'"{n}"' for n in ps.frontends if n != "ir"]
        named = " or ".join(filter(None, (", ".join(names[:-1]), *names[-1:])))
        hint = f"; a functional model (a function of parameters and inputs) needs framework={named}"
    raise AnalysisError(f"no frontend accepts an object of type {kind} (frontends: {', '.join(ps.frontends)}){hint}")


def to_graph(
    model: Any, inputs: Any = None, *, params: Any = None, framework: str | None = None,
    plugins: PluginSet | None = None, **frontend_options: Any,
) -> Graph:  # fmt: skip
    """Convert ``model`` to a Graph through the frontend plugins."""
    ps = plugins or default_plugins()
    fe = find_frontend(model, framework, ps, params)
    source = Path(model) if isinstance(model, str | Path) and not fe.accepts(model) else None
    try:
        if source is not None:
            model = fe.load_file(source)
        graph = fe.to_graph(model, inputs, params=params, **frontend_options)
    except AnalyzerError:
        raise
    except Exception as e:  # a frontend bug or a model the framework rejects
        first = (str(e).strip().splitlines() or [""])[0]
        what = f"{fe.name} frontend could not convert the model"
        if source is not None:
            what = f"{source}: {fe.name} frontend could not convert it"
        raise AnalysisError(f"{what}: {type(e).__name__}: {first}") from e
    if source is not None:
        check_file_graph(graph, source)
    return graph


def check_file_graph(graph: Graph, source: Path) -> None:
    """Validate a graph read from a file strictly: every op's shape and attribute rule.

    A file is untrusted input (docs/security.md): the sizes it declares for
    weights and inputs may contradict its own graph, and no frontend may turn
    that into a wrong number. Raises a one-line AnalysisError naming the file.
    """
    try:
        graph.validate(strict=True)
    except GraphError as e:
        raise AnalysisError(f"{source}: invalid graph: {e}") from None


def _coverage(graph: Graph, unsupported: list[dict[str, Any]], found: Completeness) -> dict[str, Any]:
    """Node counts (``unsupported_share`` is by nodes) and the shares of the model the gaps hide."""
    total = len(graph)
    bad = sum(u["count"] for u in unsupported)
    return {
        "nodes": total,
        "supported_nodes": total - bad,
        "unsupported_nodes": bad,
        "unsupported_share": bad / total if total else 0.0,
        **found.coverage(),
    }


def analyze_graph(
    graph: Graph, options: AnalysisOptions | None = None, *, devices: Iterable[str] = (), plugins: PluginSet | None = None,
    hardware_model: str | None = None,
) -> Report:  # fmt: skip
    """Run every loaded metric (and hardware model for ``devices``) over ``graph``."""
    with collector.paused():  # (an analysis makes no cycle worth collecting midway)
        return _analyze_graph(graph, options, devices, plugins, hardware_model)


def _analyze_graph(
    graph: Graph, options: AnalysisOptions | None, devices: Iterable[str], plugins: PluginSet | None,
    hardware_model: str | None,
) -> Report:  # fmt: skip
    ps = plugins or default_plugins()
    opts = (options or AnalysisOptions()).resolve(ps.metrics.values())  # metric options checked, defaults in
    try:
        graph.validate()  # ops outside the vocabulary are reported as unsupported, not refused
    except GraphError as e:
        raise AnalysisError(f"invalid graph: {e}") from None
    graph = canonicalize(graph, ps.passes.values(), ps.plugin_passes())
    layers = group_layers(graph, ps.vocabulary)  # an analysis step, with this plugin set's ops
    metrics = ps.metric_order()
    gaps = completeness.scan(graph, ps.formulas, ps.vocabulary)
    unsupported = completeness.unsupported_rows(gaps)
    found = completeness.assess(graph, layers, gaps, metrics, opts, ps.vocabulary)
    coverage = _coverage(graph, unsupported, found)
    if opts.strict and not found.complete:
        raise UnsupportedOpsError(completeness.strict_message(found, unsupported))
    device_specs = [ps.devices.get(d) for d in devices]  # unknown names fail before any work
    ps.check_hardware_model_choice(hardware_model, device_specs)
    hardware_models = [ps.hardware_model_for(spec, hardware_model) for spec in device_specs]
    if hardware_models:
        ps.check_hardware_options(opts.hardware, hardware_models)  # keys: some model's; values: each model's

    ctx = MetricContext(graph, layers, opts, ps.formulas, ps.vocabulary)
    index = ctx.layer_index  # shared by every metric's LayerTable
    big = len(graph) >= PROGRESS_NODES  # a bar on a terminal for graphs whose metrics take seconds
    for metric in track(metrics, len(metrics), f"metrics ({len(graph):,} ops)", show=None if big else False):
        ctx.metric = metric.name  # whose options ctx.option() reads
        result = metric.compute(ctx)
        if not isinstance(result.layers, LayerTable):
            result.layers = LayerTable.build(result.layers, index)  # column-wise from here on (read-only)
        ctx.results[metric.name] = result
    ctx.metric = ""
    quantities: dict[str, dict[str, Any]] = {}  # in the order plugins registered their metrics (report columns)
    for metric in ps.registration_order(metrics):
        for q in metric.quantities:
            quantities[q.name] = {**q.describe(metric.name), "complete": q.name not in found.quantities}

    totals: dict[str, Any] = {}
    details: dict[str, Any] = {}
    tables = []
    for name, result in ctx.results.items():
        totals.update(result.totals)
        if result.layers:
            tables.append(result.layers)
        if result.details:
            details[name] = result.details
    derive_ratio_totals(totals, (q for m in metrics for q in m.quantities))
    rows = _layer_rows(graph, layers, tables, found, index)
    hardware = [model.evaluate(ctx, spec) for model, spec in zip(hardware_models, device_specs, strict=True)]
    for result in hardware:
        completeness.mark_hardware(found, result)
    warnings = list(graph.meta.get("warnings", []))
    if not found.complete:
        warnings.append(_incomplete_warning(found, coverage))
    model_info = {
        "name": graph.name,
        "framework": graph.framework,
        "inputs": [
            {"name": t, "shape": list(graph.shape(t)), "dtype": graph.spec(t).dtype} for t in graph.inputs
        ],
        "capture": graph.meta.get("capture", ""),
        **({"mode": graph.meta["mode"]} if "mode" in graph.meta else {}),  # eval/train, where the frontend says
        "passes": list(graph.meta.get("passes", [])),
        "passes_run": list(ps.passes),  # every canonical pass, in the order it ran
        "nodes": len(graph),
        "layers": len(layers),
        "input_elements": sum(numel(graph.shape(t)) for t in graph.inputs),
    }
    return Report(
        model=model_info, totals=totals, layers=rows, hardware=hardware, unsupported=unsupported,
        coverage=coverage, quantities=quantities, options=opts.to_dict(), details=details,
        warnings=warnings, graph=graph, completeness=found,
    )  # fmt: skip


def _layer_rows(
    graph: Graph, layers: list[Layer], tables: list[LayerTable], found: Completeness, index: dict[str, int]
) -> list[LayerRow]:
    """The report's rows: each layer's values a view over the metrics' tables (no copy)."""
    tensors = graph.tensors
    shape_lists: dict[tuple[Any, ...], list[list[int]]] = {}  # rows of equal output shapes share one list (memory)
    marked = found.layers
    rows = []
    for layer, values in zip(layers, merge_rows(tables, len(layers), index.values()), strict=True):
        outs = layer.outputs
        key = tensors[outs[0]].shape if len(outs) == 1 else (None, *(tensors[t].shape for t in outs))
        shapes = shape_lists.get(key)
        if shapes is None:
            shapes = shape_lists[key] = [list(tensors[t].shape) for t in outs]
        row = LayerRow(layer.name, layer.op, layer.scope, shapes, values, layer.nodes, _NO_MARKS)  # the layer's list
        marks = marked.get(layer.name)
        if marks:
            row.incomplete = {q: marks[q] for q in values if q in marks}  # values' order: deterministic
        rows.append(row)
    return rows


def _incomplete_warning(found: Completeness, coverage: dict[str, Any]) -> str:
    """The share of the model the gaps hide, the node count, and the totals they leave incomplete."""
    nodes = f"{coverage['uncounted_nodes']} of {coverage['nodes']} ops uncounted"
    if coverage["unsupported_nodes"]:
        nodes += f", {coverage['unsupported_nodes']} without a formula"
    return f"incomplete totals: {found.describe()} [{nodes}]; incomplete: {found.affected()}"
