"""Layer scopes recovered from exporter node names.

PyTorch's exporters name a node after the module calls it ran in:
``/layer1/layer1.0/conv1/Conv`` is the ``Conv`` of module ``layer1.0.conv1``.
Each path component is the module's name *relative to the component
before it* when that one is a container (``features`` then
``features.1``, ``conv`` then ``conv.0``), so a component that extends the
previous one replaces it. A module called again gets ``_k`` (``relu_1``):
that is the IR's ``@k`` (``relu@1``), as the PyTorch frontend writes it.

Names without that form (other exporters, hand-built graphs) give no
scope: each such node is a layer of its own, named by its node id.
"""

from __future__ import annotations

import re

_CALL = re.compile(r"^(.+)_(\d+)$")


class ScopeNamer:
    """Turns node names into module paths, remembering which modules were seen."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def scope(self, node_name: str) -> str:
        """``/layer1/layer1.0/relu_1/Relu`` -> ``layer1.0.relu@1``; '' when the name has no path."""
        if not node_name.startswith("/"):
            return ""
        path: list[str] = []
        last = ""
        for part in (p for p in node_name.split("/")[1:-1] if p):
            if last and part.startswith(last + "."):  # ``conv.0`` continues ``conv``: replaces it
                path[-1] = self._call(".".join(path[:-1]), part)
            else:
                path.append(self._call(".".join(path), part))
            last = part
        for i in range(1, len(path) + 1):
            self._seen.add(".".join(path[:i]))
        return ".".join(path)

    def _call(self, parent: str, part: str) -> str:
        """``relu_1`` is the second call of ``relu`` when ``relu`` ran before under the same parent."""
        m = _CALL.match(part)
        if m is not None:
            base = f"{parent}.{m.group(1)}" if parent else m.group(1)
            if base in self._seen:
                return f"{m.group(1)}@{m.group(2)}"
        return part
