"""A sweep file (TOML) or mapping, validated into a ``SweepPlan``.

Every error is one line naming the key (``sweep.toml: grid.width: ...``).
The format is documented in docs/sweeps.md.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.core.errors import UsageError
from analyzer.core.options import AnalysisOptions

TOP_KEYS = frozenset({"model", "grid", "configs", "devices", "batch", "weight_bits", "activation_bits",
                      "options", "hardware", "pareto", "top"})  # fmt: skip
MODEL_KEYS = frozenset({"factory", "specs", "name", "framework", "frontend_options"})
# row columns a configuration parameter may not take the name of
RESERVED = frozenset({"key", "config_id", "model", "spec", "device", "hardware_model", "batch", "weight_bits",
                      "activation_bits", "error", "analyzer_version", "complete", "latency_s", "throughput_per_s",
                      "energy_j", "bound", "fits", "pareto"})  # fmt: skip
DEFAULT_PARETO = ("latency_s:min", "macs:max")
# numeric hardware columns of a row (analyzer/sweep/rows.py), besides <level>_margin_bytes / _required_bytes
HARDWARE_COLUMNS = ("latency_s", "throughput_per_s", "energy_j", "margin_bytes", "required_bytes", "arena_bytes")
NATIVE = "native"  # a bit width of "native": each tensor's own dtype


@dataclass(frozen=True)
class Precision:
    """Weight and activation bit widths of one analysis (None: the tensors' own dtypes)."""

    weight_bits: int | None
    activation_bits: int | None


@dataclass(frozen=True)
class Task:
    """One model configuration at one batch size: captured once, analysed for every device and precision."""

    params: Mapping[str, Any]
    batch: int | None  # None: the batch the factory gives
    spec: str | None = None  # a configuration given as a SPEC instead of factory parameters

    @property
    def config_id(self) -> str:
        text = json.dumps({"params": dict(self.params), "batch": self.batch, "spec": self.spec}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SweepPlan:
    """What to run: the model source, the configurations, devices, precisions and options."""

    factory: str | None
    specs: tuple[str, ...]
    configs: tuple[Mapping[str, Any], ...]
    devices: tuple[str, ...]
    batches: tuple[int | None, ...]
    precisions: tuple[Precision, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    framework: str | None = None
    frontend_options: Mapping[str, Any] = field(default_factory=dict)
    pareto: tuple[tuple[str, str], ...] = tuple(tuple(o.split(":")) for o in DEFAULT_PARETO)  # type: ignore[misc]
    top: int | None = None
    base_dir: Path = Path(".")
    source: str = "sweep"  # the file (or "sweep"), for errors that name a key

    def tasks(self) -> list[Task]:
        """Every (configuration, batch) pair, in file order."""
        if self.specs:
            return [Task({}, b, spec) for spec in self.specs for b in self.batches]
        return [Task(dict(c), b) for c in self.configs for b in self.batches]

    def analysis_options(self, precision: Precision) -> AnalysisOptions:
        kwargs = dict(self.options)
        kwargs.update(weight_bits=precision.weight_bits, activation_bits=precision.activation_bits)
        return AnalysisOptions.from_kwargs(kwargs)

    def check(self, plugins: Any) -> None:
        """What can be checked before any task runs: devices exist, hardware options are known and valid.

        A mistake here would make every row an error; it is one line naming the key instead.
        """
        from analyzer.sweep.tasks import device_ref

        specs = []
        for name in self.devices:
            try:
                specs.append(plugins.devices.get(device_ref(name, self.base_dir)))
            except UsageError as e:
                raise UsageError(f"{self.source}: devices: {e}") from None
        try:
            models = [plugins.hardware_model_for(spec) for spec in specs]
            plugins.check_hardware_options(self.options.get("hardware", {}), models)
        except UsageError as e:
            raise UsageError(f"{self.source}: hardware: {e}") from None
        known = self.numeric_columns(plugins)
        for column, _sense in self.pareto:
            if column not in known and not (column.endswith(("_margin_bytes", "_required_bytes")) and specs):
                near = difflib.get_close_matches(column, sorted(known), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise UsageError(f"{self.source}: pareto: no numeric column {column!r}{hint}")

    def numeric_columns(self, plugins: Any) -> set[str]:
        """Columns a Pareto objective may name: totals of the loaded metrics, hardware results, parameters."""
        totals = {q.name for m in plugins.metrics.values() for q in m.quantities}
        params = {k for c in self.configs for k, v in c.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        return totals | set(HARDWARE_COLUMNS) | params | {"batch", "weight_bits", "activation_bits"}

    def source_id(self) -> str:
        """What the rows' keys depend on besides the configuration: model source and options."""
        text = json.dumps({"factory": self.factory, "name": self.name, "framework": self.framework,
                           "frontend_options": dict(self.frontend_options), "options": dict(self.options)},
                          sort_keys=True, default=str)  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_plan(path: str | Path) -> SweepPlan:
    """Read and validate a sweep TOML file; relative factory paths are relative to its directory."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"no such sweep file: {path}") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read it ({e.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: not valid TOML ({e})") from None
    return plan_from_mapping(doc, where=str(path), base_dir=path.resolve().parent)


def plan_from_mapping(doc: Mapping[str, Any], where: str = "sweep", base_dir: Path | None = None) -> SweepPlan:
    """Validate a sweep given as a mapping (the TOML document's structure)."""

    def fail(key: str, message: str) -> UsageError:
        return UsageError(f"{where}: {key}: {message}")

    if not isinstance(doc, Mapping):
        raise UsageError(f"{where}: a sweep is a table of keys ({', '.join(sorted(TOP_KEYS))})")
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (keys: {', '.join(sorted(TOP_KEYS))})")
    model = doc.get("model")
    if not isinstance(model, Mapping):
        raise fail("model", "missing: a table with 'factory' (file.py:NAME or module:NAME) or 'specs'")
    bad = sorted(set(model) - MODEL_KEYS)
    if bad:
        raise fail(f"model.{bad[0]}", f"unknown key (keys: {', '.join(sorted(MODEL_KEYS))})")
    factory, specs = model.get("factory"), model.get("specs")
    if (factory is None) == (specs is None):
        raise fail("model", "give exactly one of 'factory' and 'specs'")
    if factory is not None and (not isinstance(factory, str) or ":" not in factory):
        raise fail("model.factory", f"expected 'file.py:NAME' or 'module:NAME', got {factory!r}")
    if specs is not None and (not _str_list(specs) or not specs):
        raise fail("model.specs", "expected a non-empty list of SPEC strings")
    for key in ("name", "framework"):
        if key in model and not isinstance(model[key], str):
            raise fail(f"model.{key}", "expected a string")
    frontend_options = model.get("frontend_options", {})
    if not isinstance(frontend_options, Mapping):
        raise fail("model.frontend_options", "expected a table")

    configs = _configs(doc, factory is not None, fail)
    devices = doc.get("devices", [])
    if not _str_list(devices):
        raise fail("devices", "expected a list of device names or device TOML files")
    # no 'batch' key: each configuration at the batch its factory gives
    batches: tuple[int | None, ...] = _int_list(doc["batch"], "batch", fail) if "batch" in doc else (None,)
    weight_bits = _bits_list(doc.get("weight_bits", [NATIVE]), "weight_bits", fail)
    activation_bits = _bits_list(doc.get("activation_bits", [NATIVE]), "activation_bits", fail)
    precisions = tuple(Precision(w, a) for w, a in itertools.product(weight_bits, activation_bits))

    options = dict(doc.get("options", {}))
    if not isinstance(doc.get("options", {}), Mapping):
        raise fail("options", "expected a table of analysis options")
    for key in ("weight_bits", "activation_bits"):
        if key in options:
            raise fail(f"options.{key}", f"give bit widths as the top-level list '{key}'")
    hardware = doc.get("hardware", {})
    if not isinstance(hardware, Mapping):
        raise fail("hardware", "expected a table of hardware options")
    if hardware:
        options["hardware"] = dict(hardware)
    try:
        AnalysisOptions.from_kwargs(options)
    except (UsageError, TypeError) as e:
        raise fail("options", str(e)) from None
    pareto = _pareto(doc.get("pareto", list(DEFAULT_PARETO)), fail)
    top = doc.get("top")
    if top is not None and (not isinstance(top, int) or isinstance(top, bool) or top <= 0):
        raise fail("top", "expected a positive integer")
    return SweepPlan(
        factory=factory, specs=tuple(specs or ()), configs=configs, devices=tuple(devices),
        batches=batches, precisions=precisions, options=options, name=model.get("name"),
        framework=model.get("framework"), frontend_options=dict(frontend_options), pareto=pareto, top=top,
        base_dir=base_dir or Path.cwd(), source=where,
    )  # fmt: skip


def _configs(doc: Mapping[str, Any], has_factory: bool, fail: Any) -> tuple[Mapping[str, Any], ...]:
    grid, listed = doc.get("grid"), doc.get("configs")
    if not has_factory:
        if grid is not None or listed is not None:
            raise fail("grid" if grid is not None else "configs", "parameters need a model.factory to call")
        return ()
    if grid is not None and listed is not None:
        raise fail("grid", "give 'grid' or 'configs', not both")
    if listed is not None:
        if not isinstance(listed, Sequence) or isinstance(listed, str) or not all(isinstance(c, Mapping) for c in listed):
            raise fail("configs", "expected a list of tables ([[configs]])")
        configs = tuple(dict(c) for c in listed)
    else:
        grid = grid or {}
        if not isinstance(grid, Mapping):
            raise fail("grid", "expected a table of parameter lists")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise fail(f"grid.{key}", "expected a non-empty list of values")
        keys = list(grid)
        configs = tuple(dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys)))
    section = "configs" if listed is not None else "grid"
    for config in configs:
        for key in config:
            if key in RESERVED:
                raise fail(f"{section}.{key}", "is the name of a result column; rename the factory parameter")
    return configs or ({},)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _int_list(value: Any, key: str, fail: Any) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise fail(key, f"expected positive integers, got {value!r}")
    return tuple(values)


def _bits_list(value: Any, key: str, fail: Any) -> tuple[int | None, ...]:
    values = value if isinstance(value, list) else [value]
    out: list[int | None] = []
    for v in values:
        if v == NATIVE:
            out.append(None)
        elif isinstance(v, int) and not isinstance(v, bool) and v > 0:
            out.append(v)
        else:
            raise fail(key, f"expected positive integers or {NATIVE!r}, got {v!r}")
    if not out:
        raise fail(key, "expected at least one bit width")
    return tuple(out)


def _pareto(value: Any, fail: Any) -> tuple[tuple[str, str], ...]:
    if not _str_list(value) or len(value) < 2:
        raise fail("pareto", "expected at least two objectives such as 'latency_s:min', 'macs:max'")
    out = []
    for objective in value:
        column, sep, sense = objective.partition(":")
        if not sep or sense not in ("min", "max") or not column:
            raise fail("pareto", f"objective {objective!r} must be COLUMN:min or COLUMN:max")
        out.append((column, sense))
    return tuple(out)
