"""Plugin loading: one path for built-in and third-party plugins.

``load_plugins()`` makes a fresh pluggy manager, registers the built-in
plugin modules (``analyzer.plugins.BUILTIN_PLUGINS``) and then the
entry-point plugins of group ``analyzer``, skipping any blocked name, and
collects what their hooks register into a ``PluginSet``. Nothing is global:
each call builds a new set (``default_plugins()`` caches one for the API).

Block plugins with ``block=[...]``, the ``--block-plugin`` CLI flag or the
``ANALYZER_BLOCK_PLUGINS`` environment variable (comma-separated names).
``ANALYZER_LOAD_PLUGINS`` is an allow-list (as llm's ``LLM_LOAD_PLUGINS``):
when set, only the entry-point plugins it names are loaded, and the empty
string loads the built-ins only (the test suite runs that way).
Built-in names are module paths below ``analyzer.plugins``
(``frontends.torch``, ``metrics.macs``); entry-point plugins go by their
entry-point name.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import pluggy

from analyzer.core import hookspecs
from analyzer.core.devices import DeviceCatalog, DeviceSpec, device_dirs
from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.formulas import FormulaTables
from analyzer.core.frontend import Frontend
from analyzer.core.hardware import HardwareModel
from analyzer.core.metric import Metric, Ratio
from analyzer.core.op_mappings import OpMappings
from analyzer.core.ops import OpVocabulary
from analyzer.core.passes import BUILTIN_PASSES, CanonicalPass
from analyzer.core.reporter import Reporter

ENTRY_POINT_GROUP = "analyzer"
BLOCK_ENV = "ANALYZER_BLOCK_PLUGINS"
LOAD_ENV = "ANALYZER_LOAD_PLUGINS"
BUILTIN_PREFIX = "analyzer.plugins."


def blocked_from_env() -> set[str]:
    return {n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()}


def allowed_from_env() -> set[str] | None:
    """The entry-point names ``ANALYZER_LOAD_PLUGINS`` allows; None when it is unset (load all)."""
    raw = os.environ.get(LOAD_ENV)
    return None if raw is None else {n.strip() for n in raw.split(",") if n.strip()}


def make_plugin_manager(
    *, block: Iterable[str] = (), entry_points: bool = True, extra: Iterable[object] = ()
) -> pluggy.PluginManager:
    """A new manager with built-ins, entry points (unless disabled) and ``extra`` plugin objects."""
    from analyzer.plugins import BUILTIN_PLUGINS

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in set(block) | blocked_from_env():
        pm.set_blocked(name)
    for module_name in BUILTIN_PLUGINS:
        name = module_name.removeprefix(BUILTIN_PREFIX)
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(module_name), name=name)
    if entry_points:
        allowed = allowed_from_env()
        # None loads every entry point; a name no entry point has loads nothing (the CLI warns)
        for name in [None] if allowed is None else sorted(allowed):
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()  # a misspelled hook name fails loudly
    return pm


class _Registry(dict):
    """A name -> item dict that refuses duplicates."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def add(self, item: Any) -> None:
        name = getattr(item, "name", "")
        if not name:
            raise ValueError(f"a {self.kind} needs a non-empty 'name'")
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self[name] = item


