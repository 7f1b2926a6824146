"""Frontend for the IR itself: ``Graph`` objects and saved graph JSON files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph, GraphError
from analyzer.core.hookspecs import hookimpl
from analyzer.core.serialize import load_graph


class IRFrontend(Frontend):
    name = "ir"
    file_suffixes = (".json",)

    def accepts(self, obj: object) -> bool:
        return isinstance(obj, Graph)

    def load_file(self, path: Path) -> Graph:
        try:
            return load_graph(path)
        except GraphError as e:  # the message names the file
            raise AnalysisError(str(e)) from None
        except OSError as e:
            raise AnalysisError(f"{path}: cannot read ({e.strerror})") from None

    def to_graph(self, model: Any, inputs: Any = None, *, params: Any = None, **options: Any) -> Graph:
        if not isinstance(model, Graph):
            raise AnalysisError(f"the ir frontend takes a Graph, not {type(model).__name__}")
        if inputs is not None:
            raise UsageError("a saved graph has fixed input shapes; --input-shape does not apply")
        if options:
            raise UsageError(f"the ir frontend takes no options (got {', '.join(options)})")
        model.meta.setdefault("capture", "ir")
        return model


@hookimpl
def analyzer_register_frontends(register):
    register(IRFrontend())
