"""JSON round-trip of the IR: a saved graph can be analyzed without its framework.

The document is ``{"schema": "analyzer.graph/1", ...}``. Attribute values
are JSON values; lists are read back as tuples, so a graph compares equal
after a round-trip.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzer.core.graph import Graph, GraphError
from analyzer.core.ir import Node, Param, Tensor

SCHEMA = "analyzer.graph/1"


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


def graph_from_dict(doc: dict[str, Any]) -> Graph:
    """Rebuild a graph; raises GraphError naming what is missing or malformed."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise GraphError(f"not an analyzer graph document (schema {found!r}, expected {SCHEMA!r})")
    try:
        g = Graph(doc.get("name", "model"), doc.get("framework", ""), _from_json(doc.get("meta", {})))
        for t in doc["tensors"]:
            g.add_tensor(Tensor(t["name"], tuple(t["shape"]), t.get("dtype", "float32"), bool(t.get("constant", False))))
        for p in doc["params"]:
            g.add_param(
                Param(p["name"], tuple(p["shape"]), p.get("dtype", "float32"), bool(p.get("trainable", True)),
                      bool(p.get("buffer", False)), p.get("role", "weight"))
            )  # fmt: skip
        g.inputs = list(doc["inputs"])
        for n in doc["nodes"]:
            g.add_node(
                Node(n["id"], n["op"], tuple(n["inputs"]), tuple(n["outputs"]), _from_json(n.get("attrs", {})),
                     n.get("scope", ""), n.get("source_op", ""), _from_json(n.get("meta", {})))
            )  # fmt: skip
        g.set_outputs(list(doc["outputs"]))
    except (KeyError, TypeError) as e:
        raise GraphError(f"malformed graph document: missing or invalid field {e}") from None
    return g


def save_graph(graph: Graph, path: str | Path) -> None:
    Path(path).write_text(json.dumps(graph_to_dict(graph), indent=1))


def load_graph(path: str | Path) -> Graph:
    try:
        doc = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise GraphError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    return graph_from_dict(doc)
