"""ModelProto -> Graph: read, bind the inputs, infer, convert."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analyzer.core.graph import Graph
from analyzer.plugins.frontends.onnx.convert import Converter
from analyzer.plugins.frontends.onnx.infer import infer
from analyzer.plugins.frontends.onnx.inputs import bind_inputs
from analyzer.plugins.frontends.onnx.load import check_model, prepare
from analyzer.plugins.frontends.onnx.table import TABLE


def build_graph(
    model: Any,
    inputs: Any,
    dims: Mapping[str, int] | None,
    *,
    where: str,
    name: str | None,
    table: Mapping[tuple[str, str], Any] = TABLE,
) -> Graph:
    check_model(model, where)
    model = prepare(model, where)
    bound = bind_inputs(model.graph, inputs, dims)
    facts = infer(model, bound, where)
    graph_name = name or model.graph.name or "onnx_model"
    graph = Converter(model, facts, graph_name, where).convert(bound, dict(table))
    graph.meta["capture"] = "onnx"
    graph.meta["warnings"] = list(facts.warnings)
    graph.meta["onnx"] = {"opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0),
                          "producer": f"{model.producer_name} {model.producer_version}".strip()}  # fmt: skip
    return graph
