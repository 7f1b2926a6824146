"""gpu hardware model: the shared roofline plus how a GPU runs a layer (docs/hardware.md, "GPU").

On top of the roofline's compute and memory terms, per layer:

- **kernels and launches**: one kernel per op of the layer that is not a
  view (eager frameworks launch one per op; views launch nothing). The host
  issues launches asynchronously, so a kernel costs at least the per-kernel
  launch/dispatch time: layer latency = max(compute, memory, kernels x
  ``kernel_launch_s``); the part of the launch time not hidden behind the
  kernel's own work is the row's ``overhead_s``. A device file with
  calibrated ``layer_overhead_s``/``class_overhead_s``, or the
  ``layer_overhead_s`` option, replaces the launch model (its figure is
  added, as on other devices).
- **wave quantisation**: the work is split into thread blocks (GEMM and
  dense/grouped convolution as implicit GEMM: ``gemm_tile.m x gemm_tile.n``
  output tiles; every other layer: blocks of ``elementwise_block.elements``
  output elements), run ``sm_count x blocks_per_sm`` at a time: compute
  time = ideal time x waves x blocks per wave / blocks, so a layer with
  fewer blocks than the GPU runs at once still takes a whole wave.
- **tensor-core eligibility**: contractions in fp16/bf16/tf32/int8/fp8/int4
  run on tensor cores (``peak_ops_per_s``) only when their channel dims
  (GEMM N and K; conv output and input channels per group) are multiples of
  the data type's alignment (NVIDIA's Tensor Core requirements); otherwise on
  the CUDA cores (``vector_ops_per_s``), and the row says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analyzer.core.devices import DeviceSpec, Figure
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import MetricContext
from analyzer.core.ops import Category
from analyzer.plugins.hardware.roofline import MATRIX_CLASSES, DeviceView, LayerCost, RooflineModel
from analyzer.plugins.hardware.settings import KNOWN_KEYS, HardwareSettings, device_problems

LAUNCH_OPTION = "kernel_launch_s"
# The GPU's own top-level figures: one figure, or a table of figures with these keys.
FIGURES: dict[str, tuple[str, ...]] = {
    "sm_count": (),
    "kernel_launch_s": (),
    "gemm_tile": ("m", "n", "blocks_per_sm"),
    "elementwise_block": ("elements", "blocks_per_sm"),
}
# Used (and reported, kind "estimate") when a device file lacks a figure.
_DEFAULT_SOURCE = "analyzer default for GPUs without this figure (docs/hardware.md, GPU)"
DEFAULTS: dict[str, Figure] = {
    "kernel_launch_s": Figure(value=5e-6, source=_DEFAULT_SOURCE, kind="estimate"),
    "gemm_tile.m": Figure(value=128, source=_DEFAULT_SOURCE, kind="estimate"),
    "gemm_tile.n": Figure(value=128, source=_DEFAULT_SOURCE, kind="estimate"),
    "gemm_tile.blocks_per_sm": Figure(value=1, source=_DEFAULT_SOURCE, kind="estimate"),
    "elementwise_block.elements": Figure(value=1024, source=_DEFAULT_SOURCE, kind="estimate"),
    "elementwise_block.blocks_per_sm": Figure(value=8, source=_DEFAULT_SOURCE, kind="estimate"),
}
# Channel dims must be multiples of these (elements) for tensor cores: NVIDIA Deep Learning
# Performance Guide, "Matrix Multiplication Background", Tensor Core requirements (fp16/bf16: 8,
# i.e. 16 bytes; tf32: 4; int8: 16); fp8 and int4 by the same 16- and 32-byte rule.
TENSOR_CORE_ALIGN = {"fp16": 8, "bf16": 8, "tf32": 4, "int8": 16, "fp8": 16, "int4": 32}
_GEMM_OPS = ("conv", "linear", "matmul", "attention", "dot_general")


@dataclass(frozen=True, slots=True)
class KernelShape:
    """How one layer is launched: GEMM dims (``m`` scales with batch, or ``count`` does) or elements."""

    kernels: int
    gemm: bool
    count: int = 1  # independent GEMMs (groups, batched matmul)
    m: int = 0
    n: int = 0
    k_channels: int = 0  # the contracted channel dim checked for tensor-core alignment
    count_scales: bool = False  # batched matmul: the batch dim is in ``count``, not ``m``
    elements: int = 0  # output elements (non-GEMM layers)


def _prod(dims: Any) -> int:
    return math.prod(int(d) for d in dims)


def _gemm_shape(ctx: MetricContext, node: Any) -> dict[str, Any] | None:
    g = ctx.graph
    out = tuple(g.shape(node.outputs[0]))
    if node.op == "conv":
        a = node.attrs
        groups, cout, cin = int(a.get("groups", 1)), int(a["out_channels"]), int(a["in_channels"])
        if groups > 1 and groups == cin:
            return None  # depthwise: a per-element kernel, not a GEMM
        return {
            "count": groups,
            "m": _prod(out) // max(cout, 1),
            "n": cout // groups,
            "k_channels": cin // groups,
        }
    if node.op == "linear" and out:
        x = tuple(g.shape(node.inputs[0]))
        return {"m": _prod(out[:-1]), "n": int(out[-1]), "k_channels": int(x[-1]) if x else 1}
    if node.op == "dot_general":  # JAX: batch dims, free dims of each side, contracted dims
        a, b = tuple(g.shape(node.inputs[0])), tuple(g.shape(node.inputs[1]))
        lc, rc = (
            tuple(node.attrs.get("lhs_contracting", ())),
            tuple(node.attrs.get("rhs_contracting", ())),
        )
        lb, rb = tuple(node.attrs.get("lhs_batch", ())), tuple(node.attrs.get("rhs_batch", ()))
        return {
            "count": _prod(a[i] for i in lb),
            "m": _prod(d for i, d in enumerate(a) if i not in lc + lb),
            "n": _prod(d for i, d in enumerate(b) if i not in rc + rb),
            "k_channels": _prod(a[i] for i in lc),
            "count_scales": 0 in lb,
        }
    if node.op in ("matmul", "attention") and len(out) >= 2:
        a = tuple(g.shape(node.inputs[0]))
        k = int(a[-1]) if a else 1
        if node.op == "attention":  # Q K^T: L x S over the head dim E (then P V: L x E over S)
            kshape = tuple(g.shape(node.inputs[1]))
            return {"count": _prod(out[:-2]), "m": int(out[-2]), "n": int(kshape[-2]) if len(kshape) >= 2 else 1,
                    "k_channels": k, "count_scales": len(out) > 2}  # fmt: skip
        return {"count": _prod(out[:-2]), "m": int(out[-2]), "n": int(out[-1]), "k_channels": k,
                "count_scales": len(out) > 2}  # fmt: skip
    return None


def kernel_shapes(ctx: MetricContext) -> dict[str, KernelShape]:
    """Per layer: kernels launched (ops that are not views) and the shape the blocks are cut from."""
    shapes = {}
    for layer in ctx.layers:
        nodes = [ctx.graph.node(n) for n in layer.nodes]
        work = [
            n
            for n in nodes
            if (d := ctx.vocabulary.get(n.op)) is None or d.category != Category.VIEW
        ]
        gemm = next((s for n in work if n.op in _GEMM_OPS and (s := _gemm_shape(ctx, n))), None)
        if gemm is not None:
            shapes[layer.name] = KernelShape(kernels=len(work), gemm=True, **gemm)
            continue
        elements = sum(
            _prod(ctx.graph.shape(t)) for t in layer.outputs if ctx.graph.is_activation(t)
        )
        shapes[layer.name] = KernelShape(kernels=len(work), gemm=False, elements=elements)
    return shapes


def _scaled(n: int, scale: float) -> int:
    """``n`` x batch scale as a whole count (exact when the batch divides evenly)."""
    x = n * scale
    r = round(x)
    return r if abs(x - r) < 1e-9 * max(1.0, x) else math.ceil(x)


class GpuView(DeviceView):
    """The roofline's device view plus launches, waves and tensor-core eligibility."""

    def __init__(self, device: DeviceSpec, settings: HardwareSettings, shapes: dict[str, KernelShape],
                 launch_s: float | None) -> None:  # fmt: skip
        super().__init__(device, settings)
        self.shapes = shapes
        self.launch_option = launch_s
        calibrated = device.layer_overhead_s is not None or bool(device.class_overhead_s)
        self.launch_model = settings.layer_overhead_s is None and not calibrated

    def figure(self, key: str) -> float | None:
        """A GPU figure (``gemm_tile.m``) from the device, else the default; noted with its source."""
        top, _, sub = key.partition(".")
        fig = self.device.extra_figures.get(top)
        if isinstance(fig, Mapping):
            fig = fig.get(sub)
        if fig is None and key == "sm_count" and self.device.cores:
            fig = Figure(
                value=self.device.cores, source="the device's 'cores' field", kind="estimate"
            )
        fig = fig if fig is not None else DEFAULTS.get(key)
        if fig is None:
            return None
        self._note(key, fig)
        return fig.value

    def _tensor_cores(self, c: LayerCost, s: KernelShape) -> tuple[bool | None, str]:
        dtype = c.work.dtype
        if not s.gemm and c.work.op_class in MATRIX_CLASSES:  # einsum, rnn...: dims not read
            return None, f"{c.work.op} dims not read: the matrix-unit peak of {dtype} is assumed"
        if not s.gemm:
            return False, f"{c.work.op_class} runs on CUDA cores"
        align = TENSOR_CORE_ALIGN.get(dtype)
        if align is None:
            return False, f"{dtype} has no tensor-core path here: CUDA cores"
        bad = [f"{name}={v}" for name, v in (("N", s.n), ("K", s.k_channels)) if v % align]
        if bad:
            return (
                False,
                f"{dtype} needs N and K multiples of {align} for tensor cores; {', '.join(bad)}: CUDA cores",
            )
        return True, f"{dtype} with N and K multiples of {align}: tensor cores"

    def refine(self, c: LayerCost, scale: float) -> None:
        s = self.shapes.get(c.work.name)
        if s is None:
            return
        extra: dict[str, Any] = {"kernels": max(s.kernels, 1)}  # a layer with work launches
        if c.ops:
            tc, why = self._tensor_cores(c, s)
            if s.gemm and not tc:  # the CUDA cores' peak for this data type
                c.peak_ops_per_s = self.peak(c.work.dtype, "elementwise")
            c.compute_s = c.ops / (c.peak_ops_per_s * c.efficiency)
            extra.update(tensor_cores=tc, units=why)
            util = self._waves(s, scale, extra)
            if util:
                c.compute_s /= util
        if self.launch_model:
            launch = (
                self.launch_option
                if self.launch_option is not None
                else self.figure("kernel_launch_s")
            )
            launch_total = extra["kernels"] * (launch or 0.0)
            c.overhead_s = max(0.0, launch_total - max(c.compute_s, c.memory_s))
            extra["launch_s"] = launch_total
        c.extra.update(extra)

    def _waves(self, s: KernelShape, scale: float, extra: dict[str, Any]) -> float | None:
        """Blocks / (waves x blocks per wave): the share of the last wave's slots the layer fills."""
        sms = self.figure("sm_count")
        if not sms:
            return None
        if s.gemm:
            tm, tn = self.figure("gemm_tile.m") or 128, self.figure("gemm_tile.n") or 128
            per_sm = self.figure("gemm_tile.blocks_per_sm") or 1
            count, m = (
                (_scaled(s.count, scale), s.m) if s.count_scales else (s.count, _scaled(s.m, scale))
            )
            blocks = count * math.ceil(m / tm) * math.ceil(s.n / tn)
            extra["tiles"] = blocks
        else:
            size = self.figure("elementwise_block.elements") or 1024
            per_sm = self.figure("elementwise_block.blocks_per_sm") or 1
            blocks = math.ceil(_scaled(s.elements, scale) / size)
            extra["blocks"] = blocks
        if blocks <= 0:
            return None
        slots = int(sms * per_sm)
        waves = math.ceil(blocks / slots)
        extra["waves"] = waves
        extra["wave_efficiency"] = blocks / (waves * slots)
        return extra["wave_efficiency"]

    def sweep_notes(self, costs: list[LayerCost], before: list[LayerCost] | None) -> list[str]:
        if before is None:
            return []
        worse = sum(
            1 for now, was in zip(costs, before, strict=True)
            if now.extra.get("wave_efficiency", 1.0) < was.extra.get("wave_efficiency", 1.0) - 1e-12
        )  # fmt: skip
        return (
            [f"wave quantisation: {worse} layer(s) fill less of their last wave"] if worse else []
        )


