"""The roofline core the cpu, gpu and mcu hardware models share (docs/hardware.md).

Per layer, with e = the efficiency of its op class:

- compute time = ops / (peak ops/s for the layer's data type x e);
- memory time = sum over memory levels of bytes moved there / (bandwidth x e).
  Weights live in the fastest level that holds the whole model's weights
  (so weights that fit on chip cost no DRAM traffic); the layer's
  activations (inputs read + outputs written) in the fastest level that
  holds them, next to weights resident there;
- latency = max(compute, memory) + the device's per-layer overhead (if its
  spec has one, per op class or in general); bound = the larger term; arithmetic intensity = ops /
  bytes; ridge point = peak / effective bandwidth of the levels it touched.

Total latency = the sum over layers (layers run one after another). Beside
it, the whole-model roofline max(sum of compute, sum of memory) assumes
perfect overlap between layers. Batch sweeps scale ops and activation bytes
linearly in batch while weights stay constant (the graph is not rebuilt).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from analyzer.core.devices import DeviceSpec, MemoryLevel
from analyzer.core.errors import UsageError
from analyzer.core.hardware import DeviceResult, HardwareModel
from analyzer.core.metric import MetricContext
from analyzer.core.ops import Category
from analyzer.plugins.hardware import energy
from analyzer.plugins.hardware.settings import (
    KNOWN_KEYS,
    HardwareSettings,
    device_problems,
    dtype_key,
    parse_settings,
)

MATRIX_CLASSES = (
    "gemm",
    "conv",
)  # run on matrix units (tensor cores, AMX); others use vector_ops_per_s
_CLASS_OF_CATEGORY = {
    Category.CONTRACTION: "gemm", Category.ELEMENTWISE: "elementwise", Category.ACTIVATION: "elementwise",
    Category.NORMALIZATION: "normalization", Category.POOLING: "pooling", Category.REDUCTION: "reduction",
    Category.MOVEMENT: "movement", Category.VIEW: "view",
}  # fmt: skip
# When a device has no figure for a data type, the first of these it has is used (and reported).
# fp16/bf16 without native support are computed in fp32 (converted), not in the other 16-bit type.
FALLBACK = {
    "fp64": ("fp32",), "tf32": ("fp32",), "fp16": ("fp32",), "bf16": ("fp32",),
    "fp8": ("fp16", "bf16", "fp32"), "int4": ("int8", "int16", "fp32"),
    "int8": ("int16", "fp32"), "int16": ("int32", "fp32"), "int32": ("fp32",),
}  # fmt: skip
LATENCY_CONVENTION = (
    "sum over layers of max(compute, memory) + per-layer overhead (layers run in sequence)"
)


class LayerWork(NamedTuple):
    """What one layer asks of a device at the graph's own batch size (immutable: every device of
    an analysis shares it; a tuple, three times cheaper to build than a frozen dataclass)."""

    name: str
    op: str
    op_class: str
    dtype: str  # key of the peak tables (fp32, int8...)
    ops: float
    read_bytes: float
    write_bytes: float
    weight_bytes: float


def op_class(ctx: MetricContext, layer_name: str, op: str, nodes: list[str]) -> str:
    """gemm, conv, depthwise, elementwise, normalization, pooling, reduction, movement, view or other."""
    if op == "conv":
        node = next(ctx.graph.node(n) for n in nodes if ctx.graph.node(n).op == "conv")
        groups = int(node.attrs.get("groups", 1))
        return "depthwise" if groups > 1 and groups == node.attrs.get("in_channels") else "conv"
    if op in ("adaptive_avg_pool", "adaptive_max_pool"):
        return (
            "reduction"  # global pooling reads each element once: a reduction, not a windowed pool
        )
    opdef = ctx.vocabulary.get(op)
    return _CLASS_OF_CATEGORY.get(opdef.category, "other") if opdef else "other"


def _quantized_key(ctx: MetricContext) -> str | None:
    """weight_bits and activation_bits both <= 8 mean a quantized deployment: integer arithmetic."""
    w, a = ctx.options.weight_bits, ctx.options.activation_bits
    if w and a and max(w, a) <= 8:
        return "int4" if max(w, a) <= 4 else "int8"
    return None


def layer_work(ctx: MetricContext, settings: HardwareSettings) -> list[LayerWork]:
    """What each layer asks of a device: the same for every device of one analysis (save a forced
    compute type), so it is built once per analysis and data type and shared (``LayerWork`` is
    frozen); each further device only prices it."""
    forced = settings.compute_dtype or _quantized_key(ctx)
    built = ctx.derived(_works_by_dtype)
    works = built.get(forced)
    if works is None:
        works = built[forced] = _layer_work(ctx, forced)
    return works


def _works_by_dtype(ctx: MetricContext) -> dict[str | None, list[LayerWork]]:
    return {}


def layer_classes(ctx: MetricContext) -> dict[str, str]:
    """Each layer's op class (``op_class``), once per analysis."""
    return ctx.derived(_layer_classes)


