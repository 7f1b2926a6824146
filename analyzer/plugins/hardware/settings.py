"""Hardware options (``ctx.options.hardware``) and efficiency factors, validated once.

Keys (docs/hardware.md): ``batch_sizes``, ``efficiency``, ``compute_dtype``,
``layer_overhead_s``, ``runtime_overhead_bytes``, ``inplace_depthwise``,
``fold_batch_norm``, ``reorder``, ``arena_alignment``, ``arena_level``, ``reorder_max_states``.
A bad value is a UsageError naming it; keys the roofline does not read are
other hardware models' (the plugin set refuses a key no loaded model reads).

The roofline's view of a device file is checked here too (``device_problems``):
the data types of the peak and energy tables, the op classes of the
efficiency and overhead tables, memory kinds, and no figure it cannot read.

Efficiency of an op class = the fraction of the roofline (peak ops/s and
bandwidth) a layer of that class reaches. Precedence: the ``efficiency``
option > the device file's ``efficiency`` table > the defaults of the
device class below (its ``default`` entry covers classes it does not name).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analyzer.core.devices import DeviceSpec
from analyzer.core.errors import UsageError

# Keys of peak_ops_per_s / vector_ops_per_s / energy_per_op_j: the arithmetic data type.
DTYPE_KEYS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int32", "int16", "int8", "int4")
# Keys of efficiency / class_overhead_s: the op classes the roofline tells apart ("default": any other).
OP_CLASSES = ("gemm", "conv", "depthwise", "elementwise", "normalization", "pooling",
              "reduction", "movement", "other", "default")  # fmt: skip
# What a memory level is built from; picks the default energy per byte (docs/hardware.md).
MEMORY_KINDS = ("register", "sram", "cache", "dram", "hbm", "flash")

# Documented defaults (estimates, see docs/hardware.md "Efficiency factors"): large GEMMs
# reach 60-80% of peak in tuned BLAS/cuBLAS; depthwise convolutions do little work per
# byte and vectorise poorly; elementwise and data-movement layers are bandwidth-bound and
# reach most of the STREAM bandwidth. MCU figures follow CMSIS-NN kernels.
DEFAULT_EFFICIENCY: dict[str, dict[str, float]] = {
    "cpu": {"gemm": 0.6, "conv": 0.5, "depthwise": 0.15, "elementwise": 0.5, "normalization": 0.4,
            "pooling": 0.4, "reduction": 0.4, "movement": 0.5, "default": 0.4},
    "gpu": {"gemm": 0.7, "conv": 0.6, "depthwise": 0.3, "elementwise": 0.7, "normalization": 0.5,
            "pooling": 0.5, "reduction": 0.5, "movement": 0.7, "default": 0.5},
    "mcu": {"gemm": 0.5, "conv": 0.5, "depthwise": 0.3, "elementwise": 0.4, "normalization": 0.3,
            "pooling": 0.3, "reduction": 0.3, "movement": 0.5, "default": 0.3},
}  # fmt: skip

KNOWN_KEYS = (
    "batch_sizes", "efficiency", "compute_dtype", "layer_overhead_s", "runtime_overhead_bytes",
    "inplace_depthwise", "fold_batch_norm", "reorder", "arena_alignment", "arena_level", "reorder_max_states",
)  # fmt: skip

_CANONICAL_TO_KEY = {
    "float64": "fp64", "float32": "fp32", "tfloat32": "tf32", "float16": "fp16", "bfloat16": "bf16",
    "int64": "int32", "int32": "int32", "uint32": "int32", "int16": "int16", "uint16": "int16",
    "int8": "int8", "uint8": "int8", "bool": "int8", "int4": "int4", "uint4": "int4",
    "complex64": "fp32", "complex128": "fp64",
}  # fmt: skip


def dtype_key(dtype: str) -> str:
    """Canonical dtype name (or a key already) -> key of the peak tables (``float16`` -> ``fp16``)."""
    if dtype in DTYPE_KEYS:
        return dtype
    if dtype.startswith(("float8", "float4")):
        return "fp8"
    return _CANONICAL_TO_KEY.get(dtype, "fp32")


@dataclass(frozen=True)
class HardwareSettings:
    efficiency: dict[str, float]
    batch_sizes: tuple[int, ...] = ()
    compute_dtype: str | None = None
    layer_overhead_s: float | None = None
    runtime_overhead_bytes: dict[str, int] = field(default_factory=dict)
    inplace_depthwise: bool = False
    fold_batch_norm: bool = True
    reorder: bool = False
    arena_alignment: int = 16
    arena_level: str | None = None
    reorder_max_states: int = 20000

    def eff(self, op_class: str) -> float:
        return self.efficiency.get(op_class, self.efficiency["default"])


def _positive_int(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise UsageError(f"hardware option {key!r} must be a positive integer, got {v!r}")
    return v


def _efficiency_table(key: str, table: Any) -> dict[str, float]:
    if not isinstance(table, Mapping):
        raise UsageError(f"hardware option {key!r} must map op classes to fractions")
    out = {}
    for k, v in table.items():
        if k not in OP_CLASSES:
            raise UsageError(f"unknown op class {k!r} in {key}; known: {', '.join(OP_CLASSES)}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1:
            raise UsageError(f"{key} {k}={v!r}: a fraction in (0, 1] is needed")
        out[k] = float(v)
    return out


def parse_settings(options: Mapping[str, Any], device: DeviceSpec | None) -> HardwareSettings:
    """Validate the roofline's keys of ``options`` and merge efficiency factors for ``device``.

    Keys it does not read are left alone (another hardware model's). With
    ``device`` None only the values are checked (``RooflineModel.validate_options``).
    """
    eff = dict(DEFAULT_EFFICIENCY.get(device.device_class if device else "cpu", DEFAULT_EFFICIENCY["cpu"]))
    if device is not None:
        eff.update(device.efficiency)
    eff.update(_efficiency_table("efficiency", options.get("efficiency", {})))
    kw: dict[str, Any] = {"efficiency": eff}
    if "batch_sizes" in options:
        sizes = options["batch_sizes"]
        if isinstance(sizes, int):
            sizes = [sizes]
        kw["batch_sizes"] = tuple(_positive_int("batch_sizes", b) for b in sizes)
    if options.get("compute_dtype") is not None:
        from analyzer.core import dtypes

        d = str(options["compute_dtype"])
        if d not in DTYPE_KEYS:
            try:
                d = dtype_key(dtypes.canonical(d))
            except ValueError:
                raise UsageError(f"hardware option 'compute_dtype': unknown data type {d!r}") from None
        kw["compute_dtype"] = d
    if options.get("layer_overhead_s") is not None:
        v = options["layer_overhead_s"]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < math.inf:  # nan fails too
            raise UsageError(f"hardware option 'layer_overhead_s' must be a finite number >= 0 seconds, got {v!r}")
        kw["layer_overhead_s"] = float(v)
    rt = options.get("runtime_overhead_bytes", {})
    if not isinstance(rt, Mapping):
        raise UsageError("hardware option 'runtime_overhead_bytes' must map memory level names to bytes")
    kw["runtime_overhead_bytes"] = {str(k): _nonneg_int("runtime_overhead_bytes", v) for k, v in rt.items()}
    for key in ("inplace_depthwise", "fold_batch_norm", "reorder"):
        if key in options:
            if not isinstance(options[key], bool):
                raise UsageError(f"hardware option {key!r} must be true or false, got {options[key]!r}")
            kw[key] = options[key]
    for key in ("arena_alignment", "reorder_max_states"):
        if key in options:
            kw[key] = _positive_int(key, options[key])
    if options.get("arena_level") is not None:
        name = str(options["arena_level"])
        if device is not None and device.memory_level(name) is None:
            levels = ", ".join(m.name for m in device.memory)
            raise UsageError(f"hardware option 'arena_level': {device.name} has no memory level {name!r} ({levels})")
        kw["arena_level"] = name
    return HardwareSettings(**kw)


def _nonneg_int(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise UsageError(f"hardware option {key!r}: byte counts must be integers >= 0, got {v!r}")
    return v


def device_problems(device: DeviceSpec) -> list[str]:
    """What the roofline cannot read in ``device``, one ``field 'x': why`` line each."""
    problems = []
    if not device.peak_ops_per_s:
        problems.append("field 'peak_ops_per_s': the roofline needs the peak ops/s of at least one data type")
    for table in ("peak_ops_per_s", "vector_ops_per_s", "energy_per_op_j"):
        bad = sorted(set(getattr(device, table)) - set(DTYPE_KEYS))
        if bad:
            problems.append(f"field '{table}': unknown data type {bad[0]!r} (known: {', '.join(DTYPE_KEYS)})")
    for table in ("efficiency", "class_overhead_s"):
        bad = sorted(set(getattr(device, table)) - set(OP_CLASSES))
        if bad:
            problems.append(f"field '{table}': unknown op class {bad[0]!r} (known: {', '.join(OP_CLASSES)})")
    for i, m in enumerate(device.memory):
        if m.kind is not None and m.kind not in MEMORY_KINDS:
            problems.append(f"field 'memory.{i}.kind': unknown memory kind {m.kind!r} (known: {', '.join(MEMORY_KINDS)})")
    for key in device.extra_figures:
        problems.append(f"field {key!r}: not a figure the roofline reads (a misspelt key, or a figure "
                        f"of another hardware model's device class)")  # fmt: skip
    return problems
