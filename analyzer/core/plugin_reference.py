"""docs/plugin-reference.md, generated from the hookspec docstrings and the public types (as pytest does).

    python -c "from analyzer.core.plugin_reference import render; print(render(), end='')" > docs/plugin-reference.md

``tests/docs/test_plugin_reference.py`` fails when the file and the code part
(``ANALYZER_UPDATE_DOCS=1`` rewrites it), so the reference never drifts from
the contracts it describes.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from typing import Any

# (module, names): the types a plugin author meets, in the order a reader needs them
PUBLIC_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("analyzer.core.metric", ("Metric", "Quantity", "Ratio", "Option", "MetricContext", "MetricResult")),
    ("analyzer.core.layers", ("Layer",)),
    ("analyzer.core.formulas", ("OpView",)),
    ("analyzer.core.ops", ("OpDef", "Category", "OpVocabulary")),
    ("analyzer.core.passes", ("CanonicalPass",)),
    ("analyzer.core.frontend", ("Frontend",)),
    ("analyzer.core.recorder", ("Recorder",)),
    ("analyzer.core.hardware", ("HardwareModel", "DeviceResult")),
    ("analyzer.core.devices", ("DeviceSpec", "MemoryLevel", "Figure")),
    ("analyzer.core.reporter", ("Reporter",)),
)

HEADER = """# Plugin reference

Generated from the hook specifications (`analyzer/core/hookspecs.py`) and
the docstrings of the public types by `analyzer/core/plugin_reference.py`;
`tests/docs/test_plugin_reference.py` keeps this file in step with the code.
The guide with worked examples is [plugins.md](plugins.md); a complete
out-of-tree package is `examples/plugins/analyzer-bitops/`.

Everything below is importable from `analyzer` (`from analyzer import
hookimpl, Metric, Quantity, ...`) or from the module named in each heading.
"""


def _doc(obj: Any) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def _signature(fn: Any, name: str) -> str:
    try:
        sig = str(inspect.signature(fn))
    except (TypeError, ValueError):
        return f"{name}(...)"
    return f"{name}{sig}"


def hooks() -> list[str]:
    """One section per hook, in the order of hookspecs.py."""
    from analyzer.core import hookspecs

    out = ["## Hooks", "", "Implement any of these in a plugin module with `@hookimpl` "
           "(`from analyzer import hookimpl`); the entry point group is `analyzer`.", ""]  # fmt: skip
    specs = [(n, f) for n, f in vars(hookspecs).items() if n.startswith("analyzer_") and callable(f)]
    specs.sort(key=lambda item: item[1].__code__.co_firstlineno)
    for name, fn in specs:
        out += [f"### `{_signature(fn, name)}`", "", _doc(fn), ""]
    return out


def _fields(cls: type) -> list[str]:
    if dataclasses.is_dataclass(cls):
        rows = []
        for f in dataclasses.fields(cls):
            if f.name.startswith("_"):
                continue
            default = ""
            if f.default is not dataclasses.MISSING:
                default = f" = {f.default!r}"
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f" = {f.default_factory.__name__}()"  # type: ignore[misc]
            rows.append(f"- `{f.name}: {_type_text(f.type)}{default}`")
        return rows
    fields = getattr(cls, "model_fields", None)  # pydantic
    if fields:
        return [f"- `{n}: {_type_text(f.annotation)}`" for n, f in fields.items()]
    if issubclass(cls, enum.Enum):
        return [f"- `{m.name}` = `{m.value!r}`" for m in cls]
    hints = {k: v for k, v in getattr(cls, "__annotations__", {}).items() if not k.startswith("_")}
    return [f"- `{n}: {_type_text(t)}` (class attribute, default `{getattr(cls, n, None)!r}`)" for n, t in hints.items()]


def _type_text(t: Any) -> str:
    return t if isinstance(t, str) else getattr(t, "__name__", None) or str(t).replace("typing.", "")


def _methods(cls: type) -> list[str]:
    rows = []
    for name, member in vars(cls).items():
        if name.startswith("_") or name in ("model_config", "model_fields"):
            continue
        fn = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
        if not callable(fn) or (dataclasses.is_dataclass(cls) and name in {f.name for f in dataclasses.fields(cls)}):
            continue
        first = (_doc(fn).split("\n\n") or [""])[0].replace("\n", " ")
        label = f"`{name}` (property)" if isinstance(member, property) else f"`{_signature(fn, name)}`"
        rows.append(f"- {label}" + (f": {first}" if first else ""))
    return rows


def types() -> list[str]:
    import importlib

    out = ["## Public types", ""]
    for module_name, names in PUBLIC_TYPES:
        module = importlib.import_module(module_name)
        for name in names:
            cls = getattr(module, name)
            out += [f"### `{name}` ({module_name})", "", _doc(cls), ""]
            fields = _fields(cls)
            if fields:
                out += ["Fields:", "", *fields, ""]
            methods = _methods(cls)
            if methods:
                out += ["Methods:", "", *methods, ""]
    return out


def render() -> str:
    lines = [HEADER, *hooks(), *types()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip() + "\n"