@dataclass
class PluginSet:
    """Everything the loaded plugins contribute."""

    pm: pluggy.PluginManager
    vocabulary: OpVocabulary = field(default_factory=OpVocabulary)
    formulas: FormulaTables = field(default_factory=FormulaTables)
    frontends: dict[str, Frontend] = field(default_factory=lambda: _Registry("frontend"))
    metrics: dict[str, Metric] = field(default_factory=lambda: _Registry("metric"))
    hardware_models: dict[str, HardwareModel] = field(default_factory=lambda: _Registry("hardware model"))
    reporters: dict[str, Reporter] = field(default_factory=lambda: _Registry("reporter"))
    devices: DeviceCatalog = field(default_factory=lambda: DeviceCatalog([]))
    origins: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> plugin name
    op_mappings: OpMappings = field(default_factory=OpMappings)  # frontend op -> canonical op, per framework
    passes: dict[str, CanonicalPass] = field(default_factory=lambda: _builtin_passes())  # in run order

    def plugin_passes(self) -> dict[str, str]:
        """Canonical passes added by plugins: name -> plugin (the built-in passes are not listed)."""
        return {name: plugin for (kind, name), plugin in self.origins.items() if kind == "canonical pass"}

    def check_op_mappings(self) -> None:
        """Mapped-to ops exist and each framework is a loaded frontend that takes op mappings
        (``takes_op_mappings``: a mapping no frontend reads would be ignored silently); a mapping
        for a blocked frontend is ignored."""
        blocked = set(self.blocked())
        for m in self.op_mappings:
            fe = self.frontends.get(m.framework)
            if fe is None and f"frontends.{m.framework}" not in blocked:
                raise UsageError(f"plugin {m.plugin} maps ops of framework {m.framework!r}, which no loaded "
                                 f"frontend has (frontends: {', '.join(self.frontends)})")  # fmt: skip
            if fe is not None and not getattr(fe, "takes_op_mappings", False):
                takers = ", ".join(n for n, f in self.frontends.items() if getattr(f, "takes_op_mappings", False))
                raise UsageError(f"plugin {m.plugin} maps ops of framework {m.framework!r}, whose frontend "
                                 f"takes no op mappings (frontends that do: {takers or 'none'})")  # fmt: skip
            if isinstance(m.target, str) and m.target not in self.vocabulary:
                raise UsageError(f"plugin {m.plugin} maps {m.framework} op {m.source_op!r} to {m.target!r}, "
                                 f"which is not in the op vocabulary (register it with analyzer_register_ops)")  # fmt: skip

    def origin(self, kind: str, name: str) -> str:
        """The plugin that registered metric/hardware model ``name`` ("registered in code" if unknown)."""
        return self.origins.get((kind, name), "registered in code")

    def check_quantities(self) -> None:
        """Quantity names are unique across metrics (checked when the set is loaded)."""
        owner: dict[str, Metric] = {}
        for m in self.metrics.values():
            names = [q.name for q in m.quantities]
            if len(set(names)) < len(names):
                twice = next(n for n in names if names.count(n) > 1)
                raise UsageError(f"metric {m.name!r} (plugin {self.origin('metric', m.name)}) declares "
                                 f"quantity {twice!r} twice")  # fmt: skip
            for q in m.quantities:
                first = owner.setdefault(q.name, m)
                if first is not m:
                    raise UsageError(
                        f"quantity {q.name!r} is emitted by metric {first.name!r} (plugin "
                        f"{self.origin('metric', first.name)}) and metric {m.name!r} (plugin "
                        f"{self.origin('metric', m.name)}); block one with --block-plugin"
                    )

    def _require(self, kind: str, name: str, requires: Iterable[str]) -> None:
        for req in requires:
            if req not in self.metrics:
                blocked = f"metrics.{req}" in self.blocked() or req in self.blocked()
                why = "which is blocked" if blocked else "which is not loaded"
                raise UsageError(f"{kind} {name!r} (plugin {self.origin(kind, name)}) requires metric {req!r}, {why}")

    def metric_order(self) -> list[Metric]:
        """Metrics in dependency order; a missing or circular requirement is an error."""
        for m in self.metrics.values():
            self._require("metric", m.name, m.requires)
        emitted = {q.name for m in self.metrics.values() for q in m.quantities}
        for m in self.metrics.values():
            for q in m.quantities:
                if isinstance(q.aggregate, Ratio):
                    for part in (q.aggregate.numerator, q.aggregate.denominator):
                        if part not in emitted:
                            raise UsageError(f"quantity {q.name!r} of metric {m.name!r} is a ratio of "
                                             f"{part!r}, which no loaded metric emits")  # fmt: skip
        try:
            order = TopologicalSorter({m.name: m.requires for m in self.metrics.values()}).static_order()
            return [self.metrics[n] for n in order]
        except CycleError as e:
            raise UsageError(f"metrics require each other in a cycle: {e.args[1]}") from None

    def registration_order(self, metrics: Iterable[Metric]) -> list[Metric]:
        """``metrics`` in the order their plugins were registered (built-ins first, in
        ``BUILTIN_PLUGINS`` order), each plugin's in the order it registered them: the
        order reports show quantities in (pluggy calls hooks last-registered first)."""
        rank = {name: i for i, (name, _) in enumerate(self.pm.list_name_plugin())}
        position = {name: i for i, name in enumerate(self.metrics)}
        return sorted(metrics, key=lambda m: (rank.get(self.origin("metric", m.name), len(rank)),
                                              position.get(m.name, len(position))))  # fmt: skip

    def hardware_model_for(self, device: DeviceSpec, choice: str | None = None) -> HardwareModel:
        """The hardware model evaluating ``device``: ``choice`` (the user's ``hardware_model``), else
        the one the device file names, else the only model loaded for its class.

        Several candidates and no choice is an error listing them: an installed plugin never
        silently replaces the built-in roofline. The chosen model's ``requires`` must be loaded.
        """
        cls = device.device_class
        candidates = [m for m in self.hardware_models.values() if m.serves(cls)]
        named = choice if choice and self.hardware_models.get(choice, None) in candidates else None
        named = named or getattr(device, "hardware_model", None)
        if named:
            model = self.hardware_models.get(named)
            if model is None:
                known = ", ".join(m.name for m in candidates) or "none"
                raise UsageError(f"device {device.name!r}: no hardware model named {named!r} is loaded "
                                 f"(models for class {cls!r}: {known})")  # fmt: skip
            if not model.serves(cls):
                raise UsageError(f"device {device.name!r}: hardware model {named!r} serves class "
                                 f"{_classes(model)}, not {cls!r}")  # fmt: skip
        elif len(candidates) == 1:
            model = candidates[0]
        elif not candidates:
            models = sorted(self.hardware_models.values(), key=lambda m: m.name)
            loaded = ", ".join(f"{m.name} ({_classes(m)})" for m in models) or "none"
            raise UsageError(f"device {device.name!r} is of class {cls!r}, which no loaded hardware model "
                             f"serves (loaded: {loaded}); install or unblock a plugin for it")  # fmt: skip
        else:
            listed = ", ".join(f"{m.name} ({self.origin('hardware model', m.name)})" for m in candidates)
            raise UsageError(f"device {device.name!r}: several hardware models serve class {cls!r}: {listed}; "
                             f"choose one with --hardware-model NAME (or hardware_model=NAME)")  # fmt: skip
        self._require("hardware model", model.name, model.requires)
        problems = model.validate_device(device)
        if problems:
            raise AnalysisError(f"{device.path or device.name}: {problems[0]} (hardware model {model.name})")
        return model

    def validate_device(self, device: DeviceSpec) -> None:
        """The checks of the hardware models serving ``device``'s class (``DeviceCatalog`` runs them).

        The model the file names checks it; else it must suit at least one model of its class
        (the one chosen for an analysis checks it again). A class no model serves is left to
        the analysis, which names the loaded models. AnalysisError names the file and field.
        """
        named = self.hardware_models.get(device.hardware_model or "")
        models = [named] if named else [m for m in self.hardware_models.values() if m.serves(device.device_class)]
        found = [(m, m.validate_device(device)) for m in models]
        if found and all(problems for _, problems in found):
            model, problems = found[0]
            raise AnalysisError(f"{device.path or device.name}: {problems[0]} (hardware model {model.name})")

    def check_hardware_options(self, options: Mapping[str, Any], models: Iterable[HardwareModel]) -> None:
        """``options.hardware`` keys must be some loaded model's; each model in use checks its values."""
        known = {k for m in self.hardware_models.values() for k in m.option_keys}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(f"unknown hardware option {unknown[0]!r}; known: {', '.join(sorted(known)) or 'none'}")
        for model in dict.fromkeys(models):
            problems = model.validate_options(options)
            if problems:
                raise UsageError(problems[0])

    def check_hardware_model_choice(self, choice: str | None, devices: Iterable[DeviceSpec]) -> None:
        """A named hardware model must exist and serve one of the devices analysed."""
        if choice is None:
            return
        model = self.hardware_models.get(choice)
        if model is None:
            raise UsageError(f"unknown hardware model {choice!r}; models: {', '.join(self.hardware_models) or 'none'}")
        classes = {d.device_class for d in devices}
        if not any(model.serves(c) for c in classes):
            raise UsageError(f"hardware model {choice!r} serves class {_classes(model)}, "
                             f"which none of the devices given is" + ("" if classes else " (give a --device)"))  # fmt: skip

    def reporter(self, name: str) -> Reporter:
        try:
            return self.reporters[name]
        except KeyError:
            raise UsageError(f"unknown format {name!r}; formats: {', '.join(self.reporters)}") from None

    def describe(self) -> list[dict[str, Any]]:
        """Loaded plugins with their hooks and origin (for ``python -m analyzer plugins``)."""
        dists = {id(p): d for p, d in self.pm.list_plugin_distinfo()}
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            if id(plugin) in dists:
                d = dists[id(plugin)]
                origin = f"entry point ({d.project_name} {d.version})"
            elif getattr(plugin, "__name__", "").startswith(BUILTIN_PREFIX):
                origin = "built-in"
            else:
                origin = "registered in code"
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            rows.append({"name": name, "origin": origin, "module": getattr(plugin, "__name__", repr(plugin)), "hooks": hooks})
        return rows

    def blocked(self) -> list[str]:
        return sorted(n for n, p in self.pm.list_name_plugin() if p is None)