class GpuRoofline(RooflineModel):
    name = "roofline-gpu"
    device_class = "gpu"
    option_keys = (*KNOWN_KEYS, LAUNCH_OPTION)

    def validate_device(self, device: DeviceSpec) -> list[str]:
        own = {k: v for k, v in device.extra_figures.items() if k in FIGURES}
        rest = device.model_copy(update={"extra_figures": {k: v for k, v in device.extra_figures.items()
                                                           if k not in FIGURES}})  # fmt: skip
        problems = device_problems(rest)
        for key, value in own.items():
            subkeys = FIGURES[key]
            if not subkeys and isinstance(value, Mapping):
                problems.append(
                    f'field {key!r}: one figure {{value = ..., source = "..."}}, not a table'
                )
            elif subkeys and not isinstance(value, Mapping):
                problems.append(f"field {key!r}: a table of figures with keys {', '.join(subkeys)}")
            elif subkeys:
                bad = sorted(set(value) - set(subkeys))
                if bad:
                    problems.append(
                        f"field '{key}.{bad[0]}': unknown (known: {', '.join(subkeys)})"
                    )
        return problems

    def validate_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = super().validate_options(options)
        v = options.get(LAUNCH_OPTION)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < math.inf):
            problems.append(f"hardware option {LAUNCH_OPTION!r} must be a finite number >= 0 seconds, got {v!r}")
        return problems

    def make_view(
        self, ctx: MetricContext, device: DeviceSpec, settings: HardwareSettings
    ) -> DeviceView:
        launch = ctx.options.hardware.get(LAUNCH_OPTION)
        return GpuView(
            device, settings, ctx.derived(kernel_shapes), None if launch is None else float(launch)
        )

    def extra_details(
        self, ctx: MetricContext, dv: DeviceView, settings: HardwareSettings
    ) -> dict[str, Any]:
        assert isinstance(dv, GpuView)
        return {"kernels": sum(s.kernels for s in dv.shapes.values()),
                "launch_model": "max(compute, memory, kernels x kernel_launch_s) per layer" if dv.launch_model
                else "calibrated or given per-layer overhead (launches not modelled apart)"}  # fmt: skip


@hookimpl
def analyzer_register_hardware_models(register):
    register(GpuRoofline())
