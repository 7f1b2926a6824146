"""The hardware-model contract: turn metric results and a device spec into latency, energy, fit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer.core.devices import DeviceSpec
    from analyzer.core.metric import MetricContext


@dataclass(slots=True)
class DeviceResult:
    """The outcome on one device (``hardware[]`` in the report).

    ``bound`` is ``"compute"`` or ``"memory"`` for the model as a whole;
    ``fits`` is None where the model does not decide fit (no memory limit
    known). ``layers`` holds per-layer rows (latency, bound...), ``details``
    anything else (memory plan, batch sweep, assumptions).
    """

    device: str
    model: str
    latency_s: float
    throughput_per_s: float
    energy_j: float | None
    bound: str
    fits: bool | None
    layers: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "model": self.model,
            "latency_s": self.latency_s,
            "throughput_per_s": self.throughput_per_s,
            "energy_j": self.energy_j,
            "bound": self.bound,
            "fits": self.fits,
            "layers": self.layers,
            "details": self.details,
        }


class HardwareModel(ABC):
    """Predicts how a model runs on devices of one class.

    Set ``name`` (unique, e.g. ``"roofline-mcu"``), ``device_class``
    (``"cpu"``, ``"gpu"`` or ``"mcu"``) and ``requires`` (names of the
    metrics whose results ``evaluate`` reads, as ``ctx.result(name)``).
    A device is evaluated by the model the user names (``hardware_model``),
    else the one its device file names, else the only model of its class;
    a required metric that is blocked is an error naming both.
    """

    name: str = ""
    device_class: str = ""
    requires: tuple[str, ...] = ()

    @abstractmethod
    def evaluate(self, ctx: MetricContext, device: DeviceSpec) -> DeviceResult:
        """Predict for ``ctx`` (graph, layers, metric results, options) on ``device``.

        Hardware options (batch sweep, efficiency overrides) are in
        ``ctx.options.hardware``.
        """
