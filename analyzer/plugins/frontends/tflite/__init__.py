"""TFLite frontend: ``.tflite`` flatbuffers read with the ``tflite`` package, no TensorFlow.

The file is parsed, never run (``reader``); builtin operators map onto
canonical ops (``handlers``) in the subgraph's operator order, with their
tensors' stored dtypes and quantization. ``load_file`` returns the file's
bytes as a ``TFLiteModel``; raw ``bytes`` holding a TFLite flatbuffer are
accepted too. See docs/frontends/tflite.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl

MAX_FILE_BYTES = 2**31  # flatbuffers address at most 2 GiB


@dataclass(frozen=True)
class TFLiteModel:
    """The bytes of a .tflite file and the name to report it under."""

    data: bytes
    name: str = "model"
    source: str = "TFLite model"  # how errors name it: the file's path

    @classmethod
    def from_file(cls, path: str | Path) -> TFLiteModel:
        p = Path(path)
        if not p.is_file():
            raise AnalysisError(f"no such file: {p}")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise AnalysisError(f"{p}: larger than a TFLite flatbuffer can be (2 GiB)")
        return cls(p.read_bytes(), p.stem, str(p))


class TFLiteFrontend(Frontend):
    name = "tflite"
    file_suffixes = (".tflite",)
    # plugin op mappings (analyzer_register_op_mappings, framework "tflite"): source op a builtin
    # name (L2_POOL_2D) or a custom op's code (MyOp, or CUSTOM:MyOp); consulted before the handlers
    takes_op_mappings = True
    _op_mappings: dict[str, Any] = {}

    def bind_plugins(self, plugins: Any) -> None:
        self._op_mappings = plugins.op_mappings.for_framework(self.name)
        if self._op_mappings:  # two plugins' names for one op are refused when the set loads
            from analyzer.plugins.frontends.tflite.mappings import with_plugin_mappings

            with_plugin_mappings(self._op_mappings)

    def accepts(self, obj: object) -> bool:
        if isinstance(obj, TFLiteModel):
            return True
        from analyzer.plugins.frontends.tflite.reader import is_tflite

        return isinstance(obj, bytes | bytearray) and is_tflite(obj)

    def accepts_file(self, path: Path) -> bool:
        """A file without the ``.tflite`` suffix whose header carries the ``TFL3`` identifier."""
        from analyzer.plugins.frontends.tflite.reader import is_tflite

        try:
            with open(path, "rb") as f:
                return is_tflite(f.read(8))
        except OSError:
            return False

    def load_file(self, path: Path) -> Any:
        return TFLiteModel.from_file(path)

    def to_graph(
        self, model: Any, inputs: Any = None, *, params: Any = None, **options: Any
    ) -> Graph:
        if params is not None:
            raise UsageError(
                "the tflite frontend takes no params: a .tflite file holds its weights"
            )
        if options:
            raise UsageError(
                f"the tflite frontend takes no options (got {', '.join(sorted(options))})"
            )
        if isinstance(model, bytes | bytearray):
            model = TFLiteModel(bytes(model))
        if not isinstance(model, TFLiteModel):
            raise AnalysisError(
                f"the tflite frontend takes a .tflite file or its bytes, not {type(model).__name__}"
            )
        from analyzer.plugins.frontends.tflite.convert import to_graph
        from analyzer.plugins.frontends.tflite.mappings import with_plugin_mappings
        from analyzer.plugins.frontends.tflite.reader import read

        handlers = with_plugin_mappings(self._op_mappings)
        return to_graph(read(model.data, model.source), inputs, model.name, model.source, handlers)


@hookimpl
def analyzer_register_frontends(register):
    register(TFLiteFrontend())
