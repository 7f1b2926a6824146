"""Layer scopes recovered from the tensor names the TensorFlow converter keeps.

The converter names an op's output after the TF ops it fused, joined by
``;``: ``functional_1/conv1_1/Relu;functional_1/conv1_1/convolution``. The
first name's path without the model prefix (``functional_1``) and the TF op
(``Relu``) is the Keras layer: ``conv1``. Keras 3 traces the model under a
fresh name scope, so every component carries the same ``_1`` uniquifier;
when all layer components of a file end in ``_<n>``, one such suffix is
dropped. Tensors without a path (``serving_default_x:0``,
``StatefulPartitionedCall:0``, ``tfl.quantize``) give no scope: the op is a
layer of its own, named after the op (``softmax_6``).
"""

from __future__ import annotations

import re

_SUFFIX = re.compile(r"_\d+$")


def raw_path(tensor_name: str) -> tuple[str, ...]:
    """The layer path of a tensor name (model prefix and TF op dropped), possibly empty."""
    first = tensor_name.split(";", 1)[0].split(":", 1)[0]
    parts = [p for p in first.split("/") if p]
    return tuple(parts[1:-1]) if len(parts) >= 3 else ()


class Scopes:
    """Scope per op output name, with the converter's uniquifier removed file-wide."""

    def __init__(self, names: list[str]):
        paths = [raw_path(n) for n in names]
        components = [c for p in paths for c in p]
        self._strip = bool(components) and all(_SUFFIX.search(c) for c in components)

    def scope(self, tensor_name: str) -> str:
        path = raw_path(tensor_name)
        if self._strip:
            path = tuple(_SUFFIX.sub("", c) for c in path)
        return ".".join(path)
