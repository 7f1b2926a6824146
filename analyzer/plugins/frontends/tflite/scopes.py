"""Layer scopes recovered from the tensor names the TensorFlow converter keeps.

The converter names an op's output after the TF ops it fused, joined by
``;``: ``functional_1/conv1_1/Relu;functional_1/conv1_1/convolution``. The
first name's path without the model prefix (``functional_1``) and the TF op
(``Relu``) is the Keras layer path: ``conv1``.

- Keras 3 traces the model under fresh name scopes, so every layer
  component carries a ``_<n>`` uniquifier (``conv1_1``). When every
  top-level component of the file has one, one such suffix is dropped from
  each component, and a component without one (``moments`` inside a
  LayerNormalization: a TF name scope, not a layer) or a capitalised one
  below the top (``Repeat_1`` in UpSampling2D: TF's CamelCase op scopes)
  ends the path.
- An attention layer is one layer (docs/ir.md, "Scopes and layers"): the
  ``query``/``key``/``value``/``attention_output``/``softmax``/``dropout``
  children of a scope that has ``query``, ``key`` and ``value`` children
  take the parent's scope, as the Keras frontend does for
  ``MultiHeadAttention``.
- Tensors without a path (``serving_default_x:0``,
  ``StatefulPartitionedCall:0``, ``tfl.quantize``) give no scope: the
  emitter gives such an op its neighbours' scope when it sits between two
  ops of the same layer (a ``QUANTIZE`` the converter inserted), or is
  the graph's last op and a view of its producer's output, else a layer of
  its own named after the op (``softmax_6``).
"""

from __future__ import annotations

import re

_SUFFIX = re.compile(r"_\d+$")
ATTENTION_PARTS = ("query", "key", "value")
ATTENTION_CHILDREN = frozenset({*ATTENTION_PARTS, "attention_output", "softmax", "dropout"})


def raw_path(tensor_name: str) -> tuple[str, ...]:
    """The layer path of a tensor name (model prefix and TF op dropped), possibly empty."""
    first = tensor_name.split(";", 1)[0].split(":", 1)[0]
    parts = [p for p in first.split("/") if p]
    return tuple(parts[1:-1]) if len(parts) >= 3 else ()


class Scopes:
    """Scope per op output name, with the converter's uniquifier removed file-wide."""

    def __init__(self, names: list[str]):
        paths = [raw_path(n) for n in names]
        tops = [p[0] for p in paths if p]
        self._strip = bool(tops) and all(_SUFFIX.search(c) for c in tops)
        cleaned = {self._clean(p) for p in paths}
        prefixes = {p[:i] for p in cleaned for i in range(1, len(p) + 1)}
        self._attention = {
            p[:-1] for p in prefixes if p and all((*p[:-1], c) in prefixes for c in ATTENTION_PARTS)
        }

    def _clean(self, path: tuple[str, ...]) -> tuple[str, ...]:
        if not self._strip:
            return path
        out: list[str] = []
        for c in path:
            if not _SUFFIX.search(c) or (out and c[:1].isupper()):
                break  # a TF name scope inside the layer (moments, Repeat_1, Tensordot)
            out.append(_SUFFIX.sub("", c))
        return tuple(out)

    def scope(self, tensor_name: str) -> str:
        path = self._clean(raw_path(tensor_name))
        for i in range(len(path) - 1):
            if path[: i + 1] in self._attention and _base(path[i + 1]) in ATTENTION_CHILDREN:
                path = path[: i + 1]
                break
        return ".".join(path)


def _base(component: str) -> str:
    """``softmax_1`` -> ``softmax``: Keras numbers a layer's second sublayer of a kind."""
    return _SUFFIX.sub("", component)
