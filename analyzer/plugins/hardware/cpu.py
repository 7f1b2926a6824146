"""cpu hardware model: the shared roofline over caches and DRAM (docs/hardware.md).

Weights stay in the last-level cache when the whole model fits there;
each layer's activations live in the fastest cache that holds them.
Fit: weights + live activations + runtime overhead within DRAM.
The ``host`` device, once calibrated, takes its latency from the
kernel-level model instead (``host.apply_kernel_model``; option ``threads``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyzer.core.hookspecs import hookimpl
from analyzer.plugins.hardware import host
from analyzer.plugins.hardware.roofline import RooflineModel
from analyzer.plugins.hardware.settings import KNOWN_KEYS


class CpuRoofline(RooflineModel):
    name = "roofline-cpu"
    device_class = "cpu"
    option_keys = (*KNOWN_KEYS, host.THREADS_OPTION)

    def validate_options(self, options: Mapping[str, Any]) -> list[str]:
        return super().validate_options(options) + host.threads_problems(options)

    def evaluate(self, ctx, device):  # type: ignore[no-untyped-def]
        return host.apply_kernel_model(ctx, device, super().evaluate(ctx, device))


@hookimpl
def analyzer_register_hardware_models(register):
    register(CpuRoofline())
