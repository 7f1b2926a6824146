"""Test helper: everything about a module tree that analyze() must leave as it was.

``fingerprint(model)`` walks every module's ``__dict__`` (parameters,
buffers, submodules, plain attributes, hook dicts, ``training``) and
describes each value: tensors by identity, class, device, dtype, shape,
strides, ``requires_grad`` and a copy of their values; containers by
identity, type and their items, recursively; other objects by identity
(and by value for plain scalars and strings). ``differences(before,
after)`` lists what changed, as readable paths. Written independently of
the frontend's own restore code, so that a gap there shows here.
"""

from __future__ import annotations

from typing import Any

import torch

_PLAIN = (bool, int, float, complex, str, bytes, type(None))


def _describe(value: Any, depth: int = 0) -> Any:
    if isinstance(value, torch.Tensor):
        data = None
        if value.device.type != "meta" and not isinstance(value, torch._subclasses.FakeTensor):
            data = value.detach().clone()
        return ("tensor", id(value), type(value).__name__, str(value.device), value.dtype,
                tuple(value.shape), value.stride(), value.requires_grad, data)  # fmt: skip
    if isinstance(value, torch.nn.Module):
        return ("module", id(value))
    if isinstance(value, _PLAIN):
        return ("plain", value)
    if isinstance(value, dict | list | tuple | set | frozenset) and depth < 6:
        if isinstance(value, dict):
            items = [(repr(k), _describe(v, depth + 1)) for k, v in value.items()]
        elif isinstance(value, set | frozenset):
            items = sorted(repr(v) for v in value)
        else:
            items = [_describe(v, depth + 1) for v in value]
        return ("container", id(value), type(value).__name__, items)
    return ("object", id(value), type(value).__name__)


def fingerprint(model: torch.nn.Module) -> dict[str, Any]:
    """``{"<module path>.<attr>": description}`` for every module (shared ones once)."""
    out: dict[str, Any] = {}
    for path, module in model.named_modules():
        out[f"{path or '<root>'}.__class__"] = ("class", type(module))
        for key, value in module.__dict__.items():
            out[f"{path or '<root>'}.{key}"] = _describe(value)
    return out


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b) or (
            a.is_floating_point() and torch.equal(a.isnan(), b.isnan())
            and torch.equal(a.nan_to_num(), b.nan_to_num())))  # fmt: skip
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two fingerprints: added, removed and changed attributes."""
    diffs = [f"added {k}" for k in after if k not in before]
    diffs += [f"removed {k}" for k in before if k not in after]
    diffs += [f"changed {k}: {_short(before[k])} -> {_short(after[k])}"
              for k in before if k in after and not _same(before[k], after[k])]  # fmt: skip
    return diffs


def _short(d: Any) -> str:
    if isinstance(d, tuple) and d and d[0] == "tensor":
        return f"tensor(id={d[1]}, {d[3]}, {d[4]}, {list(d[5])})"
    text = repr(d)
    return text if len(text) < 120 else text[:117] + "..."


def assert_unchanged(before: dict[str, Any], model: torch.nn.Module) -> None:
    diffs = differences(before, fingerprint(model))
    assert not diffs, f"{len(diffs)} change(s) to the module: " + "; ".join(diffs[:8])
