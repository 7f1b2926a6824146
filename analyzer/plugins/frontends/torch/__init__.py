"""PyTorch frontend: nn.Modules, plain callables and torch.export programs into the IR.

The framework is imported lazily: ``accepts`` only looks at ``sys.modules``
(an object cannot be a torch module unless torch is already imported), and
the capture modules import torch when a model is converted.

- ``capture``: choice of capture path and fallbacks, eval mode;
- ``meta_rules``: what a meta trace cannot do (the fallback rule's facts);
- ``restore``: the module left exactly as it was, whatever the capture did;
- ``memory_guard``: the limit on what a real trace may allocate;
- ``dispatch``: dispatch-level trace (meta tensors by default, real on fallback);
- ``export``: torch.export capture, ``.pt2`` loading, ExportedProgram conversion;
- ``aten_table`` + ``handlers``, ``sequence``: the ATen -> canonical op map;
- ``shortcuts``: output shapes of ops whose meta kernels are slow;
- ``recorder``: IR building (naming, SSA, weights vs activations);
- ``params``, ``inputs``: the module's parameters; the user's inputs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from analyzer.core.errors import UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl


class TorchFrontend(Frontend):
    name = "torch"
    takes_op_mappings = True  # plugin op mappings (analyzer_register_op_mappings), see bind_plugins
    # pickle suffixes are listed so that they reach load_file's refusal (pickles are never loaded)
    file_suffixes = (".pt2", ".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".npy", ".npz")
    _op_handlers: dict[str, Any] = {}  # plugin op mappings (aten_table.plugin_handlers), from bind_plugins

    def bind_plugins(self, plugins: Any) -> None:
        """Take the plugin set's ``torch`` op mappings, consulted before the ATen table."""
        mappings = plugins.op_mappings.for_framework(self.name)
        if mappings:  # the table modules load only when a plugin maps something (no torch import)
            from analyzer.plugins.frontends.torch.aten_table import plugin_handlers

            self._op_handlers = plugin_handlers(mappings)

    def accepts(self, obj: object) -> bool:
        torch = sys.modules.get("torch")
        if torch is None or not hasattr(torch, "nn"):
            return False
        if isinstance(obj, torch.nn.Module):
            # Keras layers on the torch backend are nn.Modules too: they are the Keras frontend's
            return not any(c.__module__.startswith("keras.") for c in type(obj).__mro__)
        export = sys.modules.get("torch.export")
        return export is not None and isinstance(obj, export.ExportedProgram)

    def load_file(self, path: Path) -> Any:
        from analyzer.plugins.frontends.torch.archive import refuse_pickle_file

        refuse_pickle_file(path)  # before importing torch: a refusal needs no framework
        from analyzer.plugins.frontends.torch.export import load_program

        return load_program(path)

    def to_graph(
        self, model: Any, inputs: Any = None, *, params: Any = None, **options: Any
    ) -> Graph:
        from analyzer.plugins.frontends.torch.aten_table import PLUGIN_HANDLERS
        from analyzer.plugins.frontends.torch.capture import convert

        if params is not None:
            raise UsageError(
                "the torch frontend reads parameters from the module itself; 'params' does not apply"
            )
        capture = options.pop("capture", None)
        scripted = _is_torchscript(model)
        if capture is None:  # meta tensors cannot run compiled TorchScript code: real tensors can
            capture = "real" if scripted else "meta"
        max_memory = options.pop("max_memory", None)
        train_mode = options.pop("train_mode", False)
        if options:
            raise UsageError(
                f"unknown torch frontend option(s): {', '.join(sorted(options))} "
                "(known: capture, max_memory, train_mode)"
            )
        if not isinstance(train_mode, bool):
            raise UsageError(f"train_mode must be True or False, not {train_mode!r}")
        with PLUGIN_HANDLERS.using(self._op_handlers):
            graph = convert(model, inputs, str(capture), max_memory=max_memory, train_mode=train_mode)
        if scripted:
            graph.meta["warnings"].append(
                "a TorchScript module: captured on real tensors (compiled code runs no Python module "
                "calls, so its ops have no module scopes); the eager nn.Module gives per-module layers"
            )
        return graph


def _is_torchscript(model: Any) -> bool:
    """``torch.jit.script`` / ``torch.jit.trace`` output (torch is imported: the model is one of its objects)."""
    import torch

    return isinstance(model, torch.jit.ScriptModule)


@hookimpl
def analyzer_register_frontends(register):
    register(TorchFrontend())
