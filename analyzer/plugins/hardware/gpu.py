"""gpu hardware model: the shared roofline over L2 and HBM/GDDR (docs/hardware.md).

Contractions (gemm, conv) use the tensor-core peaks of ``peak_ops_per_s``;
depthwise, elementwise and other layers the CUDA-core peaks of
``vector_ops_per_s`` where the spec gives them. Fit: weights + live
activations within device memory.
"""

from __future__ import annotations

from analyzer.core.hookspecs import hookimpl
from analyzer.plugins.hardware.roofline import RooflineModel


class GpuRoofline(RooflineModel):
    name = "roofline-gpu"
    device_class = "gpu"


@hookimpl
def analyzer_register_hardware_models(register):
    register(GpuRoofline())