def _layer_classes(ctx: MetricContext) -> dict[str, str]:
    return {layer.name: op_class(ctx, layer.name, layer.op, layer.nodes) for layer in ctx.layers}


def _layer_work(ctx: MetricContext, forced: str | None) -> list[LayerWork]:
    compute, traffic = ctx.result("compute"), ctx.result("traffic")  # declared in requires
    classes = layer_classes(ctx)
    c_layers, t_layers = compute.layers, traffic.layers
    works = []
    for layer in ctx.layers:
        c, t = c_layers.get(layer.name, _EMPTY), t_layers.get(layer.name, _EMPTY)
        works.append(LayerWork(
            name=layer.name, op=layer.op, op_class=classes[layer.name],
            dtype=forced or dtype_key(str(c.get("dtype") or "float32")), ops=float(c.get("ops", 0)),
            read_bytes=float(t.get("read_bytes", 0)), write_bytes=float(t.get("write_bytes", 0)),
            weight_bytes=float(t.get("weight_read_bytes", 0)),
        ))  # fmt: skip
    return works


_EMPTY: Mapping[str, Any] = {}


class DeviceView:
    """Lookups on one device under one set of settings; remembers what it used."""

    def __init__(self, device: DeviceSpec, settings: HardwareSettings):
        self.device = device
        self.settings = settings
        self.fallbacks: dict[str, str] = {}
        self.figures: dict[str, dict[str, Any]] = {}
        self.cache: dict[str, Any] = {}  # per-evaluation memo for subclasses (e.g. the arena order)

    def refine(self, cost: LayerCost, scale: float) -> None:
        """A device class's own corrections to one layer's cost (launches, waves, runtimes)."""

    def sweep_notes(self, costs: list[LayerCost], before: list[LayerCost] | None) -> list[str]:
        """Why throughput fell from the previous batch row (``before``), beyond memory spills."""
        return []

    def overhead_s(self, klass: str) -> float:
        """Fixed time per layer of class ``klass``: option, else the device's per-class or general figure."""
        if self.settings.layer_overhead_s is not None:
            return self.settings.layer_overhead_s
        key, fig = f"class_overhead_s.{klass}", self.device.class_overhead_s.get(klass)
        if fig is None:
            key, fig = "layer_overhead_s", self.device.layer_overhead_s
        if fig is None:
            return 0.0
        self._note(key, fig)
        return fig.value

    def _note(self, key: str, fig: Any) -> None:
        self.figures[key] = {"value": fig.value, "kind": fig.kind, "source": fig.source}

    def peak(self, key: str, klass: str) -> float:
        """Peak ops/s for data type ``key`` and op class ``klass`` (matrix or vector units)."""
        d = self.device
        tables = [("peak_ops_per_s", d.peak_ops_per_s)]
        if klass not in MATRIX_CLASSES and d.vector_ops_per_s:
            tables.insert(0, ("vector_ops_per_s", d.vector_ops_per_s))
        for tname, table in tables:
            for k in (key, *FALLBACK.get(key, ()), "fp32"):
                if k in table:
                    if k != key:
                        self.fallbacks[f"{tname}.{key}"] = k
                    self._note(f"{tname}.{k}", table[k])
                    return table[k].value
        k, fig = next(iter(d.peak_ops_per_s.items()))
        self.fallbacks[f"peak_ops_per_s.{key}"] = k
        self._note(f"peak_ops_per_s.{k}", fig)
        return fig.value

    def levels(self, what: str) -> list[MemoryLevel]:
        return [m for m in self.device.memory if what in m.stores]

    def main_level(self) -> MemoryLevel:
        """The largest memory (DRAM, HBM): where the whole model and its activations must fit."""
        return max(self.device.memory, key=lambda m: m.capacity_bytes.value)

    def weight_level(self, weight_bytes: float) -> MemoryLevel:
        levels = self.levels("weights") or list(self.device.memory)
        return next((m for m in levels if weight_bytes <= m.capacity_bytes.value), levels[-1])

    def activation_level(
        self, working_set: float, wl: MemoryLevel, weight_bytes: float
    ) -> MemoryLevel:
        levels = self.levels("activations") or list(self.device.memory)
        for m in levels:
            free = m.capacity_bytes.value - (weight_bytes if m is wl else 0)
            if working_set <= free:
                return m
        return levels[-1]


