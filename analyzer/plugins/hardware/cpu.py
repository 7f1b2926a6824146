"""cpu hardware model: the shared roofline over caches and DRAM (docs/hardware.md).

Weights stay in the last-level cache when the whole model fits there;
each layer's activations live in the fastest cache that holds them.
Fit: weights + live activations + runtime overhead within DRAM.
"""

from __future__ import annotations

from analyzer.core.hookspecs import hookimpl
from analyzer.plugins.hardware.roofline import RooflineModel


class CpuRoofline(RooflineModel):
    name = "roofline-cpu"
    device_class = "cpu"


@hookimpl
def analyzer_register_hardware_models(register):
    register(CpuRoofline())
