"""The registry of Keras-to-IR handlers and the helpers they share.

A handler turns one captured event into IR nodes through the ``Emitter``.
Layer handlers are looked up by the Keras class (or its nearest Keras base
class) of the layer; op handlers by the class of the ``keras.ops``
operation. ``accepts`` lets a layer handler decline a configuration it does
not model (a custom activation, LoRA); such a layer is then traced through
its ``call`` instead, op by op.

Plugin mappings (hook ``analyzer_register_op_mappings``, framework
``"keras"``) come first: a layer class, by ``module.QualName`` or bare class
name (its own class or a base class), or ``ops.ClassName`` for a
``keras.ops`` operation. ``PLUGIN_HANDLERS`` holds them for the conversion
in progress (set by ``KerasFrontend``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keras.src import tree

from analyzer.core.op_mappings import ActiveMappings, OpMapping
from analyzer.plugins.frontends.keras.activations import activation_op
from analyzer.plugins.frontends.keras.capture import Event
from analyzer.plugins.frontends.keras.emitter import (
    Emitter,
    Spec,
    is_array,
    is_keras_tensor,
    is_variable,
)

Handler = Callable[[Emitter, Event], None]


@dataclass(frozen=True, slots=True)
class LayerHandler:
    fn: Handler
    accepts: Callable[[Any], bool] | None = None


LAYERS: dict[str, LayerHandler] = {}
OPS: dict[str, Handler] = {}


def layer(
    *names: str, accepts: Callable[[Any], bool] | None = None
) -> Callable[[Handler], Handler]:
    """Register a handler for the Keras layer classes ``names``."""

    def deco(fn: Handler) -> Handler:
        for n in names:
            if n in LAYERS:
                raise ValueError(f"keras layer {n} has two handlers")
            LAYERS[n] = LayerHandler(fn, accepts)
        return fn

    return deco


def op(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for the ``keras.ops`` operation classes ``names``."""

    def deco(fn: Handler) -> Handler:
        for n in names:
            if n in OPS:
                raise ValueError(f"keras op {n} has two handlers")
            OPS[n] = fn
        return fn

    return deco


PLUGIN_HANDLERS: ActiveMappings[Handler] = ActiveMappings("keras_plugin_handlers")


def plugin_handlers(mappings: dict[str, OpMapping]) -> dict[str, Handler]:
    """Handlers for plugin mappings: a canonical op over the call's operands, or the plugin's own."""
    return {k: emit_as(m.target) if isinstance(m.target, str) else m.target for k, m in mappings.items()}


def op_handler(cls_name: str) -> Handler:
    """The handler of the ``keras.ops`` operation class ``cls_name`` (a plugin's mapping first)."""
    plugin = PLUGIN_HANDLERS.get()
    return (plugin.get(f"ops.{cls_name}") if plugin else None) or OPS.get(cls_name, unknown)


def layer_handler(obj: Any) -> LayerHandler | None:
    """The handler for a layer, when it is a Keras layer class (or a subclass not overriding ``call``)."""
    plugin = PLUGIN_HANDLERS.get()
    if plugin:
        for cls in type(obj).__mro__:
            fn = plugin.get(f"{cls.__module__}.{cls.__qualname__}") or plugin.get(cls.__name__)
            if fn is not None:
                return LayerHandler(fn)
    own_call = type(obj).call
    for cls in type(obj).__mro__:
        if cls.__module__.startswith("keras.") and cls.__name__ in LAYERS:
            if cls.call is not own_call:
                return None  # a user subclass changed what the layer computes
            h = LAYERS[cls.__name__]
            return h if h.accepts is None or h.accepts(obj) else None
    return None


def is_leaf(obj: Any) -> bool:
    return layer_handler(obj) is not None


def is_one_layer(obj: Any) -> bool:
    """Attention layers are one layer (docs/ir.md), as PyTorch's MultiheadAttention is:
    their query/key/value/output sublayers' ops take the attention layer's scope."""
    from keras import layers

    return isinstance(obj, layers.MultiHeadAttention | layers.GroupQueryAttention)


# --- helpers shared by the handler modules -------------------------------------------
def outputs(ev: Event) -> list[Any]:
    return [o for o in tree.flatten(ev.outputs) if is_keras_tensor(o)]


def out(ev: Event) -> Any:
    return outputs(ev)[0]


def tensor_args(ev: Event, with_constants: bool = False) -> list[Any]:
    """The tensor operands of a call in order: KerasTensors, variables (and constants)."""
    flat = tree.flatten((ev.args, ev.kwargs))
    keep = []
    for x in flat:
        if (
            is_keras_tensor(x)
            or is_variable(x)
            or (
                with_constants
                and (is_array(x) or isinstance(x, int | float) and not isinstance(x, bool))
            )
        ):
            keep.append(x)
    return keep


def first_input(ev: Event) -> Any:
    return tensor_args(ev)[0]


def spec_like(em: Emitter, t: Any) -> Spec:
    return Spec(em.shape(t), em.dtype(t))


def finish_with_activation(
    em: Emitter, ev: Event, op_name: str, ins: list[Any], attrs: dict[str, Any], activation: Any,
) -> str:  # fmt: skip
    """Emit ``op_name`` then the layer's activation (if any), the last node producing the output."""
    y = out(ev)
    act = activation_op(activation)
    if not act:
        return em.emit(op_name, ins, y, attrs)
    mid = em.emit(op_name, ins, spec_like(em, y), attrs)
    act_op, act_attrs = act
    return em.emit(act_op, [mid], y, act_attrs)


def _operands(ev: Event) -> list[Any]:
    """The call's tensor operands, then the layer's weights it did not receive as arguments."""
    ins = tensor_args(ev)
    seen = {id(x) for x in ins}
    for w in getattr(ev.op, "weights", []) if ev.kind != "op" else []:
        if id(w) not in seen:
            ins.append(w)
    return ins


def unknown(em: Emitter, ev: Event) -> None:
    """An op the tables do not map: kept with its shapes and weights, reported as unsupported."""
    em.emit("unknown", _operands(ev), outputs(ev))


def emit_as(op_name: str) -> Handler:
    """A plugin's mapping to canonical op ``op_name``: one node over the call's operands and weights."""

    def handler(em: Emitter, ev: Event) -> None:
        em.emit(op_name, _operands(ev), outputs(ev))

    return handler


def weight_derived(em: Emitter, ev: Event) -> None:
    """A concrete tensor computed eagerly from weights and shapes (capture.py): a ``constant``
    node whose operands are the model weights read for it (other variables, such as a
    seed generator's state, are not weights)."""
    em.emit("constant", [v for v in ev.args if em.is_weight(v)], outputs(ev))


def axis_index(axis: int, rank: int) -> int:
    return axis % rank if rank else 0


def axes_tuple(axis: Any, rank: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, int):
        return (axis_index(axis, rank),)
    return tuple(axis_index(a, rank) for a in axis)
