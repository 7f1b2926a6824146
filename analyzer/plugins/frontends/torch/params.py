"""Parameters and buffers of an nn.Module as IR ``Param``s, named by the module tree.

Tied tensors (one Parameter reachable under two names) are one ``Param``,
under the first name ``named_parameters`` gives. Roles come from the owning
module's type where it fixes them (norm affine -> ``scale``/``shift``,
running statistics -> ``mean``/``var``, ``num_batches_tracked`` ->
``counter``, embedding tables -> ``embedding``) and from the name
(``*bias*`` -> ``bias``); the op table refines the remaining ``weight``s by
how an op uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analyzer.core import dtypes
from analyzer.core.ir import Param

_NORM_ROLES = {"weight": "scale", "bias": "shift", "running_mean": "mean", "running_var": "var",
               "num_batches_tracked": "counter"}  # fmt: skip


_DTYPES: dict[Any, str] = {}


def dtype_name(dtype: Any) -> str:
    """``torch.float16`` -> ``"float16"`` (quantized ``torch.qint8`` -> ``"int8"``)."""
    name = _DTYPES.get(dtype)
    if name is None:
        name = _DTYPES[dtype] = dtypes.canonical(str(dtype))
    return name


def name_role(name: str) -> str | None:
    """The role a tensor's own name implies, or None (then it is a ``weight`` until used)."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("running_mean", "running_var", "num_batches_tracked"):
        return _NORM_ROLES[leaf]
    if leaf == "bias" or leaf.startswith("bias_") or leaf.endswith("_bias"):
        return "bias"
    return None


def _role_classes() -> tuple[tuple[type, ...], tuple[type, ...]]:
    import torch.nn as nn

    return (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm), (
        nn.Embedding,
        nn.EmbeddingBag,
    )


def _module_role(
    module: Any, leaf: str, classes: tuple[tuple[type, ...], tuple[type, ...]]
) -> str | None:
    norms, embeddings = classes
    if isinstance(module, norms):
        return _NORM_ROLES.get(leaf)
    if isinstance(module, embeddings) and leaf == "weight":
        return "embedding"
    return None


@dataclass
class ModuleState:
    """Every parameter/buffer of a module: IR specs, and each tensor's names (tied ones share)."""

    params: list[Param]
    explicit: set[str]  # names whose role the module type or the name fixed
    names: dict[int, str]  # id(tensor) -> canonical name
    aliases: dict[str, str]  # every name (tied included) -> canonical name
    tensors: dict[str, Any]  # canonical name -> the module's tensor
    modules: dict[int, str]  # id(submodule) -> its path (the first one, for a shared module)


def module_state(model: Any) -> ModuleState:
    state = ModuleState([], set(), {}, {}, {}, {})
    classes = _role_classes()
    for mod_name, module in model.named_modules(remove_duplicate=False):
        state.modules.setdefault(id(module), mod_name)
        prefix = f"{mod_name}." if mod_name else ""
        items = [(n, t, False) for n, t in module._parameters.items()]
        items += [(n, t, True) for n, t in module._buffers.items()]
        for leaf, tensor, is_buffer in items:
            if tensor is None:
                continue
            full = prefix + leaf
            canonical = state.names.get(id(tensor))
            if canonical is not None:
                state.aliases[full] = canonical
                continue
            state.names[id(tensor)] = state.aliases[full] = full
            state.tensors[full] = tensor
            role = _module_role(module, leaf, classes) or name_role(full)
            if role is not None:
                state.explicit.add(full)
            trainable = not is_buffer and bool(tensor.requires_grad)
            state.params.append(
                Param(
                    full,
                    tuple(tensor.shape),
                    dtype_name(tensor.dtype),
                    trainable,
                    is_buffer,
                    role or "weight",
                )
            )
    return state
