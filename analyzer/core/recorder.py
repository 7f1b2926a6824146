"""One recorder for every frontend: names, values and nodes of the graph being built.

Every frontend (PyTorch, Keras, JAX, ONNX, TFLite) and ``GraphBuilder`` turn
a model into a ``Graph`` through a ``Recorder``; what differs between them is
only how they read their framework. The recorder owns what each would
otherwise write again:

- **names**: ``fresh(base)`` gives ``base``, then ``base_1``, ``base_2``...
  (the separator is a constructor argument), never a name that a node, a
  tensor or a parameter already has or that was handed out before;
- **values**: graph inputs and node outputs are activations, parameters are
  ``Param``s, constants (literals, folded weight preprocessing) are tensors
  marked ``constant``; ``kind(name)`` says which one a name is;
- **shared parameters**: ``param(..., key=k)`` with a key seen before returns
  the first parameter's name, so a tied embedding or a reused layer is one
  tensor, counted once (the key is the framework object's identity: keep the
  object alive while recording if the key is its ``id()``). The same name
  declared twice with the same spec is one parameter too;
- **roles**: how an op uses a parameter may set its role (``hint_role``):
  the first use decides, unless the parameter was declared ``fixed_role``;
- **nodes**: ``node(op, inputs, outputs, attrs)`` gets the id ``fresh(base)``
  (``base`` defaults to the node's scope, else the op); its one output has
  the node's id as name, several outputs are ``id:0``, ``id:1``...;
  it returns the output names. ``scope`` defaults to ``Recorder.scope``,
  which a frontend sets as it walks the model's modules.

A minimal frontend::

    rec = Recorder("net", "onnx")
    x = rec.input("x", (1, 3, 8, 8), "float32")
    w = rec.param("conv.weight", (4, 3, 3, 3), "float32", key=id(initializer))
    (y,) = rec.node("conv", [x, w], [((1, 4, 6, 6), "float32")], attrs, scope="conv")
    graph = rec.finish([y])

``is_shape`` is the one test of "is this a shape" that frontends use to read
the user's input specs. Nothing here imports an ML framework.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from analyzer.core.errors import GraphError
from analyzer.core.graph import Graph
from analyzer.core.ir import Node, Param, Shape, Tensor, numel

INPUT, ACTIVATION, PARAM, CONSTANT = "input", "activation", "param", "constant"
OutSpec = tuple[Sequence[int], str]  # (shape, dtype) of one output


def is_shape(x: Any, *, unknown: bool = False, empty: bool = False) -> bool:
    """Is ``x`` a shape: a tuple or list of ints (not bools)?

    ``unknown``: ``None`` dims are allowed (a shape still to be bound);
    ``empty``: ``()`` counts (a scalar's shape) -- by default a shape has a dim.
    """
    if not isinstance(x, tuple | list) or not (x or empty):
        return False
    return all(
        (isinstance(d, int) and not isinstance(d, bool)) or (unknown and d is None) for d in x
    )


class Names:
    """Unique, readable names: ``base``, ``base<sep>1``, ``base<sep>2``...

    A name is skipped when ``taken(name)`` is true or when it was handed out
    before (``remember=False``: only ``taken`` decides, for a working copy that
    drops some of what it recorded). Counting continues per base, so a base's
    names stay in the order they were asked for.
    """

    def __init__(
        self, sep: str = "_", taken: Callable[[str], bool] | None = None, remember: bool = True
    ):
        self.sep = sep
        self._taken = taken
        self._next: dict[str, int] = {}
        self._given: set[str] | None = set() if remember else None

    def fresh(self, base: str) -> str:
        k = self._next.get(base, 0)
        taken, given = self._taken, self._given
        while True:
            name = base if k == 0 else f"{base}{self.sep}{k}"
            k += 1
            if (given is None or name not in given) and (taken is None or not taken(name)):
                break
        if given is None:
            self._next[base] = k
        else:
            given.add(name)
            # ``base`` itself (k == 1) is in ``given`` or taken, so skipped next time anyway: most
            # bases (each used once) need no entry (memory at scale)
            if k > 1:
                self._next[base] = k
        return name

    def settle(self, names: Sequence[str]) -> None:
        """Forget ``names`` handed out and now in use (``taken`` says so from now on): the set of
        names handed out stays small instead of holding every name of a million-node graph."""
        given = self._given
        if given is not None and self._taken is not None:
            given.difference_update(names)

    def outputs(self, node_id: str, n: int) -> list[str]:
        """Names of a node's ``n`` outputs: its id for one, ``id:0``, ``id:1``... for several."""
        return [node_id] if n == 1 else [self.fresh(f"{node_id}:{i}") for i in range(n)]


class Recorder:
    """Builds one ``Graph``: a frontend's (or ``GraphBuilder``'s) only way to add to it."""

    def __init__(
        self, name: str = "model", framework: str = "", *, sep: str = "_",
        meta: dict[str, Any] | None = None, graph: Graph | None = None,
    ):  # fmt: skip
        # ``graph``: record into a graph the frontend made (and set up) itself
        self.graph = graph if graph is not None else Graph(name, framework, meta)
        self.scope = ""  # the scope of the nodes added next (a module path)
        self.names = Names(sep, self._used)
        self._keys: dict[Hashable, str] = {}
        self._fixed_roles: set[str] = set()
        # one tuple and one element count per distinct shape (a million-node graph holds a few
        # hundred): tensors and parameters of equal shapes share them from the start
        self._shapes: dict[Shape, tuple[Shape, int]] = {}

    def _shape(self, shape: Sequence[int]) -> tuple[Shape, int | None]:
        """``shape`` as a tuple shared by equal shapes of ints, with its shared element count
        (None for a shape of other dims: left to ``Graph.validate`` to refuse or keep)."""
        shape = tuple(shape)
        for d in shape:
            if type(d) is not int:  # not shared: (True,) == (1,), and a list dim is unhashable
                return shape, None
        known = self._shapes.get(shape)
        if known is None:
            known = self._shapes[shape] = (shape, numel(shape))
        return known

    def _tensor(self, name: str, shape: Sequence[int], dtype: str, constant: bool = False) -> Tensor:  # fmt: skip
        shape, count = self._shape(shape)
        t = Tensor(name, shape, dtype, constant)
        if count is not None:
            object.__setattr__(t, "numel", count)  # the shared int (frozen: set as validate does)
        return t

    def _used(self, name: str) -> bool:
        g = self.graph
        return name in g.tensors or name in g.params or name in g

    def fresh(self, base: str) -> str:
        """A name nothing in the graph has: ``base``, else ``base`` + separator + a count."""
        return self.names.fresh(base)

    # --- values -----------------------------------------------------------------
    def input(self, name: str, shape: Sequence[int], dtype: str) -> str:
        """A graph input, named exactly ``name``."""
        self.graph.add_input(self._tensor(name, shape, dtype))
        return name

    def param(
        self, name: str, shape: Sequence[int], dtype: str, *, trainable: bool = True,
        buffer: bool = False, role: str = "weight", key: Hashable | None = None,
        fixed_role: bool = False,
    ) -> str:  # fmt: skip
        """A parameter; returns its name.

        ``key`` identifies the framework's tensor: the same key again returns the
        first name (shared weights). Another key under a taken name gets a fresh
        name; no key and the same name is the same parameter (its spec must match).
        """
        shape, count = self._shape(shape)
        p = Param(name, shape, dtype, trainable, buffer, role)
        if count is not None:
            object.__setattr__(p, "numel", count)
        return self.add_param(p, key=key, fixed_role=fixed_role)

    def add_param(self, p: Param, *, key: Hashable | None = None, fixed_role: bool = False) -> str:
        """``param`` for a ready ``Param``."""
        if key is not None:
            known = self._keys.get(key)
            if known is not None:
                return known
            if p.name in self.graph.params:
                p = dataclasses.replace(p, name=self.fresh(p.name))
            self._keys[key] = p.name
        self.graph.add_param(p)
        if fixed_role:
            self._fixed_roles.add(p.name)
        return p.name

    def param_of(self, key: Hashable) -> str | None:
        """The name of the parameter recorded under ``key``, or None."""
        return self._keys.get(key)

    def hint_role(self, name: str, role: str) -> None:
        """What an op uses parameter ``name`` as; the first hint sets the role unless it is fixed."""
        if name in self._fixed_roles:
            return
        self._fixed_roles.add(name)
        p = self.graph.params[name]
        if p.role != role:
            self.graph.params[name] = dataclasses.replace(p, role=role)

    def constant(self, base: str, shape: Sequence[int], dtype: str, *, unique: bool = True) -> str:
        """A constant tensor named ``fresh(base)`` (``unique=False``: exactly ``base``)."""
        name = self.fresh(base) if unique else base
        self.graph.add_tensor(self._tensor(name, shape, dtype, constant=True))
        return name

    # --- nodes ------------------------------------------------------------------
    def node(
        self, op: str, inputs: Sequence[str], outputs: Sequence[OutSpec],
        attrs: dict[str, Any] | None = None, *, scope: str | None = None, base: str | None = None,
        source_op: str = "", meta: dict[str, Any] | None = None, constant: bool = False,
        out_names: Sequence[str] | None = None,
    ) -> list[str]:  # fmt: skip
        """Add one node ``op(inputs) -> outputs``; returns the output names.

        ``outputs`` are ``(shape, dtype)`` pairs; they are activations unless
        ``constant`` (a computation on constants and weights only). ``attrs`` is
        kept as given (not copied; an empty one is not stored: ``Node.attrs``); ``source_op``
        defaults to ``op``.
        ``out_names`` asks for the outputs' names (a file format's own tensor
        names), made unique like any name; a one-output node without ``base``
        is then named after its output.
        """
        node_scope = self.scope if scope is None else scope
        if out_names is None:
            node_id = self.fresh(base or node_scope or op)
            names = self.names.outputs(node_id, len(outputs))
        else:
            if len(out_names) != len(outputs):
                raise GraphError(f"{op}: {len(out_names)} names for {len(outputs)} outputs")
            names = [self.fresh(n) for n in out_names]
            one = len(names) == 1 and base is None
            node_id = names[0] if one else self.fresh(base or node_scope or op)
        graph = self.graph
        operands = tuple(inputs)
        if len(operands) == 1:  # one operand: its producer's outputs tuple holds just that name
            src = graph.producer(operands[0])
            if src is not None and src.outputs == operands:
                operands = src.outputs  # shared, a tuple less per node
        for name, (shape, dtype) in zip(names, outputs, strict=True):
            graph.add_tensor(self._tensor(name, shape, dtype, constant))
        graph.add_node(
            Node(node_id, op, operands, tuple(names), attrs if attrs is not None else {},
                 node_scope, source_op or op, dict(meta) if meta else {})
        )  # fmt: skip
        self.names.settle(names)
        if len(names) != 1 or names[0] != node_id:
            self.names.settle((node_id,))
        return names

    def add_node(self, node: Node, outputs: Sequence[Tensor]) -> None:
        """Add a node a working copy already named (a frontend whose passes rewrite
        nodes before the graph is final), after its output tensors."""
        for t in outputs:
            self.graph.add_tensor(t)
        self.graph.add_node(node)

    # --- reading ----------------------------------------------------------------
    def kind(self, name: str) -> str:
        """``input``, ``activation``, ``param`` or ``constant``."""
        g = self.graph
        t = g.tensors.get(name)
        if t is not None:
            return CONSTANT if t.constant else INPUT if name in g.inputs else ACTIVATION
        if name in g.params:
            return PARAM
        raise GraphError(f"unknown tensor {name!r}")

    def is_activation(self, name: str) -> bool:
        """A graph input or a non-constant node output."""
        return self.graph.is_activation(name)

    def is_constant(self, name: str) -> bool:
        t = self.graph.tensors.get(name)
        return t is not None and t.constant

    def is_param(self, name: str) -> bool:
        return name in self.graph.params

    def any_activation(self, names: Sequence[str]) -> bool:
        """Does any operand depend on the inputs? (If none does, the result is a constant.)"""
        return any(self.graph.is_activation(n) for n in names)

    def spec(self, name: str) -> Tensor | Param:
        return self.graph.spec(name)

    def shape(self, name: str) -> Shape:
        return self.graph.spec(name).shape

    def dtype(self, name: str) -> str:
        return self.graph.spec(name).dtype

    # --- finishing ------------------------------------------------------------------
    def warn(self, message: str) -> None:
        """A line for the report's warnings (``graph.meta["warnings"]``), once."""
        warnings = self.graph.meta.setdefault("warnings", [])
        if message not in warnings:
            warnings.append(message)

    def finish(self, outputs: Sequence[str] | None = None, *, validate: bool = False) -> Graph:
        """The graph, with ``outputs`` marked (default: activations no node reads)."""
        g = self.graph
        if outputs is None:
            outputs = [
                t for n in g.nodes() for t in n.outputs if g.is_activation(t) and not g.consumers(t)
            ]
        g.set_outputs(list(outputs))
        if validate:
            g.validate()
        return g
