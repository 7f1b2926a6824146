"""What the OS says about this machine, and a spec derived from it without measuring.

``host_info()`` reads the CPU model, clock, SIMD flags and caches (Linux
``/proc/cpuinfo`` and ``/sys``; elsewhere what ``os``/``platform`` give).
``derived_host_doc()`` turns it into an ``analyzer.device/1`` document whose
figures are derived from the datasheet-style formula cores x FLOP/cycle x
clock, plus estimates for bandwidths: the "before calibration" baseline of
docs/hardware.md. ``calibrate`` replaces them with measurements.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "analyzer.device/1"
_SYS_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")


@dataclass
class CacheLevel:
    level: int
    size_bytes: int  # one instance
    instances: int  # instances among the cores we may use

    @property
    def total_bytes(self) -> int:
        return self.size_bytes * self.instances


@dataclass
class HostInfo:
    model: str
    cores: int
    clock_hz: float | None
    flags: set[str] = field(default_factory=set)
    caches: list[CacheLevel] = field(default_factory=list)
    memory_bytes: int | None = None

    def flops_per_cycle(self) -> tuple[int, str]:
        """FP32 FLOP per cycle per core from the SIMD flags (two FMA pipes assumed)."""
        f = self.flags
        if "avx512f" in f:
            return 64, "2 x AVX-512 FMA (16 lanes x 2 FLOP)"
        if "avx2" in f and "fma" in f:
            return 32, "2 x AVX2 FMA (8 lanes x 2 FLOP)"
        if "asimd" in f or platform.machine() in ("arm64", "aarch64"):
            return 16, "2 x 128-bit NEON FMA (4 lanes x 2 FLOP)"
        return 8, "2 x SSE (4 lanes, add + multiply)"


def _cpuinfo() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            k, _, v = line.partition(":")
            out.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    return out


def _size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
    return int(text.rstrip("KMG")) * mult


def _cpu_count(cpu_list: str) -> int:
    n = 0
    for part in cpu_list.split(","):
        a, _, b = part.partition("-")
        n += int(b) - int(a) + 1 if b else 1
    return n


def host_info() -> HostInfo:
    info = _cpuinfo()
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    mhz = info.get("cpu MHz")
    caches = []
    for d in sorted(_SYS_CACHE.glob("index*")) if _SYS_CACHE.is_dir() else []:
        try:
            if (d / "type").read_text().strip() == "Instruction":
                continue
            level = int((d / "level").read_text())
            size = _size((d / "size").read_text())
            sharing = _cpu_count((d / "shared_cpu_list").read_text().strip())
        except (OSError, ValueError):
            continue
        caches.append(CacheLevel(level, size, max(1, -(-cores // sharing))))
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        mem = None
    return HostInfo(
        model=info.get("model name") or platform.processor() or platform.machine(),
        cores=cores,
        clock_hz=float(mhz) * 1e6 if mhz else None,
        flags=set(info.get("flags", info.get("Features", "")).split()),
        caches=[c for c in caches if c.level >= 2],
        memory_bytes=mem,
    )


def _fig(value: float, source: str, kind: str, note: str = "") -> dict[str, Any]:
    d: dict[str, Any] = {"value": float(value), "source": source, "kind": kind}
    if note:
        d["note"] = note
    return d


# Bytes per cycle per core assumed for caches before measuring (typical x86/Arm cores).
_CACHE_BYTES_PER_CYCLE = {2: 32, 3: 16}
_DRAM_PER_CORE = 10e9  # B/s per core: a typical sustained share of server DRAM bandwidth


def derived_host_doc(info: HostInfo | None = None) -> dict[str, Any]:
    """A host spec with no measurement: peaks from the formula, bandwidths estimated."""
    info = info or host_info()
    clock = info.clock_hz or 2.0e9
    clock_src = "/proc/cpuinfo 'cpu MHz'" if info.clock_hz else "assumed 2 GHz (no clock reported)"
    fpc, how = info.flops_per_cycle()
    doc: dict[str, Any] = {
        "schema": SCHEMA, "name": "host", "display_name": f"this machine ({info.model}, {info.cores} cores)",
        "class": "cpu", "description": "derived from the OS's CPU description, not measured",
        "cores": info.cores,
        "clock_hz": _fig(clock, clock_src, "derived" if info.clock_hz else "estimate"),
        "peak_ops_per_s": {"fp32": _fig(info.cores * fpc * clock, f"{info.cores} cores x {fpc} FLOP/cycle ({how}) x clock", "derived")},
        "memory": [],
    }  # fmt: skip
    for c in info.caches:
        bpc = _CACHE_BYTES_PER_CYCLE.get(c.level, 16)
        doc["memory"].append({
            "name": f"l{c.level}", "kind": "cache", "on_chip": True,
            "capacity_bytes": _fig(c.total_bytes, f"/sys cache index: {c.size_bytes} B x {c.instances}", "derived"),
            "bandwidth_bytes_per_s": _fig(bpc * clock * info.cores, f"{bpc} B/cycle per core x cores x clock", "estimate"),
        })  # fmt: skip
    doc["memory"].append({
        "name": "dram", "kind": "dram", "on_chip": False,
        "capacity_bytes": _fig(info.memory_bytes or 8e9, "reported by the OS" if info.memory_bytes else "assumed", "derived"),
        "bandwidth_bytes_per_s": _fig(_DRAM_PER_CORE * info.cores, "10 GB/s per core", "estimate"),
    })  # fmt: skip
    return doc


# --- the kernel-level model (host-kernels.json beside host.toml) ---------------------------------

THREADS_OPTION = "threads"
KERNEL_CONVENTION = ("sum over the graph's ops of the calibrated kernel time (PyTorch eager, per op class, "
                     "gradient-boosted trees) + one module call per module entered")  # fmt: skip


def threads_problems(options: Any) -> list[str]:
    """The ``threads`` hardware option must be a positive integer."""
    v = options.get(THREADS_OPTION) if hasattr(options, "get") else None
    if v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0):
        return []
    return [f"hardware option 'threads' must be a positive integer (intra-op threads), got {v!r}"]


def kernel_file(device: Any) -> Path | None:
    """``host-kernels.json`` beside the host's device file, if the device is ``host`` and it exists."""
    from analyzer.plugins.hardware.kernel_model import FILE_NAME

    if getattr(device, "name", None) != "host" or not getattr(device, "path", ""):
        return None
    path = Path(device.path).parent / FILE_NAME
    return path if path.is_file() else None