def load_plugins(
    *, block: Iterable[str] = (), entry_points: bool = True, extra: Iterable[object] = ()
) -> PluginSet:
    """Build a fresh PluginSet: manager, then every registration hook."""
    pm = make_plugin_manager(block=block, entry_points=entry_points, extra=extra)
    ps = PluginSet(pm=pm)
    h = pm.hook
    _register_each(h.analyzer_register_ops, ps, "op", ps.vocabulary.add)  # type: ignore[attr-defined]
    _register_each(h.analyzer_register_formulas, ps, "formula", ps.formulas.register)  # type: ignore[attr-defined]
    _register_in_order(h.analyzer_register_op_mappings, functools.partial(_add_mapping, ps))  # type: ignore[attr-defined]
    _register_in_order(h.analyzer_register_passes, functools.partial(_add_pass, ps))  # type: ignore[attr-defined]
    _register_each(h.analyzer_register_frontends, ps, "frontend", ps.frontends.add)  # type: ignore[attr-defined]
    _register_each(h.analyzer_register_metrics, ps, "metric", ps.metrics.add)  # type: ignore[attr-defined]
    _register_each(h.analyzer_register_hardware_models, ps, "hardware model", ps.hardware_models.add)  # type: ignore[attr-defined]
    # reporters in registration order (built-ins first: table, json, csv...), as --help and errors list them
    _register_each(h.analyzer_register_reporters, ps, "reporter", ps.reporters.add, in_call_order=False)  # type: ignore[attr-defined]
    plugin_dirs = [p for dirs in h.analyzer_device_dirs() for p in dirs]
    ps.devices = DeviceCatalog(device_dirs(Path(p) for p in plugin_dirs), validate=ps.validate_device)
    ps.check_quantities()
    ps.check_op_mappings()
    for fe in ps.frontends.values():  # frontends that price ops while converting get this set, not a global one
        bind = getattr(fe, "bind_plugins", None)
        if callable(bind):
            bind(ps)
    return ps


