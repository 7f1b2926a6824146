"""Energy per op and per byte: the device file's figures, else Horowitz (ISSCC 2014) defaults.

Horowitz's 45 nm, 0.9 V figures (per operation): 8-bit int add 0.03 pJ,
mult 0.2 pJ; 32-bit int add 0.1 pJ, mult 3.1 pJ; 16-bit float add 0.4 pJ,
mult 1.1 pJ; 32-bit float add 0.9 pJ, mult 3.7 pJ. Memory, per 64-bit
access: 8 KB SRAM 10 pJ, 32 KB SRAM 20 pJ, 1 MB SRAM 100 pJ, DRAM 1.3-2.6 nJ;
per 32-bit access (Han et al., NeurIPS 2015, Table 1, from the same talk):
register file 1 pJ, DRAM 640 pJ.

The analyzer counts a MAC as 2 ops (multiply + add), so the energy of one
op is the mean of the add and the multiply. Applied to devices made in
another process node these are estimates (kind "estimate"): they show
orders of magnitude (DRAM access >> SRAM access >> arithmetic), not a
measurement. Embedded flash has no Horowitz figure: bytes read from a level
without an energy figure are reported as unmodelled, not counted as zero.
"""

from __future__ import annotations

from analyzer.core.devices import DeviceSpec, Figure, MemoryLevel

SOURCE = ("M. Horowitz, 'Computing's energy problem (and what we can do about it)', "
          "ISSCC 2014, pp. 10-14, 45 nm / 0.9 V")  # fmt: skip
_HAN = "S. Han et al., 'Learning both weights and connections', NeurIPS 2015, Table 1 (from Horowitz, ISSCC 2014)"

_OP_J = {
    "fp32": ((0.9 + 3.7) / 2 * 1e-12, "32-bit float add 0.9 pJ, mult 3.7 pJ; one op = mean"),
    "fp16": ((0.4 + 1.1) / 2 * 1e-12, "16-bit float add 0.4 pJ, mult 1.1 pJ; one op = mean"),
    "int32": ((0.1 + 3.1) / 2 * 1e-12, "32-bit int add 0.1 pJ, mult 3.1 pJ; one op = mean"),
    "int8": ((0.03 + 0.2) / 2 * 1e-12, "8-bit int add 0.03 pJ, mult 0.2 pJ; one op = mean"),
}
# Types Horowitz does not list take the nearest listed one (noted in the figure).
_OP_NEAREST = {"fp64": "fp32", "tf32": "fp32", "bf16": "fp16", "fp8": "fp16", "int16": "int32", "int4": "int8"}


def op_energy(device: DeviceSpec, key: str) -> Figure:
    """Energy of one op of data type ``key`` on ``device`` (J)."""
    fig = device.energy_per_op_j.get(key)
    if fig is not None:
        return fig
    base = key if key in _OP_J else _OP_NEAREST.get(key, "fp32")
    value, note = _OP_J[base]
    if base != key:
        note = f"{key} not in the source; {base} figure used. " + note
    return Figure(value=value, source=SOURCE, kind="estimate", note=note)


def byte_energy(level: MemoryLevel) -> Figure | None:
    """Energy per byte moved at ``level`` (J), or None where no figure applies (flash)."""
    if level.energy_per_byte_j is not None:
        return level.energy_per_byte_j
    tech = level.technology
    if tech == "register":
        return Figure(value=1e-12 / 4, source=_HAN, kind="estimate", note="32-bit register file access 1 pJ")
    if tech in ("sram", "cache"):
        if level.capacity_bytes.value <= 32 * 1024:
            return Figure(value=20e-12 / 8, source=SOURCE, kind="estimate", note="32 KB SRAM, 20 pJ per 64-bit access")
        return Figure(value=100e-12 / 8, source=SOURCE, kind="estimate", note="1 MB SRAM, 100 pJ per 64-bit access")
    if tech in ("dram", "hbm"):
        return Figure(value=640e-12 / 4, source=_HAN, kind="estimate", note="32-bit DRAM access 640 pJ")
    return None
