"""Capture through ``torch.export`` and conversion of ExportedPrograms (``.pt2`` files).

``torch.export.export`` traces with fake tensors (no weights computed on)
and returns ATen ops at the same level the dispatch trace sees, each with
its module path in ``nn_module_stack``; the same op table converts them.
Parameters, buffers and lifted constants come from the program's graph
signature, named by their module paths.
"""

from __future__ import annotations

import contextlib
import io
import logging
import operator
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from torch.export.graph_signature import InputKind, OutputKind, TensorArgument

from analyzer.core.errors import AnalysisError
from analyzer.core.graph import Graph
from analyzer.core.ir import Param
from analyzer.plugins.frontends.torch.archive import read_pt2, refuse_pickle_file
from analyzer.plugins.frontends.torch.aten_table import lookup
from analyzer.plugins.frontends.torch.call import Call, op_info
from analyzer.plugins.frontends.torch.handlers import unknown
from analyzer.plugins.frontends.torch.inputs import ModelInputs
from analyzer.plugins.frontends.torch.params import ModuleState, dtype_name, name_role
from analyzer.plugins.frontends.torch.program_file import deserialize
from analyzer.plugins.frontends.torch.program_json import UnsafeProgram
from analyzer.plugins.frontends.torch.recorder import Recorder, V

_STRICT_PATH = re.compile(r"getattr\((.*), '([^']*)'\)")


