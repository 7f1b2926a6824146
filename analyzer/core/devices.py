"""Device specs: versioned TOML data files, validated by a pydantic schema.

Every figure is a table ``{value, source, kind}`` so that no number exists
without where it came from; units are in the key names (``_bytes``,
``_per_s``, ``_j``, ``_w``). See docs/hardware.md for the schema.

The schema here is the part every device shares: name, class, memory
levels, a source for every figure. Device classes are open (``cpu``,
``gpu``, ``mcu``, or a plugin's ``npu``), and so are the keys of the figure
tables (data types, op classes) and any top-level figure a plugin's device
adds (kept in ``extra_figures``): the hardware models serving a class check
those (``HardwareModel.validate_device``); ``DeviceCatalog`` runs that check
when a device is loaded through a plugin set.

Specs are found in ``analyzer/hardware_db/{cpu,gpu,mcu}/``, in directories
plugins return from ``analyzer_device_dirs``, in the user device directory
(``$XDG_CONFIG_HOME/analyzer/devices``, default ``~/.config/analyzer/devices``,
where ``python -m analyzer calibrate`` writes ``host.toml``) and in the
directories listed in the ``ANALYZER_DEVICE_PATH`` environment variable
(os.pathsep-separated). A later directory overrides a device of the same
name from an earlier one.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PositiveFloat,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from analyzer.core.errors import AnalysisError, UsageError

SCHEMA = "analyzer.device/1"
MAX_FILE_BYTES = 1 * 2**20  # a spec is a few KiB of figures and sources
ENV_VAR = "ANALYZER_DEVICE_PATH"
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "hardware_db"
FIGURE_KINDS = ("datasheet", "measured", "derived", "estimate")
Fraction = Annotated[float, Field(gt=0, le=1)]
KEY_PATTERN = r"^[a-z][a-z0-9_-]*$"  # device classes, memory kinds: open names, one spelling


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Figure(_Strict):
    """A number with its provenance."""

    value: PositiveFloat
    source: str = Field(min_length=3)
    kind: Literal["datasheet", "measured", "derived", "estimate"] = "datasheet"
    note: str = ""


class MemoryLevel(_Strict):
    """One level of the memory hierarchy.

    ``stores`` says what the hardware models may place there: weights
    (``"weights"``), activations (``"activations"``) or both. ``on_chip``
    levels hold weights that fit without touching off-chip memory. Levels
    are listed fastest first; ``kind`` says what the level is built from
    (default: ``sram`` on chip, ``dram`` off chip). Capacity and bandwidth
    are the whole device's (all cores or SMs together).
    """

    name: str
    on_chip: bool
    capacity_bytes: Figure
    bandwidth_bytes_per_s: Figure
    energy_per_byte_j: Figure | None = None
    stores: tuple[Literal["weights", "activations"], ...] = ("weights", "activations")
    kind: str | None = Field(default=None, pattern=KEY_PATTERN)  # the hardware models know which kinds

    @property
    def technology(self) -> str:
        return self.kind or ("sram" if self.on_chip else "dram")


def _figure_or_table(v: Any) -> str:
    return "table" if isinstance(v, dict) and "value" not in v else "figure"


# A device class's own top-level figure: one figure, or a table of them (``macs_per_cycle.int8``).
ExtraFigure = Annotated[
    Annotated[Figure, Tag("figure")] | Annotated[dict[str, Figure], Tag("table")],
    Discriminator(_figure_or_table),
]


class DeviceSpec(_Strict):
    """One device file (``analyzer.device/1``, docs/hardware.md): what every device has.

    The core checks the common fields below and that every figure has a
    source; keys it does not know are the device class's own figures
    (``extra_figures``: a ``Figure`` or a table of them), which the hardware
    model serving the class checks in ``validate_device``.
    """

    schema_: Literal["analyzer.device/1"] = Field(alias="schema")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    display_name: str
    device_class: str = Field(alias="class", pattern=KEY_PATTERN)  # open: cpu, gpu, mcu, a plugin's npu
    description: str = ""
    # Tables keyed by data type (fp32, int8...) or op class: the hardware models check the keys.
    peak_ops_per_s: dict[str, Figure] = Field(default_factory=dict)
    energy_per_op_j: dict[str, Figure] = Field(default_factory=dict)
    memory: tuple[MemoryLevel, ...] = Field(min_length=1)
    power_w: Figure | None = None
    efficiency: dict[str, Fraction] = Field(default_factory=dict)
    runtime_overhead_bytes: dict[str, Figure] = Field(default_factory=dict)
    # Additive fields (all optional): see docs/hardware.md.
    vector_ops_per_s: dict[str, Figure] = Field(default_factory=dict)  # non-matrix units (CUDA cores, SIMD)
    clock_hz: Figure | None = None
    cores: int | None = Field(default=None, gt=0)
    layer_overhead_s: Figure | None = None  # fixed cost per layer (kernel launch, framework dispatch)
    class_overhead_s: dict[str, Figure] = Field(default_factory=dict)  # the same, per op class (calibrated)
    references: tuple[str, ...] = ()
    hardware_model: str | None = None  # names the hardware model evaluating this device (docs/plugins.md)
    runtime: str | None = Field(default=None, pattern=KEY_PATTERN)  # software runtime (MCU: cmsis-nn...); its model checks it
    notes: str = ""
    # Top-level figures the common schema does not name (a plugin's device class): each is a
    # figure or a table of figures, so it has a source too; the models serving the class read them.
    extra_figures: dict[str, ExtraFigure] = Field(default_factory=dict)
    path: str = Field(default="", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _collect_extra_figures(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = {f.alias or n for n, f in cls.model_fields.items()} | set(cls.model_fields)
        extra = {k: v for k, v in data.items() if k not in known}
        if not extra:
            return data
        kept = {k: v for k, v in data.items() if k in known}
        return {**kept, "extra_figures": {**kept.get("extra_figures", {}), **extra}}

    @field_validator("memory")
    @classmethod
    def _unique_levels(cls, v: tuple[MemoryLevel, ...]) -> tuple[MemoryLevel, ...]:
        names = [m.name for m in v]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise ValueError(f"memory level {dup!r} is listed twice")
        return v

    def memory_level(self, name: str) -> MemoryLevel | None:
        return next((m for m in self.memory if m.name == name), None)


def _format_error(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    parts, msg = list(first["loc"]), first["msg"]
    if parts[:1] == ["extra_figures"] and len(parts) >= 3:  # the file's own key, without the union tag
        parts = parts[1:2] + parts[3:]
        msg = msg.replace("Input should be a valid dictionary or instance of Figure",
                          'a figure is a table {value = ..., source = "..."}')  # fmt: skip
    loc = ".".join(str(p) for p in parts) or "(top level)"
    return f"{path}: field {loc!r}: {msg}"


def load_device(path: Path, *, named_by_file: bool = True) -> DeviceSpec:
    """Read and validate one spec file; errors name the file and the field.

    ``named_by_file``: the file was found in a device directory, where a device
    is looked up by its file name, so ``name`` must equal the file stem. A file
    given by its path (``--device dir/board.toml``) keeps the ``name`` inside.
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise AnalysisError(f"{path}: larger than any device spec ({MAX_FILE_BYTES // 2**10} KiB at most)")
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise AnalysisError(f"{path}: not valid TOML ({e})") from None
    except OSError as e:
        raise AnalysisError(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise AnalysisError(f"{path}: not a text file (expected TOML)") from None
    except RecursionError:
        raise AnalysisError(f"{path}: not valid TOML (nested too deeply)") from None
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise AnalysisError(f"{path}: not valid TOML ({e})") from None
    try:
        spec = DeviceSpec.model_validate({**doc, "path": str(path)})
    except ValidationError as e:
        raise AnalysisError(_format_error(path, e)) from None
    if named_by_file and path.stem.lower() != spec.name:
        raise AnalysisError(
            f"{path}: field 'name': {spec.name!r} does not match the file name {path.stem!r} "
            f"(devices in a device directory are found by file name: rename it {spec.name}.toml)"
        )
    return spec


def user_device_dir() -> Path:
    """``$XDG_CONFIG_HOME/analyzer/devices`` (default ``~/.config/analyzer/devices``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "analyzer" / "devices"


def env_device_dirs() -> list[Path]:
    """The directories of ``$ANALYZER_DEVICE_PATH``, in order."""
    return [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]


def device_dirs(plugin_dirs: Iterable[Path] = ()) -> list[Path]:
    """Built-in DB, then plugin directories, the user directory, then ``$ANALYZER_DEVICE_PATH``."""
    return [BUILTIN_DIR, *plugin_dirs, user_device_dir(), *env_device_dirs()]


def _words(name: str) -> list[str]:
    """``raspberry-pi-4`` -> raspberry, pi, 4; ``a100-sxm-80gb`` -> a, 100, sxm, 80, gb."""
    return re.findall(r"[a-z]+|[0-9]+", name.lower())


def _abbreviates(query: str, words: list[str]) -> bool:
    """``query`` is a prefix of some of ``words`` (in order, at least one letter each) joined."""
    if not query:
        return True
    for i, word in enumerate(words):
        for k in range(min(len(word), len(query)), 0, -1):
            if query[:k] == word[:k] and _abbreviates(query[k:], words[i + 1 :]):
                return True
    return False


def _looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or os.sep in name


class DeviceCatalog:
    """Device specs by name, loaded lazily from the spec directories.

    Names match case-insensitively; a name that is a path (``board.toml``,
    ``dir/board``) loads that file. A malformed file is an error only when
    its device is asked for: listing (``all``) skips it with a warning. A
    file that replaces a device of the same name from an earlier directory
    (a user file shadowing a built-in) is reported in ``warnings`` when that
    device is listed or used. The CLI prints ``warnings`` on stderr.
    """

    def __init__(self, dirs: Iterable[Path], validate: Callable[[DeviceSpec], None] | None = None):
        self.dirs = list(dirs)
        self.validate = validate  # the hardware models' checks (PluginSet.validate_device): AnalysisError
        self._files: dict[str, Path] | None = None
        self._shadowed: dict[str, Path] = {}  # name -> the file it replaces
        self._loaded: dict[str, DeviceSpec] = {}
        self.warnings: list[str] = []

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _index(self) -> dict[str, Path]:
        if self._files is None:
            files: dict[str, Path] = {}
            for d in self.dirs:
                if d.is_dir():
                    for f in sorted(d.rglob("*.toml")):
                        key = f.stem.lower()
                        if key in files and files[key].resolve() != f.resolve():
                            self._shadowed[key] = files[key]
                        files[key] = f
            self._files = files
        return self._files

    def names(self) -> list[str]:
        return sorted(self._index())

    def suggest(self, name: str) -> list[str]:
        """Up to three known names close to ``name``: substring, abbreviation, then difflib.

        An abbreviation takes a prefix of each of some of the name's words in order
        (``rpi4`` -> ``raspberry-pi-4``, ``orin8`` -> ``jetson-orin-nano-8gb``).
        """
        key, names = name.lower(), self.names()
        near = [n for n in names if key in n]
        near += [n for n in names if _abbreviates(key, _words(n))]
        near += difflib.get_close_matches(key, names, n=3, cutoff=0.5)
        return list(dict.fromkeys(near))[:3]

    def _suggestion_hint(self, name: str) -> str:
        """The "did you mean" part of a miss: only devices that load are offered; a close
        name whose file is malformed is named as skipped, with its file's error."""
        good, skipped = [], []
        for n in self.suggest(name):
            try:
                self._load(n)
                good.append(repr(n))
            except AnalysisError as e:
                skipped.append(f"{n!r} was skipped: {e}")
        hint = f"; did you mean {' or '.join(good)}?" if good else ""
        return hint + "".join(f" ({s})" for s in skipped)

    def get(self, name: str) -> DeviceSpec:
        """The spec called ``name`` (or in the file ``name``); UsageError if there is none."""
        if _looks_like_path(name):
            path = Path(name).expanduser()
            if not path.is_file():
                raise UsageError(f"no such device file: {name}")
            key = str(path.resolve())
            if key not in self._loaded:
                self._loaded[key] = self._checked(load_device(path, named_by_file=False))
            return self._loaded[key]
        key = name.lower()
        if key not in self._loaded:
            path = self._index().get(key)
            if path is None:
                if key == "host":
                    raise UsageError("unknown device 'host'; run 'python -m analyzer calibrate' to measure this machine")
                hint = self._suggestion_hint(name)
                raise UsageError(f"unknown device {name!r}{hint} (list them: 'python -m analyzer devices')")
        self._load(key)
        old = self._shadowed.get(key)
        if old is not None:
            where = "the built-in one" if old.resolve().is_relative_to(BUILTIN_DIR) else str(old)
            self._warn(f"device {key!r} is read from {self._index()[key]}, which shadows {where} ({old})")
        return self._loaded[key]

    def _load(self, key: str) -> DeviceSpec:
        """The spec of the indexed file ``key`` (loaded once); AnalysisError if malformed."""
        if key not in self._loaded:
            self._loaded[key] = self._checked(load_device(self._index()[key]))
        return self._loaded[key]

    def _checked(self, spec: DeviceSpec) -> DeviceSpec:
        if self.validate is not None:
            self.validate(spec)
        return spec

    def all(self) -> list[DeviceSpec]:
        """Every device that loads; a malformed file is skipped with a warning naming it."""
        specs = []
        for n in self.names():
            try:
                specs.append(self.get(n))
            except AnalysisError as e:
                self._warn(f"skipped device file {e}")
        return specs