_KERNELS_CACHE: dict[tuple[str, int, int], Any] = {}
_MODELS: dict[tuple[int, int], Any] = {}  # (id of the cached document, threads) -> KernelModel


def _read_kernels(path: Path) -> Any:
    """The validated host-kernels.json, read once per version of the file (sweeps analyse thousands)."""
    from analyzer.plugins.hardware import kernel_model as km

    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _KERNELS_CACHE:
        _KERNELS_CACHE.clear()
        _MODELS.clear()
        _KERNELS_CACHE[key] = km.read(path)
    return _KERNELS_CACHE[key]


def apply_kernel_model(ctx: Any, device: Any, result: Any) -> Any:
    """Replace the roofline's latency of ``host`` by the kernel-level model's, when calibrated.

    ``details['kernel_model']`` says what was used: the file, machine,
    runtime and thread count, or why the roofline stayed (no file, or no
    calibration for the thread count asked). Per layer, ``latency_s``
    becomes the kernel model's and the roofline's is kept as
    ``roofline_latency_s``; the batch sweep scales the kernel model's total
    by the roofline's ratio between batches.
    """
    from analyzer.plugins.hardware import kernel_model as km

    path = kernel_file(device)
    if path is None:
        if getattr(device, "name", None) == "host":
            result.details["kernel_model"] = {"used": False, "why": "no host-kernels.json beside host.toml: "
                                              "run 'python -m analyzer calibrate' (roofline used)"}  # fmt: skip
        return result
    doc = _read_kernels(path)
    asked = ctx.options.hardware.get(THREADS_OPTION)
    have = sorted(int(k) for k in doc["calibrations"])
    threads = asked if asked is not None else (1 if 1 in have else have[0])
    if threads not in have:
        result.details["kernel_model"] = {
            "used": False, "threads": threads, "calibrated_threads": have,
            "why": f"not calibrated for {threads} thread(s) (calibrated: {', '.join(map(str, have))}); run "
                   f"'python -m analyzer calibrate --threads {threads}' (roofline used)"}  # fmt: skip
        return result
    model = _MODELS.get((id(doc), threads)) or _MODELS.setdefault(
        (id(doc), threads), km.KernelModel(doc, threads, path)
    )
    rows = model.layer_times(ctx.graph, ctx.layers)
    old_total = result.latency_s
    for layer, row in zip(result.layers, rows, strict=True):
        layer["roofline_latency_s"] = layer["latency_s"]
        layer["latency_s"] = row["latency_s"]
        layer["kernel_s"] = row["kernel_s"]
        layer["module_call_s"] = row["module_call_s"]
    total = sum(r["latency_s"] for r in rows)
    batch = result.details.get("batch") or 1
    result.latency_s = total
    result.throughput_per_s = batch / total if total else 0.0
    for r in result.details.get("batch_sweep", []):
        r["latency_s"] = r["latency_s"] * total / old_total if old_total else total
        r["throughput_per_s"] = r["batch"] / r["latency_s"] if r["latency_s"] else 0.0
    result.details["latency_convention"] = KERNEL_CONVENTION
    result.details["kernel_model"] = {
        "used": True,
        **model.describe(),
        "roofline_latency_s": old_total,
    }
    return result
