"""ONNX frontend: ``.onnx`` files and ``onnx.ModelProto`` objects into the IR.

``onnx`` is imported lazily (``analyzer[onnx]``): ``accepts`` looks at
``sys.modules`` and ``looks_like_onnx`` at a file's first bytes.

- ``load``: reading files (protobuf only, external weights never read);
- ``inputs``: input shapes, symbolic dims bound by the user;
- ``infer``: ``onnx.shape_inference`` plus ``fold`` (constant shape arithmetic);
- ``convert``: the walk, operand kinds, parameters, emission;
- ``table`` -> ``layers``, ``handlers``, ``quant``: op_type -> canonical ops;
- ``scopes``: module paths from exporter node names.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from analyzer.core.errors import UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.plugins.frontends.onnx.load import looks_like_onnx


class OnnxFrontend(Frontend):
    name = "onnx"
    file_suffixes = (".onnx",)
    # plugin op mappings (analyzer_register_op_mappings, framework "onnx"): source op ``OpType``
    # (standard domain) or ``domain::OpType``; consulted before the built-in table
    takes_op_mappings = True
    _op_mappings: dict[str, Any] = {}

    def bind_plugins(self, plugins: Any) -> None:
        self._op_mappings = plugins.op_mappings.for_framework(self.name)

    def accepts(self, obj: object) -> bool:
        onnx = sys.modules.get("onnx")
        return onnx is not None and hasattr(onnx, "ModelProto") and isinstance(obj, onnx.ModelProto)

    def accepts_file(self, path: Path) -> bool:
        """A file without the ``.onnx`` suffix whose first bytes are a ModelProto's."""
        return looks_like_onnx(path)

    def load_file(self, path: Path) -> Any:
        from analyzer.plugins.frontends.onnx.load import read_model

        model = read_model(path)
        return _Loaded(model, path)

    def to_graph(
        self, model: Any, inputs: Any = None, *, params: Any = None, **options: Any
    ) -> Graph:
        from analyzer.plugins.frontends.onnx.build import build_graph
        from analyzer.plugins.frontends.onnx.table import with_plugin_mappings

        if params is not None:
            raise UsageError("an ONNX model holds its own weights; 'params' does not apply")
        dims = options.pop("dims", None)
        if options:
            raise UsageError(
                f"unknown onnx frontend option(s): {', '.join(sorted(options))} (known: dims)"
            )
        table = with_plugin_mappings(self._op_mappings)
        if isinstance(model, _Loaded):
            return build_graph(
                model.model, inputs, dims, where=str(model.path), name=model.path.stem, table=table
            )
        return build_graph(model, inputs, dims, where="ONNX model", name=None, table=table)


class _Loaded:
    """A ModelProto read from a file, with the path its messages name."""

    def __init__(self, model: Any, path: Path):
        self.model, self.path = model, path


@hookimpl
def analyzer_register_frontends(register):
    register(OnnxFrontend())
