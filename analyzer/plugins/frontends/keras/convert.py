"""Keras model -> Graph: bind inputs, capture the symbolic call, emit nodes.

Capture labels (``graph.meta["capture"]``): ``keras.functional``,
``keras.sequential``, ``keras.subclassed`` (a ``Model`` subclass with its own
``call``) and ``keras.layer`` (a bare layer).
"""

from __future__ import annotations

from typing import Any

import keras
from keras.src import tree
from keras.src.models.functional import Functional

from analyzer.core.errors import AnalysisError
from analyzer.core.graph import Graph
from analyzer.core.ir import Tensor
from analyzer.plugins.frontends.keras import layers_misc, layers_nn, ops_table  # noqa: F401  (register handlers)
from analyzer.plugins.frontends.keras.capture import Event
from analyzer.plugins.frontends.keras.emitter import Emitter, is_keras_tensor
from analyzer.plugins.frontends.keras.handlers import (
    is_leaf,
    is_one_layer,
    layer_handler,
    op_handler,
    unknown,
    weight_derived,
)
from analyzer.plugins.frontends.keras.inputs import Given, bind, user_inputs
from analyzer.plugins.frontends.keras.patches import trace
from analyzer.plugins.frontends.keras.rewrites import rewrite


def capture_kind(model: Any) -> str:
    if isinstance(model, keras.Sequential):
        return "keras.sequential"
    if isinstance(model, Functional):
        return "keras.functional"
    if isinstance(model, keras.Model):
        return "keras.subclassed"
    return "keras.layer"


def declared_inputs(model: Any) -> list[Given] | None:
    """Inputs the model states itself: ``keras.Input``s, or the shape it was built with."""
    try:
        ins = model.inputs if isinstance(model, Functional | keras.Sequential) else None
    except (AttributeError, ValueError):
        ins = None
    if ins:
        return [Given(_input_name(kt), tuple(kt.shape), str(kt.dtype)) for kt in ins]
    shapes = getattr(model, "_build_shapes_dict", None)
    if isinstance(shapes, dict) and len(shapes) == 1:
        shape = next(iter(shapes.values()))
        if isinstance(shape, tuple | list) and all(d is None or isinstance(d, int) for d in shape):
            return [Given(None, tuple(shape), None)]
    return None


def _input_name(kt: Any) -> str:
    """The ``keras.Input`` layer's name (``input_layer``), else the tensor's."""
    history = getattr(kt, "_keras_history", None)
    op = getattr(history, "operation", None)
    return str(getattr(op, "name", None) or kt.name)


def _call_structure(model: Any, kts: list[Any], given: list[Given] | None, by_name: bool) -> Any:
    if isinstance(model, Functional):
        return tree.pack_sequence_as(model._inputs_struct, kts)
    if len(kts) == 1:
        return kts[0]
    if by_name:
        return {g.name: kt for g, kt in zip(given or [], kts, strict=True)}
    return list(kts)


def to_graph(model: Any, inputs: Any = None) -> Graph:
    what = f"model {getattr(model, 'name', type(model).__name__)!r}"
    given = user_inputs(inputs)
    bound = bind(declared_inputs(model), given, what)
    kts = [keras.KerasTensor(g.shape, dtype=g.dtype, name=g.name) for g in bound]
    by_name = isinstance(inputs, dict)
    call_args = _call_structure(model, kts, bound, by_name)

    # a model's own scope is "" (its layers are top-level); a bare layer keeps its name
    root = model if isinstance(model, keras.Model) else None
    result, tracer = trace(
        lambda: model(call_args), is_leaf, root=root, rewrite=rewrite, absorbs=is_one_layer
    )

    graph = Graph(getattr(model, "name", "model"), "keras")
    graph.meta["capture"] = capture_kind(model)
    graph.meta["keras_backend"] = keras.backend.backend()
    policy = getattr(getattr(model, "dtype_policy", None), "name", None)
    if policy:
        graph.meta["dtype_policy"] = policy
    warnings = list(tracer.warnings)
    weights = list(model.weights)
    trainable = {id(v) for v in model.trainable_weights}
    em = Emitter(graph, weights, trainable)
    for g, kt in zip(bound, kts, strict=True):
        graph.add_input(Tensor(g.name, g.shape, g.dtype))
        em.bind(kt, g.name)
    for ev in tracer.events:
        _emit_event(em, ev, warnings)
    outs = [o for o in tree.flatten(result) if is_keras_tensor(o)]
    em.scope = ""
    graph.set_outputs(list(dict.fromkeys(em.operand(o) for o in outs)))
    em.add_params()
    if warnings:
        graph.meta["warnings"] = warnings
    return graph


def _emit_event(em: Emitter, ev: Event, warnings: list[str]) -> None:
    em.scope = ev.scope
    cls = type(ev.op).__name__
    if ev.kind == "layer":
        em.source, handler = cls, layer_handler(ev.op).fn  # type: ignore[union-attr]
    elif ev.kind == "op":
        em.source, handler = f"ops.{cls}", op_handler(cls)
    elif ev.kind == "constant":
        em.source, handler = cls, weight_derived
    else:
        em.source, handler = cls, unknown
    before = len(em.g)
    try:
        handler(em, ev)
    except AnalysisError:
        raise
    except Exception as e:  # a configuration the table does not model: keep it as unknown
        if len(em.g) != before:
            raise
        warnings.append(
            f"{ev.scope or cls} ({em.source}) is not mapped ({type(e).__name__}: {e}); it is one unsupported op"
        )
        unknown(em, ev)
