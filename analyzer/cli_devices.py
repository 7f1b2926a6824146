"""Rendering of ``python -m analyzer devices`` (the list, and one device with sources)."""

from __future__ import annotations

import json

from rich.table import Table

from analyzer.core.devices import DeviceSpec, Figure
from analyzer.core.errors import UsageError
from analyzer.plugins.reporters.common import human, human_bytes, plain, rich_text


def _fig(f: Figure | None) -> str:
    return "-" if f is None else human(f.value)


def _bytes(f: Figure | None, per_s: bool = False) -> str:
    return "-" if f is None else human_bytes(f.value) + "/s" * per_s


def _json(obj: DeviceSpec | list[DeviceSpec], width: int | None = None) -> str:
    if isinstance(obj, list):
        return json.dumps([d.model_dump(mode="json", by_alias=True) for d in obj], indent=2) + "\n"
    return json.dumps(obj.model_dump(mode="json", by_alias=True), indent=2) + "\n"


def _check_format(fmt: str, what: str) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"{what}: format {fmt!r} not available ({' or '.join(FORMATS)})")


def render_device_list(devices: list[DeviceSpec], fmt: str, width: int | None = None) -> str:
    """``width``: the terminal's columns (None: a file or pipe, lines unbroken up to 200)."""
    _check_format(fmt, "devices")
    return _LIST[fmt](devices, width)


def render_device(d: DeviceSpec, fmt: str, width: int | None = None) -> str:
    _check_format(fmt, "devices show")
    return _SHOW[fmt](d, width)


def _device_list_table(devices: list[DeviceSpec], width: int | None = None) -> str:
    t = Table(title="Devices", title_justify="left", header_style="bold")
    for col in ("name", "class", "device", "peak ops/s by dtype", "memory (capacity, bandwidth)"):
        t.add_column(col, overflow="fold")
    for d in devices:
        peaks = ", ".join(f"{k} {_fig(v)}" for k, v in d.peak_ops_per_s.items())
        mem = ", ".join(f"{m.name} {_bytes(m.capacity_bytes)} @ {_bytes(m.bandwidth_bytes_per_s, per_s=True)}" for m in d.memory)
        t.add_row(d.name, d.device_class, d.display_name, peaks, mem)
    return rich_text(t, width=width)


def _device_table(d: DeviceSpec, width: int | None = None) -> str:
    t = Table(title=f"{d.name}: {d.display_name} ({d.device_class})", title_justify="left", header_style="bold")
    for col in ("figure", "value", "kind", "source"):
        t.add_column(col, overflow="fold")

    def add(label: str, f: Figure | None) -> None:
        if f is not None:
            t.add_row(label, plain(f.value, 6), f.kind, f.source + (f" ({f.note})" if f.note else ""))

    for dtype, f in d.peak_ops_per_s.items():
        add(f"peak_ops_per_s.{dtype}", f)
    for dtype, f in d.vector_ops_per_s.items():
        add(f"vector_ops_per_s.{dtype}", f)
    add("clock_hz", d.clock_hz)
    add("layer_overhead_s", d.layer_overhead_s)
    for k, f in d.class_overhead_s.items():
        add(f"class_overhead_s.{k}", f)
    for dtype, f in d.energy_per_op_j.items():
        add(f"energy_per_op_j.{dtype}", f)
    for m in d.memory:
        add(f"{m.name}.capacity_bytes", m.capacity_bytes)
        add(f"{m.name}.bandwidth_bytes_per_s", m.bandwidth_bytes_per_s)
        add(f"{m.name}.energy_per_byte_j", m.energy_per_byte_j)
    add("power_w", d.power_w)
    for k, f in d.runtime_overhead_bytes.items():
        add(f"runtime_overhead_bytes.{k}", f)
    for k, fig in d.extra_figures.items():  # a plugin device class's own figures
        for sub, f in fig.items() if isinstance(fig, dict) else [("", fig)]:
            add(f"{k}.{sub}" if sub else k, f)
    extra = [f"runtime: {d.runtime}"] if getattr(d, "runtime", None) else []  # the MCU kernels it runs (docs/hardware.md)
    extra += [f"efficiency: {', '.join(f'{k}={v}' for k, v in d.efficiency.items())}"] if d.efficiency else []
    extra += [f"reference: {r}" for r in d.references] + ([f"notes: {d.notes}"] if d.notes else [])
    return rich_text(t, *extra, f"file: {d.path}", width=width)


_LIST = {"table": _device_list_table, "json": _json}
_SHOW = {"table": _device_table, "json": _json}
FORMATS = tuple(f for f in _LIST if f in _SHOW)  # what both 'devices' and 'devices show' render; the first is the default