@dataclass(slots=True)
class LayerCost:
    work: LayerWork
    efficiency: float
    peak_ops_per_s: float
    ops: float
    levels: dict[str, float] = field(default_factory=dict)  # bytes moved per memory level
    level_s: float = 0.0  # sum of bytes / bandwidth at full bandwidth
    compute_s: float = 0.0
    memory_s: float = 0.0
    overhead_s: float = 0.0
    energy_j: float = 0.0
    unmodelled_bytes: dict[str, float] = field(default_factory=dict)
    activation_level: str | None = None  # where the layer's activations live
    extra: dict[str, Any] = field(default_factory=dict)  # a device class's own row fields

    @property
    def bytes(self) -> float:
        return sum(self.levels.values())

    @property
    def latency_s(self) -> float:
        return max(self.compute_s, self.memory_s) + self.overhead_s

    @property
    def bound(self) -> str:
        if not self.compute_s and not self.memory_s:
            return "none"
        return "compute" if self.compute_s >= self.memory_s else "memory"

    def row(self) -> dict[str, Any]:
        w, levels, ops, compute, memory = self.work, self.levels, self.ops, self.compute_s, self.memory_s
        nbytes = sum(levels.values())  # self.bytes, latency_s and bound inlined: once per layer and device
        weight = w.weight_bytes if levels else 0.0
        bound = "none" if not compute and not memory else "compute" if compute >= memory else "memory"
        return {
            "name": w.name, "op": w.op, "op_class": w.op_class, "dtype": w.dtype, "ops": ops,
            "bytes": nbytes, "weight_bytes": weight, "activation_bytes": nbytes - weight, "levels": dict(levels),
            "compute_s": compute, "memory_s": memory, "overhead_s": self.overhead_s,
            "latency_s": max(compute, memory) + self.overhead_s, "bound": bound,
            "arithmetic_intensity": ops / nbytes if nbytes else None,
            "ridge_point": self.peak_ops_per_s * self.level_s / nbytes if nbytes and ops else None,
            "efficiency": self.efficiency, "energy_j": self.energy_j, **self.extra,
        }  # fmt: skip


