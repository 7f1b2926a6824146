"""The graph IR: a small typed API around a networkx MultiDiGraph.

Nodes of the networkx graph are op ids; an edge ``producer -> consumer``
keyed by tensor name exists for every activation tensor an op consumes from
another op. Parameters and graph inputs are not networkx nodes: they are
looked up in ``Graph.params`` / ``Graph.tensors``. The networkx graph is
built on the first use of ``Graph.nx`` and kept until the graph changes:
passes and metrics walk the node list and the producer/consumer maps, so a
frontend adding thousands of nodes does not pay for networkx's bookkeeping.

Nodes are kept in execution order (the order frontends add them, which
``validate()`` checks is topological); passes walk ``graph.nodes()``.
"""

from __future__ import annotations

from collections.abc import Iterator, KeysView, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple

from analyzer.core import dtypes
from analyzer.core.errors import GraphError
from analyzer.core.ir import Node, Param, Shape, Tensor, stored_attrs
from analyzer.core.op_rules import check_node_strict
from analyzer.core.shape_checks import CHECKED_OPS, check_node_shapes

if TYPE_CHECKING:
    import networkx as nx

    from analyzer.core.ops import OpVocabulary

__all__ = ["MAX_DIM", "MAX_ELEMENTS", "Graph", "GraphError", "NodeInfo"]  # GraphError: from errors.py


# Bounds no real model reaches: a larger figure is a corrupt or crafted graph.
MAX_DIM = 2**40
MAX_ELEMENTS = 2**48


class NodeInfo(NamedTuple):
    """What passes keep asking about a node, derived once per graph state.

    A named tuple: built for every node of every analysed graph, and several
    times cheaper to build than a frozen dataclass.
    """

    act_inputs: tuple[str, ...]  # activation operands in order
    act_outputs: tuple[str, ...]  # outputs that are activations (not constants)
    params: tuple[Param, ...]  # parameter operands in order
    repeat: int  # how many times the node runs (``Node.repeat``)


