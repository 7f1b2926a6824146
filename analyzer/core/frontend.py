"""The frontend contract: turn a framework's model object or file into a Graph."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from analyzer.core.graph import Graph
from analyzer.core.ir import Tensor


class Frontend(ABC):
    """Converts models of one framework into the IR.

    Subclasses set ``name`` (unique, e.g. ``"torch"``) and ``file_suffixes``
    (files ``load_file`` reads, e.g. ``(".pt2",)``). ``accepts`` must be
    cheap and must not import the framework: check ``sys.modules`` or the
    object's type module, so ``python -m analyzer`` runs without it.
    """

    name: str = ""
    file_suffixes: tuple[str, ...] = ()

    @abstractmethod
    def accepts(self, obj: object) -> bool:
        """True when ``obj`` is a model this frontend converts."""

    @abstractmethod
    def to_graph(self, model: Any, inputs: Any = None, *, params: Any = None, **options: Any) -> Graph:
        """Convert ``model`` called on ``inputs`` into a Graph, without real weights.

        ``inputs`` is whatever the user gave: example tensors, shapes (a
        tuple of ints, or a list of them), or None when the model declares
        its own. ``params`` is the parameter pytree for functional models.
        The frontend records how it captured the model in
        ``graph.meta["capture"]`` and anything the user should know in
        ``graph.meta["warnings"]`` (a list of strings). Raise
        ``AnalysisError`` (one line) when the model cannot be converted.
        """

    def accepts_params(self, model: object, params: object) -> bool:
        """True when ``model`` (a plain callable no frontend ``accepts``) is this frontend's,
        judged by the parameters given with it (e.g. a pytree of JAX arrays).

        Optional: asked only after every frontend's ``accepts`` said no, and
        only when ``params`` were given. Must be cheap and import nothing.
        """
        return False

    def accepts_file(self, path: Path) -> bool:
        """True when ``path`` (a file whose suffix no frontend lists) holds this frontend's format.

        Optional: asked only for such files, to recognise a model saved
        without its suffix by its first bytes (the ONNX frontend reads the
        protobuf header). Must read little and import nothing heavy.
        """
        return False

    def load_file(self, path: Path) -> Any:
        """Load a saved model from ``path`` safely (never unpickle untrusted data).

        Returns an object ``to_graph`` accepts. Only called for paths whose
        suffix is in ``file_suffixes`` or that ``accepts_file`` recognised.
        """
        raise NotImplementedError(f"frontend {self.name!r} reads no files")


def shape_inputs(inputs: Any, default_dtype: str = "float32") -> list[Tensor] | None:
    """Inputs given as shapes, as ``Tensor`` specs; None when they are not shapes.

    Accepts a ``Tensor``, a shape (tuple of ints), or a list/tuple of those.
    Framework tensors and other objects return None: the frontend handles them.
    """

    def is_shape(x: Any) -> bool:
        return isinstance(x, tuple | list) and all(isinstance(d, int) and not isinstance(d, bool) for d in x)

    if isinstance(inputs, Tensor):
        return [inputs]
    if is_shape(inputs) and inputs:
        return [Tensor("input", tuple(inputs), default_dtype)]
    if isinstance(inputs, list | tuple) and inputs and all(isinstance(x, Tensor) or is_shape(x) for x in inputs):
        names = [f"input{i}" if len(inputs) > 1 else "input" for i in range(len(inputs))]
        return [x if isinstance(x, Tensor) else Tensor(n, tuple(x), default_dtype) for n, x in zip(names, inputs, strict=True)]
    return None