def estimate(works: list[LayerWork], dv: DeviceView, scale: float = 1.0) -> list[LayerCost]:
    """Per-layer costs with ops and activation bytes scaled by ``scale`` (batch / graph batch).

    The device's figures are looked up once per op class, data type and memory level (they do
    not change from layer to layer), then each layer is priced with them.
    """
    total_w = sum(w.weight_bytes for w in works)
    wl = dv.weight_level(total_w)
    dv._note(f"{wl.name}.bandwidth_bytes_per_s", wl.bandwidth_bytes_per_s)
    settings, device = dv.settings, dv.device
    act_levels = [(m.capacity_bytes.value - (total_w if m is wl else 0), m.name)
                  for m in (dv.levels("activations") or list(device.memory))]  # fmt: skip
    last_act = act_levels[-1][1]
    by_name = {m.name: m for m in device.memory}
    level_figs: dict[str, tuple[float, float | None]] = {}  # level -> (bandwidth, energy per byte or None)
    effs: dict[str, float] = {}
    peaks: dict[tuple[str, str], float] = {}
    op_joules: dict[str, float] = {}
    overheads: dict[str, float] = {}
    refine = dv.refine if type(dv).refine is not DeviceView.refine else None
    costs = []
    for w in works:
        klass = w.op_class
        eff = effs.get(klass)
        if eff is None:
            eff = effs[klass] = settings.eff(klass if klass != "view" else "default")
        ops = w.ops * scale
        act = (w.read_bytes + w.write_bytes) * scale
        if ops:
            peak = peaks.get((w.dtype, klass))
            if peak is None:
                peak = peaks[(w.dtype, klass)] = dv.peak(w.dtype, klass)
        else:
            peak = 0.0
        c = LayerCost(w, eff, peak, ops)  # work, efficiency, peak_ops_per_s, ops (positional: cheaper)
        if klass == "view" and not ops:
            costs.append(c)
            continue
        levels = c.levels
        if w.weight_bytes:
            levels[wl.name] = w.weight_bytes
        if act:
            al = next((name for free, name in act_levels if act <= free), last_act)
            c.activation_level = al
            levels[al] = levels.get(al, 0.0) + act
        for name, b in levels.items():
            figs = level_figs.get(name)
            if figs is None:
                figs = level_figs[name] = _level_figures(dv, by_name[name])
            c.level_s += b / figs[0]
            if figs[1] is None:
                c.unmodelled_bytes[name] = b
            else:
                c.energy_j += b * figs[1]
        c.memory_s = c.level_s / eff
        if ops:
            c.compute_s = ops / (peak * eff)
            e_op = op_joules.get(w.dtype)
            if e_op is None:
                fig = energy.op_energy(device, w.dtype)
                dv._note(f"energy_per_op_j.{w.dtype}", fig)
                e_op = op_joules[w.dtype] = fig.value
            c.energy_j += ops * e_op
        if ops or levels:
            overhead = overheads.get(klass)
            if overhead is None:
                overhead = overheads[klass] = dv.overhead_s(klass)
            c.overhead_s = overhead
            if refine is not None:
                refine(c, scale)
        costs.append(c)
    return costs


def _level_figures(dv: DeviceView, m: MemoryLevel) -> tuple[float, float | None]:
    """(bandwidth, energy per byte or None where no figure applies) of level ``m``, noted as used."""
    dv._note(f"{m.name}.bandwidth_bytes_per_s", m.bandwidth_bytes_per_s)
    e = energy.byte_energy(m)
    if e is None:
        return m.bandwidth_bytes_per_s.value, None
    dv._note(f"{m.name}.energy_per_byte_j", e)
    return m.bandwidth_bytes_per_s.value, e.value


def summarize(costs: list[LayerCost]) -> dict[str, Any]:
    compute = sum(c.compute_s for c in costs)
    memory = sum(c.memory_s for c in costs)
    ops = sum(c.ops for c in costs)
    nbytes = sum([sum(c.levels.values()) for c in costs])  # c.bytes, without a property call per layer
    bounds = [c.bound for c in costs]
    levels: dict[str, float] = {}
    unmodelled: dict[str, float] = {}
    for c in costs:
        for k, v in c.levels.items():
            levels[k] = levels.get(k, 0.0) + v
        if c.unmodelled_bytes:
            for k, v in c.unmodelled_bytes.items():
                unmodelled[k] = unmodelled.get(k, 0.0) + v
    return {
        "latency_s": sum(c.latency_s for c in costs),
        "compute_s": compute,
        "memory_s": memory,
        "overhead_s": sum(c.overhead_s for c in costs),
        "roofline_latency_s": max(compute, memory),
        "bound": "compute" if compute >= memory else "memory",
        "ops": ops,
        "bytes": nbytes,
        "arithmetic_intensity": ops / nbytes if nbytes else None,
        "bytes_by_level": levels,
        "energy_j": sum(c.energy_j for c in costs),
        "unmodelled_energy_bytes": unmodelled,
        "compute_bound_layers": bounds.count("compute"),
        "memory_bound_layers": bounds.count("memory"),
    }


