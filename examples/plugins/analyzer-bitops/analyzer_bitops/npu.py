"""``simple-npu``: a hardware model for devices of class ``npu``.

latency = sum over layers of (MACs / (MACs per cycle for the data type x clock)
+ the device's dispatch cost per layer); the device file gives both figures
(``devices/toy-npu.toml``), each with its source. Fit: weights + peak live
activations within the device's scratchpad.
"""

from __future__ import annotations

from analyzer import DeviceResult, HardwareModel


class SimpleNpu(HardwareModel):
    name = "simple-npu"
    device_classes = ("npu",)
    requires = ("compute", "model_size", "activations")
    option_keys = ("npu_dtype",)
    FIGURES = ("macs_per_cycle", "dispatch_s")

    def validate_device(self, device):
        problems = [f"field {k!r}: not a figure of an npu (figures: {', '.join(self.FIGURES)})"
                    for k in device.extra_figures if k not in self.FIGURES]  # fmt: skip
        if not isinstance(device.extra_figures.get("macs_per_cycle"), dict):
            problems.append("field 'macs_per_cycle': an npu needs MACs per cycle by data type (macs_per_cycle.int8)")
        if "dispatch_s" not in device.extra_figures:
            problems.append("field 'dispatch_s': an npu needs a dispatch cost per layer")
        if device.clock_hz is None:
            problems.append("field 'clock_hz': an npu needs its clock")
        return problems

    def validate_options(self, options):
        dtype = options.get("npu_dtype", "int8")
        if not isinstance(dtype, str):
            return [f"hardware option 'npu_dtype' must be a data type name such as int8, got {dtype!r}"]
        return []

    def evaluate(self, ctx, device):
        dtype = ctx.options.hardware.get("npu_dtype", "int8")
        per_cycle = device.extra_figures["macs_per_cycle"].get(dtype)
        if per_cycle is None:
            known = ", ".join(device.extra_figures["macs_per_cycle"])
            raise ValueError(f"{device.name} has no macs_per_cycle for {dtype!r} (it has {known})")
        rate = per_cycle.value * device.clock_hz.value
        dispatch = device.extra_figures["dispatch_s"].value
        compute = ctx.result("compute")
        layers = []
        for layer in ctx.layers:
            macs = compute.layers.get(layer.name, {}).get("macs", 0)
            layers.append({"name": layer.name, "latency_s": macs / rate + dispatch, "bound": "compute"})
        latency = sum(r["latency_s"] for r in layers)
        weights = ctx.result("model_size").totals["model_size_bytes"]
        peak = ctx.result("activations").totals["peak_live_activation_bytes"]
        capacity = max(m.capacity_bytes.value for m in device.memory)
        fits = weights + peak <= capacity
        details = {"model": self.name, "dtype": dtype, "memory": {"fits": fits, "required_bytes": weights + peak,
                   "capacity_bytes": capacity, "margin_bytes": capacity - weights - peak}}  # fmt: skip
        return DeviceResult(device.name, self.name, latency, 1 / latency if latency else 0.0, None, "compute",
                            fits, layers, details)  # fmt: skip
