"""Keras 3 frontend: Sequential, functional, nested and subclassed models on any backend.

The model is called on symbolic ``KerasTensor``s of concrete shape while
layer and ``keras.ops`` calls are recorded (``capture``); each recorded call
becomes canonical IR nodes (``layers_nn``, ``layers_misc``, ``ops_table``).
Nothing runs on data. Saved ``.keras`` files load with ``safe_mode=True``
(no arbitrary code), legacy ``.h5`` files through Keras's legacy loader
(also in safe mode). See docs/frontends/keras.md.

Keras is imported only when a model is converted or a file loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl


class KerasFrontend(Frontend):
    name = "keras"
    takes_op_mappings = True  # plugin op mappings (analyzer_register_op_mappings), see bind_plugins
    file_suffixes = (".keras", ".h5", ".hdf5")
    _op_mappings: dict[str, Any] = {}  # plugin op mappings by source op, from bind_plugins

    def bind_plugins(self, plugins: Any) -> None:
        """Take the plugin set's ``keras`` op mappings (handlers are made at conversion: Keras loads then)."""
        self._op_mappings = plugins.op_mappings.for_framework(self.name)

    def accepts(self, obj: object) -> bool:
        if "keras" not in sys.modules:
            return False
        from keras.src.layers.layer import Layer

        return isinstance(obj, Layer)

    def load_file(self, path: Path) -> Any:
        from analyzer.plugins.frontends.keras.saved import load

        return load(path)

    def to_graph(
        self, model: Any, inputs: Any = None, *, params: Any = None, **options: Any
    ) -> Graph:
        if params is not None:
            raise UsageError("the keras frontend takes no params: a Keras model owns its weights")
        if options:
            raise UsageError(
                f"the keras frontend takes no options (got {', '.join(sorted(options))})"
            )
        if not self.accepts(model):
            raise AnalysisError(
                f"the keras frontend takes a keras.Model or keras.Layer, not {type(model).__name__}"
            )
        from analyzer.plugins.frontends.keras.convert import to_graph
        from analyzer.plugins.frontends.keras.handlers import PLUGIN_HANDLERS, plugin_handlers

        with PLUGIN_HANDLERS.using(plugin_handlers(self._op_mappings)):
            return to_graph(model, inputs)


@hookimpl
def analyzer_register_frontends(register):
    register(KerasFrontend())
