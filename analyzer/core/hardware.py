"""The hardware-model contract: turn metric results and a device spec into latency, energy, fit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
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
    """Predicts how a model runs on devices of the classes it serves.

    Set ``name`` (unique, e.g. ``"roofline-mcu"``), ``device_classes`` (the
    device classes it serves: any name, ``("npu",)``; a single
    ``device_class = "cpu"`` is the older spelling of the same),
    ``requires`` (names of the metrics whose results ``evaluate`` reads, as
    ``ctx.result(name)``) and ``option_keys`` (the keys of
    ``options.hardware`` it reads).

    The core checks only what every device has (name, class, memory levels,
    a source for every figure); each model checks the rest of a device file
    in ``validate_device`` and the values of its own options in
    ``validate_options``. A hardware option no loaded model declares is an
    error; an option of another model is not.

    A device is evaluated by the model the user names (``hardware_model``),
    else the one its device file names, else the only model serving its
    class; a required metric that is blocked is an error naming both.
    """

    name: str = ""
    device_classes: tuple[str, ...] = ()
    device_class: str = ""  # the first of device_classes (a model serving one class may set only this)
    requires: tuple[str, ...] = ()
    option_keys: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "device_classes" in own:
            cls.device_class = cls.device_classes[0] if cls.device_classes else ""
        elif "device_class" in own:
            cls.device_classes = (cls.device_class,) if cls.device_class else ()

    def serves(self, device_class: str) -> bool:
        return device_class in self.device_classes

    def validate_device(self, device: DeviceSpec) -> list[str]:
        """Problems of ``device`` for this model, one line each (``"field 'x': why"``); [] if none.

        Called when a device of a class it serves is loaded and before it is
        evaluated; the core has already checked the common fields.
        """
        return []

    def validate_options(self, options: Mapping[str, Any]) -> list[str]:
        """Problems with the values of this model's own keys in ``options``, one line each.

        ``options`` is the whole ``options.hardware`` mapping: keys other
        models declare are theirs, not an error here.
        """
        return []

    @abstractmethod
    def evaluate(self, ctx: MetricContext, device: DeviceSpec) -> DeviceResult:
        """Predict for ``ctx`` (graph, layers, metric results, options) on ``device``.

        Hardware options (batch sweep, efficiency overrides) are in
        ``ctx.options.hardware``.
        """
