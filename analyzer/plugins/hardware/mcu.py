"""mcu hardware model: roofline latency plus flash/SRAM fit with a TFLM-like arena planner.

Fit (docs/hardware.md): flash holds the weights at their bit widths (model
size, which honours ``weight_bits``/``layer_bits``) plus the runtime's code
(``runtime_overhead_bytes`` of the flash level); SRAM holds the activation
arena from ``planner`` plus the runtime's own RAM. The arena must be one
contiguous block: it goes in the largest level that stores activations
(option ``arena_level`` picks another). The bottleneck layer is the one
running when the most arena bytes are live.

Latency: where the device names its software runtime (``runtime =
"cmsis-nn"`` in its file, or the hardware option ``runtime``), int8
convolution, depthwise and linear layers take MACs / (the runtime's
``runtime_macs_per_cycle`` x ``clock_hz``), measured figures of whole
kernels, instead of peak x efficiency; other layers keep the roofline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analyzer.core.devices import DeviceSpec
from analyzer.core.errors import UsageError
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import MetricContext
from analyzer.plugins.hardware.planner import Buffer, MemoryPlan, plan
from analyzer.plugins.hardware.roofline import (
    DeviceView,
    LayerCost,
    RooflineModel,
    _runtime_overhead,
    layer_classes,
)
from analyzer.plugins.hardware.settings import KNOWN_KEYS, HardwareSettings, device_problems
from analyzer.plugins.hardware.tflm import tflm_arena
from analyzer.plugins.metrics.activations import activation_storages


def graph_buffers(ctx: MetricContext, scale: float = 1.0, inplace_depthwise: bool = False,
                  fold_batch_norm: bool = False) -> tuple[list[Buffer], list[set[int]]]:  # fmt: skip
    """Activation storages as planner buffers over layer steps, and each layer's predecessors.

    The same for every device of one analysis: built once per analysis and set of arguments and
    shared (read-only: ``plan`` does not change them).
    """
    built = ctx.derived(_buffers_by_args)
    key = (scale, inplace_depthwise, fold_batch_norm)
    if key not in built:
        built[key] = _graph_buffers(ctx, scale, inplace_depthwise, fold_batch_norm)
    return built[key]


def _buffers_by_args(ctx: MetricContext) -> dict[tuple[float, bool, bool], tuple[list[Buffer], list[set[int]]]]:
    return {}


def _plans_by_args(ctx: MetricContext) -> dict[tuple[Any, ...], MemoryPlan]:
    return {}


def _graph_buffers(ctx: MetricContext, scale: float, inplace_depthwise: bool,
                   fold_batch_norm: bool) -> tuple[list[Buffer], list[set[int]]]:  # fmt: skip
    storages, roots = activation_storages(ctx)
    layers, g = ctx.layers, ctx.graph
    consumers: dict[str, set[int]] = {r: set() for r in storages}
    for i, layer in enumerate(layers):
        for t in layer.inputs:
            if roots.get(t) in consumers:
                consumers[roots[t]].add(i)
    buffers = {
        r: Buffer(r, math.ceil(s.bytes * scale), s.first if s.first >= 0 else None,
                  frozenset(consumers[r]), s.last >= len(layers))
        for r, s in storages.items()
    }  # fmt: skip
    node_layer = {n: i for i, layer in enumerate(layers) for n in layer.nodes}
    deps: list[set[int]] = [set() for _ in layers]
    for i, layer in enumerate(layers):
        for nid in layer.nodes:
            for t in g.node(nid).inputs:
                p = g.producer(t)
                if p is not None and node_layer[p.id] != i:
                    deps[i].add(node_layer[p.id])
    if inplace_depthwise or fold_batch_norm:
        _merge_inplace(ctx, buffers, roots, deps, inplace_depthwise, fold_batch_norm)
    return list(buffers.values()), deps


def _merge_inplace(ctx: MetricContext, buffers: dict[str, Buffer], roots: dict[str, str], deps: list[set[int]],
                   depthwise: bool, batch_norm: bool) -> None:  # fmt: skip
    """Layers that write their output over their input, when no other layer reads the input.

    A depthwise conv does so with a temporary buffer of one output channel
    (MCUNet's in-place depthwise); a batch norm folded into the preceding
    convolution, as the TFLite converter does, needs no storage of its own.
    """
    key = {r: r for r in buffers}  # storage root -> key of the buffer now holding it
    held: dict[str, list[str]] = {r: [r] for r in buffers}  # the inverse: buffer key -> storage roots
    ancestors: list[int] = []  # bit j of ancestors[i]: layer j runs before layer i in every order
    for d in deps:  # layers are in topological order: ancestors of i = deps and their ancestors
        mask = 0
        for j in d:
            mask |= ancestors[j] | (1 << j)
        ancestors.append(mask)
    classes = layer_classes(ctx)
    for i, layer in enumerate(ctx.layers):
        is_dw = depthwise and classes[layer.name] == "depthwise"
        if not is_dw and not (batch_norm and layer.op == "batch_norm"):
            continue
        ins = {key[roots[t]] for t in layer.inputs if roots.get(t) in key}
        outs = [key[roots[t]] for t in layer.outputs if roots.get(t) in key]
        if len(ins) != 1 or len(outs) != 1:
            continue
        a, b = buffers[next(iter(ins))], buffers[outs[0]]
        # any other reader of the input must run before layer i in every order (an in-place ReLU)
        if i not in a.consumers or a.output or b.size > a.size:
            continue
        if any(not ancestors[i] >> c & 1 for c in a.consumers if c != i):
            continue
        buffers[a.name] = Buffer(a.name, a.size, a.producer, a.consumers | b.consumers, b.output)
        del buffers[b.name]
        moved = held.pop(b.name)
        for r in moved:
            key[r] = a.name
        held[a.name] += moved
        if is_dw:
            conv = next(ctx.graph.node(n) for n in layer.nodes if ctx.graph.node(n).op == "conv")
            tmp = f"{layer.name}:inplace_tmp"
            buffers[tmp] = Buffer(tmp, -(-b.size // int(conv.attrs.get("out_channels") or 1)), i, frozenset({i}))


def _tflm_prediction(ctx: MetricContext) -> dict[str, Any]:
    """TFLM's own arena for this graph (``tflm.py``): what the stock runtime allocates, head and tail."""
    return ctx.derived(_tflm_build)


def _tflm_build(ctx: MetricContext) -> dict[str, Any]:
    out = tflm_arena(ctx.graph, ctx.layers).to_dict()
    cmsis = tflm_arena(ctx.graph, ctx.layers, "cmsis-nn")  # a Cortex-M build: im2col scratch too
    out["cmsis_nn"] = {"arena_bytes": cmsis.arena_bytes, "head_bytes": cmsis.head_bytes,
                       "scratch_bytes": cmsis.scratch_bytes}  # fmt: skip
    return out


RUNTIMES = ("tflm-reference", "cmsis-nn", "tinyengine")  # docs/hardware.md, "MCU runtimes"
RUNTIME_FIGURE = "runtime_macs_per_cycle"  # device table: runtime -> int8 MACs per cycle
RUNTIME_CLASSES = ("conv", "depthwise", "gemm")  # the kernels the published figures time


def _runtime_name(options: Mapping[str, Any], device: DeviceSpec | None) -> str | None:
    """The runtime the option or the device names; UsageError for one no data describes."""
    name = options.get("runtime")
    if name is not None and name not in RUNTIMES:
        raise UsageError(f"hardware option 'runtime': unknown runtime {name!r}; known: {', '.join(RUNTIMES)}")
    if device is None:
        return name
    if name is None and device.runtime is not None and device.runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {device.runtime!r}; known: {', '.join(RUNTIMES)}")
    name = name or device.runtime
    table = device.extra_figures.get(RUNTIME_FIGURE)
    if name is not None and (not isinstance(table, Mapping) or name not in table):
        have = ", ".join(table) if isinstance(table, Mapping) else "none"
        raise UsageError(f"{device.name} has no MAC/cycle figure for runtime {name!r} (its runtimes: {have})")
    return name


class McuView(DeviceView):
    """The roofline's view plus the runtime's measured MACs per cycle for int8 kernels."""

    def __init__(self, device: DeviceSpec, settings: HardwareSettings, runtime: str | None,
                 macs: dict[str, float]) -> None:  # fmt: skip
        super().__init__(device, settings)
        self.runtime, self.macs = runtime, macs
        self.macs_per_cycle = 0.0
        if runtime is not None:
            fig = device.extra_figures[RUNTIME_FIGURE][runtime]  # type: ignore[index]
            self._note(f"{RUNTIME_FIGURE}.{runtime}", fig)
            self.macs_per_cycle = fig.value
            if device.clock_hz is not None:
                self._note("clock_hz", device.clock_hz)

    def refine(self, c: LayerCost, scale: float) -> None:
        w = c.work
        if not self.runtime or w.op_class not in RUNTIME_CLASSES or not self.macs.get(w.name):
            return
        if w.dtype != "int8":
            c.extra["runtime"] = f"{self.runtime} figures are for int8 kernels: roofline for {w.dtype}"
            return
        assert self.device.clock_hz is not None  # validate_device requires it with the figures
        rate = self.macs_per_cycle * self.device.clock_hz.value  # MACs per second
        c.compute_s = self.macs[w.name] * scale / rate
        c.peak_ops_per_s = 2 * rate
        c.extra.update(runtime=self.runtime, macs_per_cycle=self.macs_per_cycle)


def _layer_macs(ctx: MetricContext) -> dict[str, float]:
    """Each layer's MACs (the runtime figures' unit), once per analysis."""
    return {name: float(row.get("macs", 0)) for name, row in ctx.result("compute").layers.items()}


class McuRoofline(RooflineModel):
    name = "roofline-mcu"
    device_class = "mcu"
    option_keys = (*KNOWN_KEYS, "runtime")

    def validate_device(self, device: DeviceSpec) -> list[str]:
        table = device.extra_figures.get(RUNTIME_FIGURE)
        rest = {k: v for k, v in device.extra_figures.items() if k != RUNTIME_FIGURE}
        problems = device_problems(device.model_copy(update={"extra_figures": rest}))
        if table is not None:
            if not isinstance(table, Mapping):
                problems.append(f"field {RUNTIME_FIGURE!r}: a table of figures by runtime ({', '.join(RUNTIMES)})")
            elif bad := sorted(set(table) - set(RUNTIMES)):
                problems.append(f"field '{RUNTIME_FIGURE}.{bad[0]}': unknown runtime (known: {', '.join(RUNTIMES)})")
            if device.clock_hz is None:
                problems.append(f"field 'clock_hz': needed with {RUNTIME_FIGURE} (MACs per cycle x clock)")
        if device.runtime is not None:
            try:
                _runtime_name({}, device)
            except UsageError as e:
                problems.append(f"field 'runtime': {e}")
        return problems

    def validate_options(self, options: Mapping[str, Any]) -> list[str]:
        try:
            _runtime_name(options, None)
        except UsageError as e:
            return [*super().validate_options(options), str(e)]
        return super().validate_options(options)

    def make_view(self, ctx: MetricContext, device: DeviceSpec, settings: HardwareSettings) -> DeviceView:
        runtime = _runtime_name(ctx.options.hardware, device)
        return McuView(device, settings, runtime, ctx.derived(_layer_macs) if runtime else {})

    def extra_details(self, ctx: MetricContext, dv: DeviceView, settings: HardwareSettings) -> dict[str, Any]:
        assert isinstance(dv, McuView)
        return {"runtime": dv.runtime, "runtime_macs_per_cycle": dv.macs_per_cycle or None}

    def _plan(self, ctx: MetricContext, settings: HardwareSettings, dv: DeviceView, scale: float) -> MemoryPlan:
        order = dv.cache.get("order")  # the best order does not change when every size scales alike
        # the plan depends on the graph and these settings, not on the device: once per analysis
        args = (scale, settings.inplace_depthwise, settings.fold_batch_norm, settings.arena_alignment,
                settings.reorder, settings.reorder_max_states, None if order is None else tuple(order))  # fmt: skip
        plans = ctx.derived(_plans_by_args)
        p = plans.get(args)
        if p is None:
            buffers, deps = graph_buffers(ctx, scale, settings.inplace_depthwise, settings.fold_batch_norm)
            p = plans[args] = plan(buffers, len(ctx.layers), deps, alignment=settings.arena_alignment,
                                   reorder=settings.reorder, max_states=settings.reorder_max_states, order=order)  # fmt: skip
        dv.cache.setdefault("order", p.order)
        dv.cache.setdefault("exact", p.exact_order)
        return p

    def memory_fit(self, ctx: MetricContext, dv: DeviceView, settings: HardwareSettings, scale: float) -> dict[str, Any]:
        d = dv.device
        acts = dv.levels("activations") or list(d.memory)
        arena_level = d.memory_level(settings.arena_level) if settings.arena_level else None
        arena_level = arena_level or max(acts, key=lambda m: m.capacity_bytes.value)
        wlevels = [m for m in dv.levels("weights") if m is not arena_level] or dv.levels("weights") or [arena_level]
        flash = max(wlevels, key=lambda m: m.capacity_bytes.value)
        weights = float(ctx.result("model_size").totals["model_size_bytes"])
        p = self._plan(ctx, settings, dv, scale)
        arena = float(p.arena_bytes)
        flash_need = weights + _runtime_overhead(d, settings, flash.name)
        sram_need = arena + _runtime_overhead(d, settings, arena_level.name)
        if flash is arena_level:  # weights share the arena's memory
            sram_need += flash_need
        flash_cap, sram_cap = flash.capacity_bytes.value, arena_level.capacity_bytes.value
        layers = ctx.layers
        step = p.peak_step
        pos = p.order.index(step) if step is not None else 0
        live = sorted(((pl.name, pl.size) for pl in p.placements if pl.first <= pos <= pl.last), key=lambda x: -x[1])
        peak_layer = ctx.result("activations").details.get("peak_layer")
        flash_ok, sram_ok = flash_need <= flash_cap, sram_need <= sram_cap
        fit: dict[str, Any] = {
            "fits": flash_ok and sram_ok,
            "required_bytes": sram_need,
            "flash": {"level": flash.name, "capacity_bytes": flash_cap, "weight_bytes": weights,
                      "runtime_overhead_bytes": flash_need - weights, "required_bytes": flash_need,
                      "margin_bytes": flash_cap - flash_need, "fits": flash_ok},
            "sram": {"level": arena_level.name, "capacity_bytes": sram_cap, "arena_bytes": arena,
                     "runtime_overhead_bytes": sram_need - arena - (flash_need if flash is arena_level else 0),
                     "required_bytes": sram_need, "margin_bytes": sram_cap - sram_need, "fits": sram_ok},
            "bottleneck_layer": layers[step].name if step is not None and layers else None,
            "peak_activation_layer": peak_layer,
            "not_fitting": [k for k, ok in (("flash", flash_ok), ("sram", sram_ok)) if not ok],
            "arena": {
                "planner": "greedy (TFLM GreedyMemoryPlanner)", "alignment_bytes": settings.arena_alignment,
                "arena_bytes": p.arena_bytes, "peak_live_bytes": p.peak_live_bytes, "naive_bytes": p.naive_bytes,
                "inplace_depthwise": settings.inplace_depthwise, "fold_batch_norm": settings.fold_batch_norm,
                "reorder": settings.reorder,
                "order_exact": dv.cache.get("exact", True),
                "order": [layers[i].name for i in p.order] if settings.reorder else None,
                "live_at_peak": [{"buffer": n, "bytes": s} for n, s in live],
            },
        }  # fmt: skip
        if scale == 1.0:
            if ctx.graph.framework == "tflite":  # the file TFLM runs as it is (docs/hardware.md, TFLM)
                fit["arena"]["tflm"] = _tflm_prediction(ctx)
            fit["arena"]["placements"] = [
                {"buffer": pl.name, "bytes": pl.size, "offset": pl.offset, "first": layers[p.order[pl.first]].name,
                 "last": layers[p.order[pl.last]].name} for pl in p.placements
            ] if layers else []  # fmt: skip
            if settings.reorder:  # what reordering saves against graph order
                bufs, deps = graph_buffers(ctx, 1.0, settings.inplace_depthwise, settings.fold_batch_norm)
                base = plan(bufs, len(layers), deps, alignment=settings.arena_alignment)
                fit["arena"]["graph_order_arena_bytes"] = base.arena_bytes
                fit["arena"]["graph_order_peak_live_bytes"] = base.peak_live_bytes
        return fit


@hookimpl
def analyzer_register_hardware_models(register):
    register(McuRoofline())
