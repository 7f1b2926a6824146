"""JAX frontend: plain JAX functions, Flax (linen, NNX) and Equinox models.

The model is traced with ``jax.make_jaxpr`` on ``jax.ShapeDtypeStruct``s
(no real arrays, no weights) and the jaxpr is walked into the IR. See
``docs/frontends/jax.md`` for capture, naming, control flow and limits.

- ``detect``: is an object a JAX model (without importing jax)
- ``inputs``: inputs and parameters as abstract values
- ``adapters``: each model kind as ``fn(params, *inputs)``
- ``scopes``: layer scopes from name stacks and module-call markers
- ``primitives``: the primitive -> canonical op table
- ``walker``: jaxpr equations (and nested jaxprs, loops, conds) -> nodes
- ``staging``: the nodes while passes may rewrite them; ``cost``: branch FLOPs
- ``passes``, ``gelu``, ``norms``: rewrites back to layer ops, parameter roles
- ``convert``: trace + walk + passes -> Graph
"""

from __future__ import annotations

from typing import Any

from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl

from .detect import model_kind

_OPTIONS = ("capture", "call_kwargs")


class JaxFrontend(Frontend):
    """Options: ``call_kwargs`` (keyword arguments for the call, e.g.
    ``{"train": False}``), ``capture`` (only ``"make_jaxpr"``)."""

    name = "jax"

    def accepts(self, obj: object) -> bool:
        return model_kind(obj) is not None

    def to_graph(
        self, model: Any, inputs: Any = None, *, params: Any = None, **options: Any
    ) -> Graph:
        from . import adapters
        from .convert import convert
        from .inputs import abstract_inputs

        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise UsageError(
                f"unknown jax frontend option {unknown[0]!r} (options: {', '.join(_OPTIONS)})"
            )
        if options.get("capture", "make_jaxpr") not in ("make_jaxpr", "jaxpr"):
            raise UsageError(
                f"the jax frontend captures with make_jaxpr only, not {options['capture']!r}"
            )
        kwargs = dict(options.get("call_kwargs") or {})
        kind = model_kind(model) or ("function" if callable(model) else None)
        if kind is None:
            raise AnalysisError(
                f"the jax frontend cannot convert a {type(model).__module__}.{type(model).__qualname__}"
            )
        args, input_names = abstract_inputs(inputs)
        if kind in ("nnx", "equinox") and params is not None:
            raise UsageError(f"a {kind} module holds its own parameters; do not pass params")
        if kind == "linen":
            capture = adapters.linen(model, args, params, kwargs)
        elif kind == "linen_apply":
            if params is None:
                raise UsageError(
                    "model.apply needs its variables: pass params=variables, or pass the module itself"
                )
            capture = adapters.linen(model.__self__, args, params, kwargs)
        elif kind == "nnx":
            capture = adapters.nnx(model, kwargs)
        elif kind == "equinox":
            capture = adapters.equinox(model, kwargs)
        else:
            capture = adapters.function(model, params, kwargs)
        owner = getattr(model, "__self__", model)
        name = getattr(owner, "__name__", None) or type(owner).__name__
        return convert(capture, args, input_names, name)


@hookimpl
def analyzer_register_frontends(register):
    register(JaxFrontend())