def _classes(model: HardwareModel) -> str:
    """``'cpu'`` or ``'cpu', 'gpu'``: the classes a model serves, for messages."""
    return ", ".join(repr(c) for c in model.device_classes) or "none"


def _register_each(hook: Any, ps: PluginSet, kind: str, add: Any, in_call_order: bool = True) -> None:
    """Call each implementation of ``hook`` in pluggy's order, remembering which plugin registered what.

    (Calling the hook as a whole would lose the plugin, which error messages name.)
    """
    impls = hook.get_hookimpls()  # registration order; pluggy calls the last registered first
    for impl in reversed(impls) if in_call_order else impls:

        def register(*item: Any, _plugin: str = impl.plugin_name) -> None:
            name = getattr(item[0], "name", "") if len(item) == 1 else ""
            if name and (kind, name) in ps.origins:
                raise UsageError(f"{kind} {name!r} is registered by plugin {ps.origins[(kind, name)]} and by plugin "
                                 f"{_plugin}; block one with --block-plugin NAME")  # fmt: skip
            try:
                add(*item)
            except ValueError as e:  # an empty name, an op already in the vocabulary, a formula twice...
                raise UsageError(f"plugin {_plugin}: {e}") from None
            if name:
                ps.origins[(kind, name)] = _plugin

        impl.function(**{arg: register for arg in impl.argnames})


def _register_in_order(hook: Any, add: Any) -> None:
    """Call each implementation of ``hook`` in plugin registration order (built-ins, entry points,
    plugins given in code), its ``register(*item)`` calling ``add(plugin_name, *item)``."""
    for impl in hook.get_hookimpls():  # registration order (pluggy calls them in reverse)
        register = functools.partial(add, impl.plugin_name)
        impl.function(**{arg: register for arg in impl.argnames})


def _add_mapping(ps: PluginSet, plugin: str, framework: str, source_op: str, target: Any) -> None:
    ps.op_mappings.add(framework, source_op, target, plugin)


def _builtin_passes() -> _Registry:
    passes = _Registry("canonical pass")
    for p in BUILTIN_PASSES:
        passes.add(p)
    return passes


def _add_pass(ps: PluginSet, plugin: str, p: CanonicalPass) -> None:
    if not isinstance(p, CanonicalPass) or not callable(p.run):
        raise UsageError(f"plugin {plugin} registered {p!r}, not a CanonicalPass(name, run, doc)")
    if p.name in ps.passes:
        first = ps.origin("canonical pass", p.name) if ("canonical pass", p.name) in ps.origins else "built-in"
        raise UsageError(f"canonical pass {p.name!r} is registered by {first} and by plugin {plugin}")
    ps.passes[p.name] = p
    ps.origins[("canonical pass", p.name)] = plugin


@functools.cache
def default_plugins() -> PluginSet:
    """The PluginSet the Python API uses when none is passed (built once per process)."""
    return load_plugins()
