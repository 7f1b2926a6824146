"""Choosing a capture path and falling back when it cannot capture the model.

Paths (``frontend_options={"capture": ...}``, CLI ``--capture``):

- ``meta`` (default): dispatch trace on meta tensors. Measured on ResNet-50
  (docs/frontends/torch.md) it is ~30x faster than ``torch.export`` and
  needs no weights; it fails only where Python needs tensor *values*
  (``if x.sum() > 0``), and then the real trace takes over.
- ``export``: ``torch.export``; falls back to ``meta`` (then ``real``) when
  export rejects the model.
- ``real``: dispatch trace running the model's own weights on small
  deterministic inputs (or the tensors given): the fallback for
  data-dependent control flow; impossible for weights on the meta device.

The path used is ``graph.meta["capture"]``; each failed attempt is a warning.
"""

from __future__ import annotations

from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensor

from analyzer.core.errors import AnalysisError, AnalyzerError, UsageError
from analyzer.core.graph import Graph
from analyzer.plugins.frontends.torch import dispatch
from analyzer.plugins.frontends.torch.export import export_model, program_to_graph
from analyzer.plugins.frontends.torch.inputs import model_inputs
from analyzer.plugins.frontends.torch.params import ModuleState, module_state

CAPTURES = {"meta": ("meta", "real"), "export": ("export", "meta", "real"), "real": ("real",)}
_VALUE_NEEDED = ("meta", "data-dependent", "data dependent", "item()", "guardondatadependent")


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"


def _needs_values(e: BaseException) -> bool:
    """Did the meta trace fail because Python needed a tensor's value (or a kernel has no meta form)?"""
    text = str(e).lower()
    return isinstance(e, NotImplementedError) or any(s in text for s in _VALUE_NEEDED)


def convert_program(ep: Any, inputs: Any) -> Graph:
    """An ExportedProgram (``.pt2``) as given: its inputs are fixed by the export."""
    if inputs is not None:
        given = model_inputs(inputs, "meta").tensors()
        fixed = [tuple(s.meta["val"].shape) for s in ep.graph.nodes if s.op == "placeholder"
                 and s.name in ep.graph_signature.user_inputs]  # fmt: skip
        if [tuple(t.shape) for t in given] != fixed:
            raise UsageError(
                f"the exported program takes inputs of shapes {fixed}; re-export it for other shapes"
            )
    return program_to_graph(ep, "exported_program")


def convert(model: Any, inputs: Any, capture: str = "meta") -> Graph:
    if capture not in CAPTURES:
        raise UsageError(
            f"unknown capture {capture!r} for PyTorch; choose one of: {', '.join(CAPTURES)}"
        )
    if isinstance(model, torch.export.ExportedProgram):
        return convert_program(model, inputs)
    model = getattr(model, "_orig_mod", model)  # torch.compile's wrapper
    is_module = isinstance(model, torch.nn.Module)
    if not is_module and not callable(model):
        raise AnalysisError(
            f"the torch frontend takes an nn.Module or a callable, not {type(model).__name__}"
        )
    name = type(model).__name__ if is_module else getattr(model, "__name__", "model")
    state = module_state(model) if is_module else ModuleState([], set(), {}, {}, {}, {})
    on_meta = any(
        t.device.type == "meta" or isinstance(t, FakeTensor) for t in state.tensors.values()
    )

    warnings: list[str] = []
    for i, path in enumerate(CAPTURES[capture]):
        if path == "export" and not is_module:
            warnings.append("torch.export needs an nn.Module; traced on meta tensors instead")
            continue
        if path == "real" and on_meta:
            why = f"{warnings[-1]}; " if warnings else ""
            raise AnalysisError(
                f"{name}: {why}the weights are on the meta device (or fake), so no real trace can run "
                "(give the model real weights or make its control flow depend on shapes only)"
            )
        try:
            graph = _run(path, model, inputs, state, name, on_meta)
        except AnalyzerError:
            raise
        except Exception as e:
            last = i == len(CAPTURES[capture]) - 1
            if last or (path == "meta" and not _needs_values(e)):
                raise AnalysisError(f"{name}: {path} capture failed: {_one_line(e)}") from e
            warnings.append(f"{path} capture failed ({_one_line(e)})")
            continue
        if i:
            graph.meta["capture"] = graph.meta["capture"].removesuffix(")") + ", fallback)"
            warnings.append(f"captured with {graph.meta['capture']}"
                            + ("; data-dependent branches follow the example inputs" if path == "real" else ""))  # fmt: skip
        graph.meta["warnings"] = warnings + list(graph.meta.get("warnings", []))
        return graph
    raise AssertionError("unreachable")


def _run(path: str, model: Any, inputs: Any, state: ModuleState, name: str, on_meta: bool) -> Graph:
    if path == "meta":
        return dispatch.trace(model, model_inputs(inputs, "meta"), state, name, meta=True)
    if path == "real":
        return dispatch.trace(model, model_inputs(inputs, "cpu"), state, name, meta=False)
    ins = model_inputs(inputs, "meta" if on_meta else "cpu")
    names = [ins.names.get(id(t), f"input{i}") for i, t in enumerate(ins.tensors())]
    ep = export_model(model, ins)
    return program_to_graph(ep, name, names, state)
