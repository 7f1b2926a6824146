"""Trace a captured model with ``jax.make_jaxpr``; turn the jaxpr into a Graph."""

from __future__ import annotations

from typing import Any

from analyzer.core.errors import AnalysisError
from analyzer.core.graph import Graph

from .adapters import Capture
from .cost import Pricing
from .passes import run_passes
from .scopes import number_calls
from .staging import ParamSpec, Staged
from .views import mark_param_slices, stacked_slices
from .walker import Walker, aval_spec


def trace(capture: Capture, args: tuple[Any, ...]) -> Any:
    """The closed jaxpr of the captured function, its module calls marked."""
    import jax

    with capture.context():
        return jax.make_jaxpr(capture.fn)(capture.params, *args)


def convert(
    closed: Any, capture: Capture, input_names: list[str], name: str, pricing: Pricing | None = None
) -> Graph:
    """The Graph of a traced jaxpr; ``pricing`` picks the costliest ``cond`` branch (None: built-ins)."""
    import jax

    invars = closed.jaxpr.invars
    n_params = len(capture.names)
    if len(invars) != n_params + len(input_names):
        raise AnalysisError(
            f"the traced function has {len(invars)} inputs, "
            f"expected {n_params} parameters + {len(input_names)} inputs"
        )
    staged = Staged()
    operands = []
    for v, pname, trainable in zip(
        invars[:n_params], capture.names, capture.trainable, strict=True
    ):
        shape, dtype = aval_spec(v.aval)
        staged.params.setdefault(pname, ParamSpec(pname, shape, dtype, trainable))
        operands.append(pname)
    for v, iname in zip(invars[n_params:], input_names, strict=True):
        t = staged.add_tensor(iname, *aval_spec(v.aval))
        staged.inputs.append(t)
        operands.append(t)
    staged.outputs = list(dict.fromkeys(Walker(staged, pricing).run(closed, operands)))
    slices = stacked_slices(staged)
    run_passes(staged, capture.module_kinds)
    mark_param_slices(staged, slices)
    names = number_calls(staged.nodes, capture.call_outer)  # marker -> layer scope
    kinds = {names[m]: k for m, k in capture.module_kinds.items() if m in names}
    meta: dict[str, Any] = {"capture": capture.label, "jax_version": jax.__version__}
    if kinds:
        meta["modules"] = kinds
    return staged.build(name, meta)
