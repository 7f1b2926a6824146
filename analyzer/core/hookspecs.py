"""Every hook of the analyzer, in one place (pluggy project name ``analyzer``).

Hooks receive a ``register`` callback (as in simonw/llm) and call it once
per thing they contribute; they return nothing. pluggy calls the most
recently registered plugin first, so entry-point plugins register before
the built-ins (their frontends are asked first). Registering a
name that already exists raises ValueError, so two plugins cannot silently
replace each other; block one of them by name instead.

All hooks run once, when a ``PluginSet`` is loaded (``load_plugins()``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from analyzer.core.formulas import Formula
    from analyzer.core.frontend import Frontend
    from analyzer.core.hardware import HardwareModel
    from analyzer.core.metric import Metric
    from analyzer.core.op_mappings import Target
    from analyzer.core.ops import OpDef
    from analyzer.core.passes import CanonicalPass
    from analyzer.core.reporter import Reporter

PROJECT = "analyzer"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def analyzer_register_ops(register: Callable[[OpDef], None]) -> None:
    """Add canonical ops to the vocabulary.

    Call ``register(OpDef(name, category, doc))`` for each new op. Runs
    before the other registration hooks. An op already in the vocabulary is
    refused.
    """


@hookspec
def analyzer_register_op_mappings(register: Callable[[str, str, Target], None]) -> None:
    """Map a framework's own ops onto canonical ops, for the built-in frontends.

    Call ``register(framework, source_op, target)`` per op. ``framework`` is
    a frontend name: ``"torch"`` (``source_op`` an ATen-style op name,
    ``"mylib::my_op"`` or ``"mylib.my_op.default"``; every overload of the
    op), ``"keras"`` (a layer class name, ``"MyLayer"`` or
    ``"my_pkg.layers.MyLayer"``, or ``"ops.ClassName"`` for a ``keras.ops``
    operation) or ``"jax"`` (a primitive name). ``target`` is a canonical op
    name (the node reads the op's tensor operands, then a Keras layer's
    weights) or a handler with that frontend's own handler signature.
    Runs after ``analyzer_register_ops``, so the target may be a plugin op.
    The frontend consults these mappings before its own tables. Two
    plugins mapping the same source op are refused when the plugin set
    loads (the error names both); so is a target outside the vocabulary or
    a framework no loaded frontend has or whose frontend takes no mappings
    (``Frontend.takes_op_mappings``).
    """


@hookspec
def analyzer_register_passes(register: Callable[[CanonicalPass], None]) -> None:
    """Add canonical passes: ``register(CanonicalPass(name, run, doc))``.

    ``run(graph) -> Graph`` returns the graph unchanged or a new graph (never
    modifies its argument); a pass that changes something appends a line to
    the new graph's ``meta["passes"]``. Plugin passes run after the
    built-in ones, in plugin registration order; each is listed in the
    report's ``model.passes_run``; a name already registered is refused.
    """


@hookspec
def analyzer_register_frontends(register: Callable[[Frontend], None]) -> None:
    """Add frontends: ``register(frontend)`` for each ``Frontend`` instance.

    When the user gives no ``framework``, frontends are asked in
    registration order whether they ``accept`` the model; the first that
    does converts it.
    """


@hookspec
def analyzer_register_formulas(register: Callable[[str, str | Iterable[str], Formula], None]) -> None:
    """Add per-op formulas: ``register(table, op_or_ops, fn)``.

    ``table`` is ``"macs"``, ``"dots"``, ``"bias"`` or ``"flops"`` (see
    ``analyzer.core.formulas``); ``fn(view) -> int`` counts one execution of
    a node. A (table, op) pair already registered is refused. A formula
    wrapped in ``analyzer.core.formulas.signature_formula`` is evaluated once
    per distinct node signature (docs/plugins.md, "Example: an op formula").
    """


@hookspec
def analyzer_register_metrics(register: Callable[[Metric], None]) -> None:
    """Add metrics: ``register(metric)`` for each ``Metric`` instance.

    Metrics run in dependency order (``Metric.requires``); their quantities
    appear in the report's totals and layer rows under their names. A
    quantity name another metric already emits is refused when the plugin
    set loads (the error names both plugins); ``Quantity.aggregate`` says how
    layers combine (docs/plugins.md).
    """


@hookspec
def analyzer_register_hardware_models(register: Callable[[HardwareModel], None]) -> None:
    """Add hardware models: ``register(model)`` for each ``HardwareModel``.

    A model serves the device classes in its ``device_classes`` (any name:
    ``("npu",)``), checks a device file's class-specific figures in
    ``validate_device(spec)`` and the values of its ``option_keys`` in
    ``validate_options(options)``. A device is evaluated by the model the
    user names (``hardware_model``), else the one its device file names,
    else the only model serving its class; several candidates and no choice
    is an error listing them. A model's ``requires`` (metric names) must be
    loaded.
    """


@hookspec
def analyzer_device_dirs() -> Iterable[Path]:
    """Return directories holding device spec files (``*.toml``) to add to the catalog.

    Plugin directories come after the built-in DB and before
    ``$ANALYZER_DEVICE_PATH``; a later file overrides an earlier device of
    the same name.
    """


@hookspec
def analyzer_register_reporters(register: Callable[[Reporter], None]) -> None:
    """Add output formats: ``register(reporter)``; ``reporter.name`` is the ``--format`` value."""