class RooflineModel(HardwareModel):
    """Roofline latency, batch sweep, energy and memory fit; subclasses set the class and fit rule."""

    requires = ("compute", "traffic", "model_size", "activations")
    option_keys = KNOWN_KEYS

    def validate_device(self, device: DeviceSpec) -> list[str]:
        return device_problems(device)

    def validate_options(self, options: Mapping[str, Any]) -> list[str]:
        try:
            parse_settings(options, None)
        except UsageError as e:
            return [str(e)]
        return []

    def memory_fit(
        self, ctx: MetricContext, dv: DeviceView, settings: HardwareSettings, scale: float
    ) -> dict[str, Any]:
        """Weights + live activations (+ runtime overhead) must fit the largest memory level."""
        main = dv.main_level()
        weights = float(ctx.result("model_size").totals["model_size_bytes"])
        acts = float(ctx.result("activations").totals["peak_live_activation_bytes"]) * scale
        overhead = _runtime_overhead(dv.device, settings, main.name)
        required = weights + acts + overhead
        cap = main.capacity_bytes.value
        return {
            "fits": required <= cap, "level": main.name, "capacity_bytes": cap, "required_bytes": required,
            "weight_bytes": weights, "activation_bytes": acts, "runtime_overhead_bytes": overhead,
            "margin_bytes": cap - required,
            "convention": "weights (model size) + peak live activations (graph order) + runtime overhead <= capacity",
        }  # fmt: skip

    def extra_details(
        self, ctx: MetricContext, dv: DeviceView, settings: HardwareSettings
    ) -> dict[str, Any]:
        return {}

    def make_view(
        self, ctx: MetricContext, device: DeviceSpec, settings: HardwareSettings
    ) -> DeviceView:
        """The device view ``estimate`` prices layers with (a subclass adds its class's corrections)."""
        return DeviceView(device, settings)

    def evaluate(self, ctx: MetricContext, device: DeviceSpec) -> DeviceResult:
        settings = parse_settings(ctx.options.hardware, device)
        dv = self.make_view(ctx, device, settings)
        works = layer_work(ctx, settings)
        batch = ctx.graph.batch_size()
        costs = estimate(works, dv)
        tot = summarize(costs)
        fit = self.memory_fit(ctx, dv, settings, 1.0)
        details: dict[str, Any] = {
            "model": self.name,
            "latency_convention": LATENCY_CONVENTION,
            "batch": batch,
        }
        details.update(self.extra_details(ctx, dv, settings))
        details["roofline"] = {**{k: tot[k] for k in ("compute_s", "memory_s", "overhead_s", "roofline_latency_s",
                                                     "bound", "ops", "bytes", "arithmetic_intensity", "bytes_by_level")},
                               "ridge_points": self._ridges(dv, works),
                               "compute_bound_layers": tot["compute_bound_layers"],
                               "memory_bound_layers": tot["memory_bound_layers"]}  # fmt: skip
        details["weights_level"] = dv.weight_level(sum(w.weight_bytes for w in works)).name
        details["memory"] = fit
        details["batch_sweep"] = self._sweep(ctx, dv, settings, works, batch)
        power = device.power_w.value if device.power_w else None
        details["energy"] = {
            "convention": "ops x energy per op (by data type) + bytes x energy per byte (by memory level)",
            "energy_j": tot["energy_j"],
            "complete": not tot["unmodelled_energy_bytes"],
            "unmodelled_bytes": tot["unmodelled_energy_bytes"],
            "power_w": power,
            "from_power_j": power * tot["latency_s"] if power else None,
        }
        details["efficiency"] = dict(settings.efficiency)
        details["peak_fallbacks"] = dict(dv.fallbacks)
        details["figures"] = dict(sorted(dv.figures.items()))
        lat = tot["latency_s"]
        return DeviceResult(
            device=device.name, model=self.name, latency_s=lat, throughput_per_s=batch / lat if lat else 0.0,
            energy_j=tot["energy_j"], bound=tot["bound"], fits=fit["fits"], layers=[c.row() for c in costs],
            details=details,
        )  # fmt: skip

    def _ridges(self, dv: DeviceView, works: list[LayerWork]) -> dict[str, float]:
        """Ridge point (ops/byte) against the main memory for each data type the model uses."""
        bw = dv.main_level().bandwidth_bytes_per_s.value
        return {k: dv.peak(k, "gemm") / bw for k in sorted({w.dtype for w in works if w.ops})}

    def _sweep(self, ctx: MetricContext, dv: DeviceView, settings: HardwareSettings,
               works: list[LayerWork], batch: int) -> list[dict[str, Any]]:  # fmt: skip
        rows: list[dict[str, Any]] = []
        before: list[LayerCost] | None = None
        for b in settings.batch_sizes:
            scale = b / batch
            costs = estimate(works, dv, scale)
            tot = summarize(costs)
            fit = self.memory_fit(ctx, dv, settings, scale)
            lat = tot["latency_s"]
            rows.append({"batch": b, "latency_s": lat, "throughput_per_s": b / lat if lat else 0.0,
                         "bound": tot["bound"], "fits": fit["fits"], "required_bytes": fit["required_bytes"],
                         "energy_per_item_j": tot["energy_j"] / b,
                         "activation_levels": _level_counts(costs)})  # fmt: skip
            if rows[-1]["throughput_per_s"] < (
                rows[-2]["throughput_per_s"] if len(rows) > 1 else 0.0
            ):
                rows[-1]["throughput_falls_because"] = _fall_reasons(dv, costs, before) + (
                    [] if fit["fits"] else [f"does not fit {fit.get('level') or 'memory'}"])  # fmt: skip
            before = costs
            if not fit["fits"]:
                break  # memory ran out: larger batches do not fit either
        return rows


