"""Symbolic stand-ins for the ``call`` of wrapper layers that cannot be traced as written.

``TimeDistributed`` maps its layer over time with a backend ``vectorized_map``
(or an unrolled loop); the stand-in folds time into the batch, calls the
wrapped layer once (so it keeps its own scope, ``td.conv``) and unfolds:
the same work, counted once over ``batch * steps`` items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def time_distributed(layer: Any) -> Callable[..., Any]:
    from keras import ops

    def call(inputs: Any, training: Any = None, mask: Any = None) -> Any:
        b, t, *rest = inputs.shape
        kwargs = (
            {"training": training}
            if training is not None and "training" in layer.layer._call_context_args
            else {}
        )
        y = layer.layer(ops.reshape(inputs, (b * t, *rest)), **kwargs)
        return ops.reshape(y, (b, t, *y.shape[1:]))

    return call


REWRITES: dict[str, Callable[[Any], Callable[..., Any]]] = {"TimeDistributed": time_distributed}


def rewrite(layer: Any) -> Callable[..., Any] | None:
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("keras.") and cls.__name__ in REWRITES:
            return REWRITES[cls.__name__](layer) if type(layer).call is cls.call else None
    return None