def export_model(model: Any, inputs: ModelInputs) -> Any:
    """``torch.export.export`` (non-strict) with MultiheadAttention's fused fast path off.

    On failure torch logs and prints the partial graph at length; the caller
    reports a failure in one line, so torch's loggers and stderr are quiet here.
    """
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    loggers = [
        logging.getLogger(n)
        for n in ("torch", "torch.fx.experimental.symbolic_shapes", "torch.export")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. LSTM's "_flat_weights assigned during export"
            return torch.export.export(model, tuple(inputs.args), dict(inputs.kwargs), strict=False)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def load_program(path: Path) -> Any:
    """Read a ``.pt2`` archive without running anything from it (see ``archive``, docs/security.md).

    Pickle files are refused by suffix. A ``.pt2`` is checked entry by entry
    and deserialized without ``torch.export.load`` (which unpickles parts of
    the archive): weights as shapes only, no sample inputs. torch's warnings
    and log lines are silenced so that any failure is one line.
    """
    refuse_pickle_file(path)
    contents = read_pt2(path)
    loggers = [logging.getLogger(n) for n in ("torch", "torch._export", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return deserialize(contents)
    except UnsafeProgram as e:
        raise AnalysisError(
            f"{path}: refused, entry '{contents.program_entry}': {e} (nothing from the file was run)"
        ) from None
    except Exception as e:  # a corrupt or incompatible program
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise AnalysisError(
            f"{path}: not a readable torch.export archive ({type(e).__name__}: {first})"
        ) from None
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _scope(node: Any) -> str:
    stack = node.meta.get("nn_module_stack")
    if not stack:
        return ""
    key, (path, _cls) = next(reversed(stack.items()))
    path = path.removeprefix("L['self']").removeprefix("L__self__").lstrip(".")
    while (
        m := _STRICT_PATH.search(path)
    ) is not None:  # strict-mode paths: getattr(L['self'].layer1, '0')
        path = path[: m.start()] + f"{m.group(1)}.{m.group(2)}" + path[m.end() :]
    path = re.sub(r"\[(\d+)\]", r".\1", path).replace("L['self'].", "").lstrip(".")
    _, at, k = key.rpartition("@")
    return f"{path}@{k}" if at and k.isdigit() and path else path


def _vals(val: Any) -> list[V | None]:
    items = val if isinstance(val, list | tuple) else [val]
    return [
        V(tuple(int(d) for d in t.shape), dtype_name(t.dtype))
        if isinstance(t, torch.Tensor)
        else None
        for t in items
    ]


def _decompose_unknown(ep: Any) -> Any:
    """Decompose ops the table does not map but PyTorch can express in smaller ops (tensordot...)."""
    unmapped = {
        n.target for n in ep.graph.nodes
        if n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload)
        and lookup(op_info(n.target)[0]) is None
    }  # fmt: skip
    if not unmapped:
        return ep
    table = torch.export.default_decompositions()
    ops = {op: table[op] for op in unmapped if op in table}
    if not ops:
        return ep
    with warnings.catch_warnings():  # torch's own deprecation noise while it retraces
        warnings.simplefilter("ignore", FutureWarning)
        return ep.run_decompositions(ops)


def program_to_graph(
    ep: Any, name: str, input_names: list[str] | None = None, state: ModuleState | None = None
) -> Graph:
    """Convert an ExportedProgram into the IR (``state``: the exported module's own parameters)."""
    ep = _decompose_unknown(ep)
    sig = ep.graph_signature
    kinds = {s.arg.name: s for s in sig.input_specs if isinstance(s.arg, TensorArgument)}
    params, fixed = (list(state.params), set(state.explicit)) if state else ([], set())
    aliases = state.aliases if state else {}
    known = {p.name for p in params}
    targets: dict[str, str] = {}
    for spec in sig.input_specs:
        if spec.kind not in (InputKind.PARAMETER, InputKind.BUFFER) or spec.target is None:
            continue
        target = targets[spec.arg.name] = aliases.get(spec.target, spec.target)
        if target in known:
            continue
        known.add(target)
        t = ep.state_dict.get(spec.target, ep.constants.get(spec.target))
        buffer = spec.kind is InputKind.BUFFER
        role = name_role(target)
        if role:
            fixed.add(target)
        trainable = not buffer and bool(getattr(t, "requires_grad", True))
        params.append(
            Param(target, tuple(t.shape), dtype_name(t.dtype), trainable, buffer, role or "weight")
        )
    rec = Recorder(name, params, fixed)
    env: dict[str, Any] = {}
    user = iter(input_names or ())
    outputs: list[Any] = []
    for node in ep.graph.nodes:
        if node.op == "placeholder":
            spec = kinds.get(node.name)
            val = node.meta.get("val")
            if spec is None or not isinstance(val, torch.Tensor):
                env[node.name] = val
            elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
                env[node.name] = rec.param(targets[node.name])
            elif spec.kind is InputKind.USER_INPUT:
                env[node.name] = rec.input(
                    next(user, node.name), tuple(val.shape), dtype_name(val.dtype)
                )
            else:  # lifted constant tensors
                env[node.name] = rec.constant(
                    tuple(val.shape), dtype_name(val.dtype), spec.target or node.name
                )
        elif node.op == "call_function":
            args, kwargs = torch.fx.node.map_arg((node.args, node.kwargs), lambda n: env[n.name])
            if node.target is operator.getitem:
                env[node.name] = args[0][args[1]]
                continue
            outs = _vals(node.meta.get("val"))
            rec.scope = _scope(node)
            if isinstance(node.target, torch._ops.OpOverload):
                handler = lookup(op_info(node.target)[0]) or unknown
                handler(rec, Call(node.target, args, kwargs, [o for o in outs if o is not None]))
            else:  # higher-order ops (cond, while_loop...), Python callables
                ins = [
                    a for a in torch.utils._pytree.tree_leaves((args, kwargs)) if isinstance(a, V)
                ]
                rec.emit(
                    "unknown",
                    ins,
                    [o for o in outs if o is not None],
                    {},
                    str(node.target),
                    "unknown",
                )
            env[node.name] = (
                outs
                if isinstance(node.meta.get("val"), list | tuple)
                else outs[0]
                if outs
                else None
            )
        elif node.op == "output":
            results = torch.fx.node.map_arg(node.args[0], lambda n: env[n.name])
            for spec, value in zip(sig.output_specs, results, strict=False):
                if spec.kind is OutputKind.USER_OUTPUT and isinstance(value, V):
                    outputs.append(value)
    graph = rec.finish(outputs)
    graph.meta["capture"] = "torch.export"
    graph.meta.setdefault("warnings", [])
    return graph
