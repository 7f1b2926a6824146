"""What a meta trace cannot do, asked of PyTorch where possible, never read from error text.

A dispatch trace on meta tensors has shapes but no values. It needs the
real trace when an op hands a value to Python (``bool(t)``, ``t.item()``),
when an op's output size depends on values and its meta kernel refuses
(``nonzero``, ``unique``...), or when an op has no meta kernel at all
(PyTorch's registry says so, or the kernel raises ``NotImplementedError``).
``needs_values_reason`` names which; ``placeholder`` is a probe's stand-in
answer to a value read (see ``dispatch.Attempt``).
"""

from __future__ import annotations

from typing import Any

import torch

from analyzer.plugins.frontends.torch.call import op_info

# ops that hand a tensor's value to Python (bool(t), int(t), t.item(), torch.equal)
VALUE_READS = frozenset({"item", "_local_scalar_dense", "is_nonzero", "equal"})
# ops whose output size depends on values, when their meta kernel refuses
_DATA_SIZED = frozenset({"nonzero", "nonzero_numpy", "argwhere", "masked_select", "_unique",
                         "_unique2", "unique_dim", "unique_consecutive", "unique_dim_consecutive",
                         "repeat_interleave", "bincount", "nms"})  # fmt: skip
# dispatch keys whose kernel serves meta tensors (composite kernels run on any device)
_META_CAPABLE = ("Meta", "CompositeImplicitAutograd", "CompositeExplicitAutograd",
                 "CompositeExplicitAutogradNonFunctional")  # fmt: skip


class NeedsValues(RuntimeError):
    """A meta trace reached something only tensor values decide."""


def placeholder(key: str, t: Any) -> Any:
    """A probe's answer to a value read: true, one, or 1.0 (the branch a positive value takes)."""
    if key in ("is_nonzero", "equal"):
        return True
    if t.dtype == torch.bool:
        return True
    return 1.0 if t.dtype.is_floating_point or t.dtype.is_complex else 1


def lacks_meta_kernel(func: Any) -> bool:
    """True when PyTorch has no meta implementation of ``func`` (asked of the registry, not
    read from an error): a custom op without a fake impl, an op without a Meta kernel."""
    try:
        from torch._library.custom_ops import OPDEFS

        opdef = OPDEFS.get(func._schema.name)
        if opdef is not None:
            return opdef._abstract_fn is None
        name, has = func.name(), torch._C._dispatch_has_kernel_for_dispatch_key
        return not (torch._C.DispatchKey.Meta in func.py_kernels
                    or any(has(name, k) for k in _META_CAPABLE))  # fmt: skip
    except Exception:  # a registry PyTorch reorganised: the NotImplementedError rule remains
        return False


def needs_values_reason(key: str, func: Any, e: BaseException) -> str | None:
    """Why a meta kernel's failure means the op needs values, or None (then it is the model's)."""
    if key in VALUE_READS:
        return f"Python reads a tensor's value (aten.{key})"
    if key in _DATA_SIZED:
        return f"the output size of aten.{key} depends on values"
    # NotImplementedError: what PyTorch raises for a kernel missing on Meta
    if isinstance(e, NotImplementedError) or lacks_meta_kernel(func):
        return f"{op_info(func)[2]} has no meta kernel"
    return None