def _level_counts(costs: list[LayerCost]) -> dict[str, int]:
    """How many layers keep their activations in each memory level."""
    out: dict[str, int] = {}
    for c in costs:
        if c.activation_level:
            out[c.activation_level] = out.get(c.activation_level, 0) + 1
    return out


def _fall_reasons(
    dv: DeviceView, costs: list[LayerCost], before: list[LayerCost] | None
) -> list[str]:
    """Why a larger batch has a lower throughput than the previous row: activations that moved
    to a slower memory level (a real effect: the working set outgrew a cache), or the device
    class's own reasons (GPU: more waves per item). An empty list would be an unexplained fall."""
    reasons = []
    if before is not None:
        order = {m.name: i for i, m in enumerate(dv.device.memory)}
        moved: dict[tuple[str, str], int] = {}
        for now, was in zip(costs, before, strict=True):
            a, b = was.activation_level, now.activation_level
            if a and b and order[b] > order[a]:
                moved[(a, b)] = moved.get((a, b), 0) + 1
        reasons += [
            f"activations of {n} layer(s) spill from {a} to {b}" for (a, b), n in moved.items()
        ]
    return reasons + dv.sweep_notes(costs, before)


def _runtime_overhead(device: DeviceSpec, settings: HardwareSettings, level: str) -> float:
    if level in settings.runtime_overhead_bytes:
        return float(settings.runtime_overhead_bytes[level])
    fig = device.runtime_overhead_bytes.get(level)
    return fig.value if fig else 0.0
