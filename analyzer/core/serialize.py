"""JSON round-trip of the IR: a saved graph can be analyzed without its framework.

The document is ``{"schema": "analyzer.graph/1", ...}``. Attribute values
are JSON values; lists in ``attrs`` are read back as tuples (the IR's attribute
convention), ``meta`` comes back as plain JSON, so a graph compares equal
after a round-trip. A saved graph is not trusted: loading validates it
completely (``Graph.validate(strict=True)``: every op's shape and attribute
rule, bounded dims, known dtypes, resolved references, no cycle), and a
malformed document is a GraphError naming the entry and field at fault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzer.core.graph import Graph, GraphError
from analyzer.core.ir import Node, Param, Tensor

SCHEMA = "analyzer.graph/1"
# Saved graphs hold shapes, not weights: a few MB for the largest models.
MAX_FILE_BYTES = 256 * 2**20


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"attribute value {value!r} of type {type(value).__name__} is not JSON-serializable")


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "name": graph.name,
        "framework": graph.framework,
        "meta": _to_json(graph.meta),
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
        "tensors": [
            {"name": t.name, "shape": list(t.shape), "dtype": t.dtype, **({"constant": True} if t.constant else {})}
            for t in graph.tensors.values()
        ],
        "params": [
            {"name": p.name, "shape": list(p.shape), "dtype": p.dtype, "trainable": p.trainable,
             "buffer": p.buffer, "role": p.role}
            for p in graph.params.values()
        ],  # fmt: skip
        "nodes": [
            {"id": n.id, "op": n.op, "inputs": list(n.inputs), "outputs": list(n.outputs),
             "attrs": _to_json(n.attrs), "scope": n.scope, "source_op": n.source_op,
             "meta": _to_json(n.meta)}
            for n in graph.nodes()
        ],  # fmt: skip
    }


class _Entry:
    """Typed field access to one JSON object, with errors naming where it is."""

    def __init__(self, obj: Any, where: str):
        if not isinstance(obj, dict):
            raise GraphError(f"malformed graph document: {where} should be an object")
        self.obj, self.where = obj, where

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.obj:
            if default is ...:
                raise GraphError(f"malformed graph document: {self.where} has no field {key!r}")
            return default
        value = self.obj[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise GraphError(f"malformed graph document: {self.where}.{key} has the wrong type ({type(value).__name__})")
        return value

    def names(self, key: str) -> tuple[str, ...]:
        items = self.get(key, list)
        if not all(isinstance(i, str) for i in items):
            raise GraphError(f"malformed graph document: {self.where}.{key} should list names")
        return tuple(items)

    def shape(self) -> tuple[int, ...]:
        dims = self.get("shape", list)
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
            raise GraphError(f"malformed graph document: {self.where}.shape should list integers")
        return tuple(dims)


def graph_from_dict(doc: dict[str, Any]) -> Graph:
    """Rebuild and strictly validate a graph; raises GraphError naming what is missing or malformed."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise GraphError(f"not an analyzer graph document (schema {found!r}, expected {SCHEMA!r})")
    top = _Entry(doc, "document")
    g = Graph(top.get("name", str, "model"), top.get("framework", str, ""), top.get("meta", dict, {}))
    for i, raw in enumerate(top.get("tensors", list)):
        t = _Entry(raw, f"tensors[{i}]")
        g.add_tensor(Tensor(t.get("name", str), t.shape(), t.get("dtype", str, "float32"), t.get("constant", bool, False)))
    for i, raw in enumerate(top.get("params", list)):
        p = _Entry(raw, f"params[{i}]")
        g.add_param(
            Param(p.get("name", str), p.shape(), p.get("dtype", str, "float32"), p.get("trainable", bool, True),
                  p.get("buffer", bool, False), p.get("role", str, "weight"))
        )  # fmt: skip
    g.inputs = list(top.names("inputs"))
    dup = next((n for n in g.inputs if g.inputs.count(n) > 1), None)
    if dup is not None:
        raise GraphError(f"graph input {dup!r} is listed twice")
    for i, raw in enumerate(top.get("nodes", list)):
        n = _Entry(raw, f"nodes[{i}]")
        g.add_node(
            Node(n.get("id", str), n.get("op", str), n.names("inputs"), n.names("outputs"),
                 _from_json(n.get("attrs", dict, {})), n.get("scope", str, ""), n.get("source_op", str, ""),
                 n.get("meta", dict, {}))
        )  # fmt: skip
    g.set_outputs(list(top.names("outputs")))
    g.validate(strict=True)
    return g


def save_graph(graph: Graph, path: str | Path) -> None:
    Path(path).write_text(json.dumps(graph_to_dict(graph), indent=1))


def load_graph(path: str | Path) -> Graph:
    """Read a saved graph; GraphError (naming ``path``) for anything but a valid ``analyzer.graph/1`` document."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise GraphError(f"{path}: {size / 2**20:.0f} MiB is larger than any saved graph "
                         f"({MAX_FILE_BYTES // 2**20} MiB at most)")  # fmt: skip
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise GraphError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError:
        raise GraphError(f"{path}: not a text file (expected analyzer.graph/1 JSON)") from None
    except RecursionError:
        raise GraphError(f"{path}: JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer literal of thousands of digits
        raise GraphError(f"{path}: not valid JSON ({e})") from None
    try:
        return graph_from_dict(doc)
    except GraphError as e:
        raise GraphError(f"{path}: {e}") from None
