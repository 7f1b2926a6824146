"""SPEC strings: where the CLI finds a model.

- ``path/to/file.py:NAME`` — NAME from a Python file (imported as a module,
  its directory put on sys.path while it imports);
- ``package.module:NAME`` — NAME from an importable module;
- ``path/to/file`` — a saved model or saved graph, read by the frontend
  whose ``file_suffixes`` include its suffix; a suffix no frontend claims
  goes to the frontend whose optional ``accepts_file(path)`` recognises the
  content (an ONNX file saved without ``.onnx``).

NAME (dots allowed: ``zoo:models.alexnet``) is a model, or a mapping
``{"model", "inputs", "params", "framework", "name", "frontend_options"}``,
or a zero-argument callable returning either.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError, missing_framework
from analyzer.core.plugins import PluginSet

MAPPING_KEYS = frozenset({"model", "inputs", "params", "framework", "name", "frontend_options"})


@dataclass
class ModelSpec:
    """A resolved SPEC: what to hand to ``analyze``."""

    model: Any
    inputs: Any = None
    params: Any = None
    framework: str | None = None
    name: str | None = None
    frontend_options: dict[str, Any] = field(default_factory=dict)


def _one_line(e: BaseException) -> str:
    missing = missing_framework(e)
    if missing is not None:
        return missing[1]
    text = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise AnalysisError(f"no such file: {path}")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    mod_name = f"_analyzer_spec_{path.stem}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise AnalysisError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[mod_name]
        raise AnalysisError(f"{path}: importing it failed: {_one_line(e)}") from e
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and name.startswith(e.name) and missing_framework(e) is None:
            raise AnalysisError(f"no module named {e.name!r}") from e
        raise AnalysisError(f"importing {name!r} failed: {_one_line(e)}") from e
    except Exception as e:
        raise AnalysisError(f"importing {name!r} failed: {_one_line(e)}") from e


def _zero_arg_callable(obj: Any) -> bool:
    if not (inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isclass(obj)
            or isinstance(obj, functools.partial)):  # fmt: skip
        return False
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()
    )


def _from_mapping(m: Mapping[str, Any], where: str) -> ModelSpec:
    unknown = sorted(set(m) - MAPPING_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(sorted(MAPPING_KEYS))})")
    if "model" not in m:
        raise UsageError(f"{where}: the mapping has no 'model' key")
    return ModelSpec(
        model=m["model"], inputs=m.get("inputs"), params=m.get("params"), framework=m.get("framework"),
        name=m.get("name"), frontend_options=dict(m.get("frontend_options") or {}),
    )  # fmt: skip


def _required_args(obj: Any) -> list[str]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [n for n, p in sig.parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]  # fmt: skip


def resolve_object(obj: Any, where: str, plugins: PluginSet, framework: str | None = None) -> ModelSpec:
    """Turn NAME's value into a ModelSpec (calling a zero-argument factory once).

    A callable that takes arguments and that no frontend accepts is refused
    unless ``framework`` names the frontend (a functional model).
    """
    for attempt in range(2):
        if isinstance(obj, Mapping):
            return _from_mapping(obj, where)
        if any(fe.accepts(obj) for fe in plugins.frontends.values()):
            return ModelSpec(model=obj)
        if attempt == 0 and _zero_arg_callable(obj):
            try:
                obj = obj()
            except Exception as e:
                raise AnalysisError(f"{where}: calling it failed: {_one_line(e)}") from e
            continue
        break
    if callable(obj) and framework is not None:
        return ModelSpec(model=obj)  # a functional model of the named framework
    if callable(obj) and (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
        args = ", ".join(_required_args(obj))
        what = "a class whose constructor needs" if inspect.isclass(obj) else "a function that needs"
        raise AnalysisError(
            f"{where} is {what} arguments ({args}); NAME must be a model, a mapping, or a factory "
            "callable without arguments (wrap it: def model(): return ...(...)); a functional model "
            "needs --framework"
        )
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    raise AnalysisError(f"{where} is not a model: no frontend accepts a {kind}")


def resolve_spec(spec: str, plugins: PluginSet, framework: str | None = None) -> ModelSpec:
    """Resolve a SPEC string (see the module docstring); ``framework`` is ``--framework``."""
    path = Path(spec)
    if path.is_file():
        if path.suffix == ".py":
            raise UsageError(f"{spec} is Python code: name the model in it, {spec}:NAME")
        return ModelSpec(model=path, framework=framework)  # the engine finds its reader, by suffix or content
    if path.is_dir():
        raise UsageError(f"{spec} is a directory: give a model file, path/file.py:NAME or package.module:NAME")
    module_ref, sep, attr = spec.rpartition(":")
    if not sep or not module_ref or not attr:
        if path.suffix:
            raise AnalysisError(f"no such file: {spec}")
        raise UsageError(f"bad SPEC {spec!r}: expected FILE, path/file.py:NAME or package.module:NAME")
    return resolve_object(import_attribute(module_ref, attr), f"{module_ref}:{attr}", plugins, framework)


def import_attribute(module_ref: str, attr: str) -> Any:
    """``attr`` (dots allowed) of a Python file (``path/file.py``) or an importable module."""
    if module_ref.endswith(".py") or "/" in module_ref or "\\" in module_ref:
        module = _import_file(Path(module_ref))
    else:
        module = _import_module(module_ref)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AnalysisError(f"{module_ref} has no attribute {attr!r}") from None
    return obj
