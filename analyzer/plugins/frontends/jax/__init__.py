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
- ``convert``: trace + walk + passes -> Graph; ``cache``: traces reused across analyses
"""

from __future__ import annotations

import dataclasses
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl

from .detect import model_kind, params_are_jax, takes_arguments

_OPTIONS = ("capture", "call_kwargs", "cache")


class JaxFrontend(Frontend):
    """Options: ``call_kwargs`` (keyword arguments for the call, e.g.
    ``{"train": False}``), ``capture`` (only ``"make_jaxpr"``), ``cache`` (default
    True: reuse the trace of an earlier analysis of the same model, ``cache.py``)."""

    name = "jax"
    takes_op_mappings = True  # plugin op mappings (analyzer_register_op_mappings), see bind_plugins

    _pricing: Any = None  # cost.Pricing of the plugin set this frontend is registered in
    _op_rules: dict[str, Any] = {}  # plugin op mappings: primitive -> canonical op or rule

    def bind_plugins(self, plugins: Any) -> None:
        """Price ``cond`` branches with the user's plugin set (its ops and formulas), not a global one;
        take its ``jax`` op mappings, consulted before the primitive table."""
        from .cost import Pricing

        self._pricing = Pricing(plugins.vocabulary, plugins.formulas)
        self._op_rules = {p: m.target for p, m in plugins.op_mappings.for_framework(self.name).items()}

    def accepts(self, obj: object) -> bool:
        return model_kind(obj) is not None

    def accepts_params(self, model: object, params: object) -> bool:
        """A function taking arguments, called with a pytree of JAX arrays, is a JAX model."""
        return callable(model) and takes_arguments(model) and params_are_jax(params)

    def to_graph(
        self, model: Any, inputs: Any = None, *, params: Any = None, **options: Any
    ) -> Graph:
        from . import cache
        from .convert import convert, trace
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
        if kind == "linen_apply" and params is None:
            raise UsageError(
                "model.apply needs its variables: pass params=variables, or pass the module itself"
            )
        owner = getattr(model, "__self__", model)
        name = getattr(owner, "__name__", None) or type(owner).__name__
        import jax

        # softmax as a named custom_jvp call (same numerics) so it maps to one op; linen
        # variables are made under the same setting, so the trace reuses what init traced
        with jax.softmax_custom_jvp(True):
            key = (
                cache.key(kind, model, args, params, kwargs) if options.get("cache", True) else None
            )
            hit = cache.get(key, model)
            if hit is None:
                capture = _capture(kind, model, args, params, kwargs)
                closed = trace(capture, args)
                cache.put(key, model, closed, dataclasses.replace(capture, fn=None))
            else:
                closed, capture = hit
            from .primitives import PLUGIN_RULES

            with PLUGIN_RULES.using(self._op_rules):
                return convert(closed, capture, input_names, name, self._pricing)


def _capture(
    kind: str, model: Any, args: tuple[Any, ...], params: Any, kwargs: dict[str, Any]
) -> Any:
    from . import adapters

    if kind == "linen":
        return adapters.linen(model, args, params, kwargs)
    if kind == "linen_apply":
        return adapters.linen(model.__self__, args, params, kwargs)
    if kind == "nnx":
        return adapters.nnx(model, kwargs)
    if kind == "equinox":
        return adapters.equinox(model, kwargs)
    return adapters.function(model, params, kwargs)


@hookimpl
def analyzer_register_frontends(register):
    register(JaxFrontend())
