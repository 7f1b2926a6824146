"""The Keras methods wrapped while a capture runs, and ``trace``, which installs them.

- ``Layer.__call__`` and ``Operation.__call__`` (graph-node ops) push the
  call's scope; ``Layer.symbolic_call`` and ``Operation.symbolic_call`` hand
  the call to the ``Tracer`` (capture.py) instead of Keras's shape inference;
  ``Layer._maybe_build`` runs unrecorded (building may call layers);
- ``Node`` in ``Layer.__call__``: Keras records a graph node for each symbolic
  call; those records are removed afterwards so the user's model is left as
  it was. A call whose outputs hold a non-tensor (``None`` inside a tuple, as
  keras-hub's T5 attention returns) gets no node: Keras would refuse it, and
  the capture does not need it;
- ``Variable`` arithmetic with a KerasTensor (``self.w * x``) becomes the
  ``keras.ops`` call; ``Variable.value`` notes each eager read for the tracer
  and reads an uninitialized variable as zeros;
- ``KerasTensor.__jax_array__`` is hidden, so a JAX array meeting a KerasTensor
  defers to the KerasTensor's operator as TensorFlow and PyTorch tensors do.

Capture is not re-entrant: a lock serialises it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from analyzer.plugins.frontends.keras.capture import Tracer

_LOCK = threading.Lock()
_ACTIVE: Tracer | None = None


def _patches() -> list[tuple[Any, str, Callable[..., Any]]]:
    from keras.src import tree
    from keras.src.backend.common.keras_tensor import KerasTensor, any_symbolic_tensors
    from keras.src.layers import layer as layer_module
    from keras.src.layers.layer import Layer
    from keras.src.ops.operation import Operation

    layer_call, op_call = Layer.__call__, Operation.__call__
    node_cls = layer_module.Node
    layer_symbolic, op_symbolic = Layer.symbolic_call, Operation.symbolic_call
    maybe_build = Layer._maybe_build

    def tracer() -> Tracer | None:
        t = _ACTIVE
        return t if t is not None and t.active else None

    def wrap_call(original: Callable[..., Any], graph_nodes_only: bool) -> Callable[..., Any]:
        def __call__(self, *args, **kwargs):
            t = tracer()
            if t is None or t.in_frame_of(self) or not any_symbolic_tensors(args, kwargs):
                return original(self, *args, **kwargs)
            if graph_nodes_only and not t.in_graph():
                return original(self, *args, **kwargs)  # a keras.ops call inside a layer: its scope
            with t.enter(self):
                return original(self, *args, **kwargs)

        return __call__

    def patched_layer_symbolic(self, *args, **kwargs):
        t = tracer()
        if t is None:
            return layer_symbolic(self, *args, **kwargs)
        if t.in_frame_of(self):
            return t.layer_call(self, args, kwargs)
        with t.enter(self):  # called without __call__ (rare)
            return t.layer_call(self, args, kwargs)

    def patched_op_symbolic(self, *args, **kwargs):
        t = tracer()
        return op_symbolic(self, *args, **kwargs) if t is None else t.op_call(self, args, kwargs)

    def patched_maybe_build(self, *args, **kwargs):
        t = tracer()
        if t is None:
            return maybe_build(self, *args, **kwargs)
        with t.suspended():  # building may run layers symbolically: not part of the call
            return maybe_build(self, *args, **kwargs)

    def node(operation, call_args=None, call_kwargs=None, outputs=None):
        # Layer.__call__ ends with a Node, which refuses non-tensor outputs (None in a tuple)
        if tracer() is not None and not all(
            isinstance(x, KerasTensor) for x in tree.flatten(outputs)
        ):
            return None
        return node_cls(operation, call_args, call_kwargs, outputs)

    return [
        *_variable_patches(tracer),
        (layer_module, "Node", node),
        # a JAX array meeting a KerasTensor (``bias_from_weights + mask``) converts it through
        # ``__jax_array__``, which raises; without it JAX defers to the KerasTensor's operator
        (KerasTensor, "__jax_array__", _NO_JAX_ARRAY),
        (Layer, "_maybe_build", patched_maybe_build),
        (Layer, "__call__", wrap_call(layer_call, False)),
        (Operation, "__call__", wrap_call(op_call, True)),
        (Layer, "symbolic_call", patched_layer_symbolic),
        (Operation, "symbolic_call", patched_op_symbolic),
    ]


# Variable arithmetic reads the variable's value eagerly, so ``self.w * x`` fails on a
# symbolic ``x`` (``x * self.w`` works: KerasTensor's operators call keras.ops).
_VARIABLE_OPS = {
    "__add__": "add", "__sub__": "subtract", "__mul__": "multiply", "__truediv__": "true_divide",
    "__matmul__": "matmul", "__pow__": "power",
}  # fmt: skip


def _variable_patches(
    tracer: Callable[[], Tracer | None],
) -> list[tuple[type, str, Callable[..., Any]]]:
    from keras.src import ops
    from keras.src.backend.common.keras_tensor import KerasTensor
    from keras.src.backend.common.variables import Variable

    def make(name: str, fn_name: str, reflected: bool) -> Callable[..., Any]:
        original = Variable.__dict__[name]
        fn = getattr(ops, fn_name)

        def method(self, other):
            if tracer() is None or not isinstance(other, KerasTensor):
                return original(self, other)
            return fn(other, self) if reflected else fn(self, other)

        return method

    patches = _value_patches(tracer)
    for name, fn_name in _VARIABLE_OPS.items():
        reflected = "__r" + name[2:]
        patches += [
            (Variable, name, make(name, fn_name, False)),
            (Variable, reflected, make(reflected, fn_name, True)),
        ]
    return patches


def _value_patches(tracer: Callable[[], Tracer | None]) -> list[tuple[type, str, property]]:
    """``Variable.value`` (the base class's and each backend override) notes each eager read."""
    from keras.src.backend import Variable as BackendVariable
    from keras.src.backend.common.variables import Variable
    from keras.src.ops import zeros

    def make(prop: property) -> property:
        def value(self):
            t = tracer()
            if t is not None:
                t.read(self)
                if _uninitialized(self):  # built in StatelessScope(initialize_variables=False)
                    return self._maybe_autocast(zeros(self.shape, dtype=self.dtype))
            return prop.fget(self)

        return property(value, prop.fset, prop.fdel, prop.__doc__)

    classes = [
        c for c in BackendVariable.__mro__ if issubclass(c, Variable) and "value" in c.__dict__
    ]
    return [(c, "value", make(c.__dict__["value"])) for c in classes]


def _uninitialized(v: Any) -> bool:
    """No value yet: Keras would run the initializer (random, slow under JAX) on every read;
    the analysis reads no values, so zeros of the shape stand in."""
    from keras.src.backend.common.stateless_scope import get_stateless_scope, in_stateless_scope

    if in_stateless_scope() and get_stateless_scope().get_current_value(v) is not None:
        return False
    return getattr(v, "_value", None) is None


def trace(
    fn: Callable[[], Any], is_leaf: Callable[[Any], bool], root: Any = None,
    rewrite: Callable[[Any], Callable[..., Any] | None] | None = None,
    absorbs: Callable[[Any], bool] | None = None,
) -> tuple[Any, Tracer]:  # fmt: skip
    """Run ``fn()`` (a symbolic call of a model) with recording on; return its result and the tracer.

    ``is_leaf(layer)``: record the layer whole; ``root``: the model whose scope is "";
    ``rewrite(layer)``: a replacement for ``layer.call`` to trace, or None;
    ``absorbs(layer)``: the layer is one layer, its sublayers' ops take its scope.
    """
    global _ACTIVE
    with _LOCK:
        patches = _patches()
        originals = [(cls, name, cls.__dict__[name]) for cls, name, _ in patches]
        tracer = Tracer(
            is_leaf, root, rewrite or (lambda layer: None), absorbs or (lambda layer: False)
        )
        for cls, name, fn_ in patches:
            setattr(cls, name, fn_)
        _ACTIVE = tracer
        try:
            result = fn()
        finally:
            _ACTIVE = None
            for cls, name, original in originals:
                setattr(cls, name, original)
            tracer.restore()
    return result, tracer


def _no_jax_array(self: Any) -> Any:
    raise AttributeError("__jax_array__")  # getattr(kt, "__jax_array__", None) is None


_NO_JAX_ARRAY = property(_no_jax_array)
