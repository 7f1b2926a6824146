"""An ExportedProgram from a checked ``.pt2`` archive, built with torch's deserializer but no pickle.

``archive.read_pt2`` hands over the program JSON (names, targets and
expressions checked, code-bearing fields dropped) and the weights and
constants configs. Weights and constants become one-element tensors broadcast to the
declared shape and dtype: nothing is read from the weight entries, no
memory is allocated for them, and a huge declared size costs nothing.
No sample inputs are passed (the deserializer would ``torch.load`` them);
input shapes come from the graph's placeholders.
"""

from __future__ import annotations

from typing import Any

import torch
from torch._export.serde import schema
from torch._export.serde.serialize import ExportedProgramDeserializer, _dict_to_dataclass

from analyzer.plugins.frontends.torch.archive import Pt2Contents
from analyzer.plugins.frontends.torch.program_json import UnsafeProgram

MAX_DIM = 2**48
OP_TYPES = (torch._ops.OpOverload, torch._ops.OpOverloadPacket, torch._ops.HigherOrderOperator)


def deserialize(contents: Pt2Contents) -> Any:
    """``contents`` as an ExportedProgram; ``UnsafeProgram`` for a target that is not an op."""
    for target in set(_targets(contents.program)):
        _check_resolved(target)
    program = _dict_to_dataclass(schema.ExportedProgram, contents.program)
    weights = {
        fqn: _stand_in(m, param=m.get("is_param", False)) for fqn, m in contents.weights.items()
    }
    constants = {fqn: _stand_in(m, param=False) for fqn, m in contents.constants.items()}
    ep = ExportedProgramDeserializer().deserialize(program, weights, constants, None)
    _check_weights_match_graph(ep)
    return ep


def _check_weights_match_graph(ep: Any) -> None:
    """Each weight's declared shape and dtype must be the one its placeholder has in the graph.

    The archive states them twice (the weights config and the program's
    tensor values); torch does not compare them, and a contradiction would
    otherwise be analysed as a different model. ValueError naming the weight.
    """
    values = {**ep.state_dict, **ep.constants}
    placeholders = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
    for spec in ep.graph_signature.input_specs:
        target = getattr(spec, "target", None)
        node = placeholders.get(getattr(spec.arg, "name", ""))
        tensor = values.get(target) if target is not None else None
        graph_val = node.meta.get("val") if node is not None else None
        if not isinstance(tensor, torch.Tensor) or not isinstance(graph_val, torch.Tensor):
            continue
        declared = (tuple(tensor.shape), tensor.dtype)
        in_graph = (tuple(graph_val.shape), graph_val.dtype)
        if declared != in_graph:
            raise ValueError(
                f"weight {target!r} is declared {list(declared[0])} {declared[1]} in the weights "
                f"config but {list(in_graph[0])} {in_graph[1]} in the graph"
            )


def _targets(doc: Any) -> Any:
    """Every op name in the program JSON: node targets and operators passed as arguments."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in ("target", "as_operator") and isinstance(value, str):
                yield value
            else:
                yield from _targets(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _targets(value)


def _check_resolved(target: str) -> None:
    """What torch will resolve ``target`` to must be an operator (not ``torch.ops.load_library``)."""
    if not target.startswith("torch.ops."):
        return  # _operator / math / torch.sym_* names are whitelisted by program_json
    obj: Any = torch
    for part in target.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return  # torch keeps it as an unresolved name: an unknown op for the analysis
    if not isinstance(obj, OP_TYPES):
        raise UnsafeProgram(f"op target {target!r} is not an operator")


def _stand_in(meta: dict[str, Any], *, param: bool) -> torch.Tensor:
    tm = meta.get("tensor_meta") or {}
    dtype = _dtype(tm.get("dtype"))
    sizes, strides = _ints(tm.get("sizes")), _ints(tm.get("strides"))
    if len(strides) != len(sizes):
        raise ValueError(f"sizes {sizes} and strides {strides} differ in rank")
    # one element broadcast to the declared shape: right shape, dtype and device, no memory
    # (meta tensors would clash with the CPU inputs when the program is retraced)
    t = torch.zeros((), dtype=dtype).expand(sizes)
    if param:
        return torch.nn.Parameter(t, requires_grad=bool(tm.get("requires_grad", False)))
    return t


def _dtype(code: Any) -> torch.dtype:
    from torch._export.serde.serialize import _SERIALIZE_TO_TORCH_DTYPE

    try:
        return _SERIALIZE_TO_TORCH_DTYPE[schema.ScalarType(code)]
    except (KeyError, ValueError):
        raise ValueError(f"unknown dtype code {code!r}") from None


def _ints(values: Any) -> list[int]:
    if not isinstance(values, list):
        raise ValueError("sizes/strides are not a list")
    out = []
    for v in values:
        n = v.get("as_int") if isinstance(v, dict) else None
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_DIM:
            raise ValueError(f"dimension {str(v)[:40]} is not an integer in [0, 2**48]")
        out.append(n)
    return out