class Graph:
    """A model as a DAG of canonical ops over shaped tensors."""

    def __init__(self, name: str = "model", framework: str = "", meta: dict[str, Any] | None = None):
        self.name = name
        self.framework = framework
        self.meta: dict[str, Any] = dict(meta or {})
        self.tensors: dict[str, Tensor] = {}
        self.params: dict[str, Param] = {}
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self._nodes: dict[str, Node] = {}
        # tensor -> id of its producer, except a tensor named like the node producing it (a
        # recorder names a one-output node's output so): ``_producer_id`` finds those in ``_nodes``
        self._producer: dict[str, str] = {}
        # tensor -> ids of its readers: one reader (most tensors) as the bare id, a few as a
        # tuple, a wide fan-out as a list grown in place (``consumer_ids`` hides the difference).
        # Parameters aside (a million-node graph has a million of them, read by one node each):
        # their readers are found when asked, by one pass over the nodes.
        self._consumers: dict[str, str | tuple[str, ...] | list[str]] = {}
        self._param_readers: dict[str, tuple[str, ...]] | None = None
        self._nx: nx.MultiDiGraph | None = None  # built on first use of ``nx``
        self._info: dict[str, NodeInfo] | None = None

    # --- building ---------------------------------------------------------
    def add_tensor(self, tensor: Tensor) -> Tensor:
        if tensor.name in self.tensors or tensor.name in self.params:
            raise GraphError(f"tensor {tensor.name!r} is defined twice")
        self.tensors[tensor.name] = tensor
        self._info = None
        return tensor

    def add_param(self, param: Param) -> Param:
        """Add a parameter; adding the same parameter again (a shared weight) is a no-op."""
        old = self.params.get(param.name)
        if old is not None:
            if old != param:
                raise GraphError(f"parameter {param.name!r} redefined with a different spec")
            return old
        if param.name in self.tensors:
            raise GraphError(f"parameter {param.name!r} clashes with a tensor name")
        self.params[param.name] = param
        self._info = self._param_readers = None
        return param

    def add_input(self, tensor: Tensor) -> Tensor:
        self.add_tensor(tensor)
        self.inputs.append(tensor.name)
        return tensor

    def add_node(self, node: Node) -> Node:
        """Append ``node`` (its output tensors must already be added)."""
        if node.id in self._nodes:
            raise GraphError(f"node id {node.id!r} is used twice")
        if len(set(node.outputs)) != len(node.outputs):
            raise GraphError(f"node {node.id!r} lists an output twice")
        for t in node.outputs:
            if t not in self.tensors:
                raise GraphError(f"node {node.id!r} outputs undeclared tensor {t!r}")
            if self._producer_id(t) is not None or t in self.inputs:
                raise GraphError(f"tensor {t!r} is produced twice")
        nid = node.id
        self._nodes[nid] = node
        for t in node.outputs:
            if t != nid:
                self._producer[t] = nid
        consumers, params = self._consumers, self.params
        for t in node.inputs:
            if t in params:
                continue
            readers = consumers.get(t)
            if readers is None:
                consumers[t] = nid  # most tensors have one reader: no container at all
            elif type(readers) is str:
                consumers[t] = (readers, nid)
            elif type(readers) is tuple and len(readers) < 8:
                consumers[t] = (*readers, nid)
            elif type(readers) is tuple:
                consumers[t] = [*readers, nid]  # a fan-out this wide grows in place
            else:
                readers.append(nid)
        self._info = self._nx = self._param_readers = None
        return node

    def set_outputs(self, names: list[str]) -> None:
        self.outputs = list(names)
        self._info = None

    # --- reading ----------------------------------------------------------
    @property
    def nx(self) -> nx.MultiDiGraph:
        """A read-only view of the underlying networkx graph, for graph algorithms."""
        if self._nx is None:  # built lazily: metrics walk nodes, and frontends add thousands of them
            import networkx as nx  # imported on first use: half of the CLI's start-up time otherwise

            g = nx.MultiDiGraph()
            g.add_nodes_from(self._nodes)
            producer = self._producer_id
            g.add_edges_from(
                (src, node.id, f"{t}->{i}", {"tensor": t, "index": i})
                for node in self._nodes.values()
                for i, t in enumerate(node.inputs)
                if (src := producer(t)) is not None
            )  # in bulk: a third less time than an add_edge call per edge
            self._nx = g.copy(as_view=True)  # one view per graph state, not one per access
        return self._nx

    def nodes(self) -> Iterator[Node]:
        """Nodes in execution order."""
        return iter(self._nodes.values())

    def node(self, node_id: str) -> Node:
        return self._nodes[node_id]

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def producer(self, tensor: str) -> Node | None:
        """The node producing ``tensor`` (None for inputs, params and constants)."""
        nid = self._producer_id(tensor)
        return self._nodes[nid] if nid is not None else None

    def _producer_id(self, tensor: str) -> str | None:
        nid = self._producer.get(tensor)
        if nid is None:
            node = self._nodes.get(tensor)
            if node is not None and tensor in node.outputs:  # named like its producer
                return tensor
        return nid

    def consumers(self, tensor: str) -> list[Node]:
        return [self._nodes[n] for n in self.consumer_ids(tensor)]

    def spec(self, name: str) -> Tensor | Param:
        """The tensor or parameter called ``name``."""
        t = self.tensors.get(name)
        if t is not None:
            return t
        try:
            return self.params[name]
        except KeyError:
            raise GraphError(f"unknown tensor {name!r}") from None

    def shape(self, name: str) -> Shape:
        return self.spec(name).shape

    def batch_size(self) -> int:
        """The batch the graph was built at: the leading dim of its first non-scalar input (1 if none)."""
        for t in self.inputs:
            shape = self.tensors[t].shape
            if shape:
                return shape[0] or 1
        return 1

    def is_param(self, name: str) -> bool:
        return name in self.params

    def is_activation(self, name: str) -> bool:
        """True for tensors that are activations: graph inputs and non-constant op outputs."""
        t = self.tensors.get(name)
        return t is not None and not t.constant

    def info(self, node_id: str) -> NodeInfo:
        """Derived facts about a node (activation operands, params), cached per graph state."""
        return self.infos()[node_id]

    def infos(self) -> dict[str, NodeInfo]:
        """``info`` for every node id, in execution order (one dict: passes index it in their loops)."""
        if self._info is None:
            self._info = self._build_infos()
        return self._info

    def _build_infos(self) -> dict[str, NodeInfo]:
        # At scale every lookup in a big dict is a cache miss (~0.2 us): an operand that the
        # previous node produced (most of them) is known to be an activation without one.
        tensors, param_of, nodes = self.tensors, self.params.get, self._nodes
        constants = {n for n, t in tensors.items() if t.constant}  # few: no set of every activation
        new, info = tuple.__new__, NodeInfo  # tuple.__new__: a third of NodeInfo(...)'s time
        infos: dict[str, NodeInfo] = {}
        last: tuple[str, ...] = ()  # the previous node's outputs
        for nid, n in nodes.items():
            ins, outs = n.inputs, n.outputs
            acts: list[str] = []
            ps: list[Param] = []
            for t in ins:
                if t in last:
                    if t not in constants:
                        acts.append(t)
                    continue
                p = param_of(t)
                if p is not None:
                    ps.append(p)
                elif t in tensors and t not in constants:
                    acts.append(t)
            # Tuples already made where they hold the same names: the node's own operands, or
            # its one activation operand's producer's outputs (a tuple less per node each).
            if len(acts) == len(ins):
                act_in = ins
            elif len(acts) == 1:
                t = acts[0]
                src = last if t in last else nodes[t].outputs if t in nodes else ()
                act_in = src if len(src) == 1 and src[0] == t else (t,)
            else:
                act_in = tuple(acts)
            last = outs
            if constants and not constants.isdisjoint(outs):
                outs = tuple([t for t in outs if t not in constants])
            attrs = stored_attrs(n)
            infos[nid] = new(info, (act_in, outs, tuple(ps), int(attrs.get("repeat", 1)) if attrs else 1))
        return infos

    def node_params(self, node: Node) -> list[Param]:
        """The parameters ``node`` uses, in operand order."""
        return list(self.info(node.id).params)

    def activation_inputs(self, node: Node) -> list[str]:
        return list(self.info(node.id).act_inputs)

    def read_tensors(self) -> KeysView[str]:
        """Names of activations and constants some node reads (parameters: ``consumer_ids``)."""
        return self._consumers.keys()

    def consumer_ids(self, tensor: str) -> Sequence[str]:
        """Ids of the nodes reading ``tensor`` (cheaper than ``consumers``; read-only)."""
        if tensor in self.params:
            readers = self._param_readers
            if readers is None:
                readers = self._param_readers = self._find_param_readers()
            return readers.get(tensor, ())
        found = self._consumers.get(tensor, ())
        return (found,) if type(found) is str else found

    def _find_param_readers(self) -> dict[str, tuple[str, ...]]:
        params = self.params
        readers: dict[str, list[str]] = {}
        for node in self._nodes.values():
            for t in node.inputs:
                if t in params:
                    readers.setdefault(t, []).append(node.id)
        return {p: tuple(ids) for p, ids in readers.items()}

    # --- checking ---------------------------------------------------------
    def validate(self, vocabulary: OpVocabulary | None = None, *, strict: bool = False) -> None:
        """Check structure: every operand defined before use (so acyclic), shapes consistent.

        Dims are non-negative and at most ``MAX_DIM``, tensors hold at most
        ``MAX_ELEMENTS`` elements, graph inputs have no empty dim (a batch of
        0 is refused). ``strict`` (graphs loaded from JSON) also refuses empty
        parameters and runs every op's full shape and attribute rule
        (``analyzer.core.op_rules``). Raises GraphError naming the first problem.
        """
        tensors, params = self.tensors, self.params
        constants = self._check_specs(strict)
        for name in self.inputs:
            t = tensors.get(name)
            if t is None:
                raise GraphError(f"graph input {name!r} is not a declared tensor")
            if 0 in t.shape:
                what = "batch size 0" if t.shape[0] == 0 else "an empty dimension"
                raise GraphError(f"graph input {name!r} has {what}: shape {t.shape}")
        # Names an operand may have so far (parameters aside, to keep the set half as big: it is
        # the peak of building a big graph): inputs, constants no node produces, and the outputs
        # of the nodes checked. At scale each lookup in a big set or dict is a cache miss: an
        # operand the previous node produced (most of them) needs none.
        produced = self._producer_id
        available = set(self.inputs)
        available.update([n for n in constants if produced(n) is None])
        add = available.add
        check = check_node_strict if strict else check_node_shapes
        shape_ops = None if strict else CHECKED_OPS  # other ops: no rule, no call
        last: tuple[str, ...] = ()  # the previous node's outputs
        for node in self._nodes.values():
            op = node.op
            if vocabulary is not None and op not in vocabulary:
                raise GraphError(f"node {node.id!r} has op {op!r}, not in the op vocabulary")
            for t in node.inputs:
                if t not in last and t not in params and t not in available:
                    where = "later" if produced(t) is not None else "nowhere"
                    raise GraphError(
                        f"node {node.id!r} reads {t!r}, which is produced {where} (order must be topological)"
                    )
            last = outs = node.outputs
            if len(outs) == 1:
                add(outs[0])
            else:
                available.update(outs)
            if shape_ops is None or op in shape_ops:
                check(self, node)
        for name in self.outputs:
            if name not in available and name not in params:
                raise GraphError(f"graph output {name!r} is never produced")
        # Every operand was defined before its reader, so the graph is acyclic.

    def _check_specs(self, strict: bool) -> list[str]:
        """Check every tensor's and parameter's shape and dtype; the names of the constants."""
        seen_dtypes: set[str] = set()
        # Checked shapes, each with its element count. Tensors of equal shapes then share one tuple
        # and one count (a million-node graph holds a few hundred distinct shapes: ~100 bytes less
        # per tensor), and a tuple already checked is not checked again.
        shapes: dict[Shape, tuple[Shape, int]] = {}
        for t in chain(self.tensors.values(), self.params.values()):
            shape = t.shape
            try:
                known = shapes.get(shape)
            except TypeError:  # an unhashable dim: refused below
                known = None
            if known is None or known[0] is not shape:
                if not isinstance(shape, tuple):
                    raise GraphError(f"tensor {t.name!r} has an invalid shape {t.shape!r}")
                for d in shape:  # a plain loop: several times faster than all() over a generator
                    if type(d) is not int and not isinstance(d, int) or d < 0 or d > MAX_DIM:
                        raise GraphError(f"tensor {t.name!r} has an invalid shape {t.shape!r}" + _dim_hint(d))
                if t.numel > MAX_ELEMENTS:
                    raise GraphError(f"tensor {t.name!r} of shape {t.shape} has {t.numel:.3g} elements, "
                                     f"more than the {MAX_ELEMENTS:.3g} any model can hold")  # fmt: skip
                if known is None:
                    shapes[shape] = (shape, t.numel)
                else:  # an equal tuple of ints: share the checked one (the IR's tensors are frozen)
                    object.__setattr__(t, "shape", known[0])
                    object.__setattr__(t, "numel", known[1])
            if t.dtype not in seen_dtypes:
                try:
                    dtypes.canonical(t.dtype)
                except ValueError as e:
                    raise GraphError(f"tensor {t.name!r}: {e}") from None
                seen_dtypes.add(t.dtype)
        for p in self.params.values() if strict else ():
            if 0 in p.shape:
                raise GraphError(f"parameter {p.name!r} has an empty dimension: shape {p.shape}")
        return [n for n, t in self.tensors.items() if t.constant]


def _dim_hint(d: object) -> str:
    if isinstance(d, int) and d > MAX_DIM:
        return f": dimension {d} is larger than {MAX_DIM} (2**40)"
    return ""
