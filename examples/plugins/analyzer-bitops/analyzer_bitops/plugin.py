"""The hooks: the entry point ``bitops = "analyzer_bitops.plugin"`` names this module."""

from __future__ import annotations

from pathlib import Path

from analyzer import hookimpl
from analyzer_bitops.metric import BitOps
from analyzer_bitops.npu import SimpleNpu
from analyzer_bitops.ops import OP, TORCH_OP, gated_linear_macs
from analyzer_bitops.reporter import OneLine


@hookimpl
def analyzer_register_ops(register):
    register(OP)


@hookimpl
def analyzer_register_formulas(register):
    register("macs", OP.name, gated_linear_macs)


@hookimpl
def analyzer_register_op_mappings(register):
    register("torch", TORCH_OP, OP.name)


@hookimpl
def analyzer_register_metrics(register):
    register(BitOps())


@hookimpl
def analyzer_register_hardware_models(register):
    register(SimpleNpu())


@hookimpl
def analyzer_device_dirs():
    return [Path(__file__).parent / "devices"]


@hookimpl
def analyzer_register_reporters(register):
    register(OneLine())
