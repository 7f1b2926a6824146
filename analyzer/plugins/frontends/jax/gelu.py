"""Recognise GELU, which ``jax.nn.gelu`` lowers to several primitives.

``jax.nn.gelu`` is not a named call: the jaxpr holds ``x * 0.5 * (1 +
tanh(c (x + 0.044715 x^3)))`` (approximate) or ``0.5 x erfc(-x / sqrt 2)``.
Left as is, each primitive would be a layer of its own at the top level
and allocate a tensor, where PyTorch and Keras have one in-place
activation. A region of elementwise ops of one scope that reads a single
activation ``x``, contains a ``tanh`` and a cube of ``x`` (or an ``erf``),
and hands one tensor of ``x``'s shape to the rest of the graph becomes one
``gelu`` node.
"""

from __future__ import annotations

from analyzer.core.ir import Node

from .staging import Staged

_ELEMENTWISE = frozenset(
    {"mul", "add", "sub", "div", "neg", "pow", "square", "tanh", "erf", "copy", "identity"}
)


def fuse_gelu(s: Staged) -> None:
    index = {n.id: i for i, n in enumerate(s.nodes)}
    for seed in [n for n in s.nodes if n.op in ("tanh", "erf")]:
        if seed.id not in index:
            continue
        region = _region(s, seed)
        if region is None:
            continue
        nodes, x, out = region
        approximate = "tanh" if any(n.op == "tanh" for n in nodes) else "none"
        if approximate == "tanh" and not any(
            n.op == "pow" and n.attrs.get("exponent") == 3 for n in nodes
        ):
            continue
        attrs = {"approximate": approximate}
        if seed.repeat != 1:
            attrs["repeat"] = seed.repeat
        last = s.nodes[max(index[n.id] for n in nodes)].id
        gelu = Node(
            last, "gelu", (x,), (out,), attrs, seed.scope, f"jax.nn.gelu ({len(nodes)} primitives)"
        )
        ids = {n.id for n in nodes}
        s.nodes[:] = [
            gelu if n.id == last else n for n in s.nodes if n.id == last or n.id not in ids
        ]
        index = {n.id: i for i, n in enumerate(s.nodes)}


def _region(s: Staged, seed: Node) -> tuple[list[Node], str, str] | None:
    producers, users = s.producers(), s.consumers()

    def member(n: Node | None) -> bool:
        return (
            n is not None
            and n.op in _ELEMENTWISE
            and n.scope == seed.scope
            and n.repeat == seed.repeat
        )

    def acts(n: Node) -> list[str]:
        return [t for t in n.inputs if t not in s.params and not s.is_constant(t)]

    region: dict[str, Node] = {}
    external: set[str] = set()

    def pull(t: str) -> None:
        """Add the elementwise ancestors of ``t`` (stopping at non-members)."""
        p = producers.get(t)
        if not member(p):
            external.add(t)
            return
        if p.id in region:
            return
        region[p.id] = p
        for i in acts(p):
            pull(i)

    pull(seed.outputs[0])
    if len(external) != 1:
        return None
    (x,) = external
    out = seed.outputs[0]
    closed = False  # the op bringing x back in (x * cdf) ends the function; copies may follow
    while True:
        us = users.get(out, [])
        if len(us) != 1 or out in s.outputs or not member(us[0]):
            break
        nxt = us[0]
        if closed and nxt.op not in ("copy", "identity"):
            break
        side = [i for i in acts(nxt) if i != out]
        for i in side:
            pull(i)
        closed = closed or bool(side)
        region[nxt.id] = nxt
        out = nxt.outputs[0]
        if external != {x}:
            return None
    if not closed:
        return None
    nodes = list(region.values())
    inner = {t for n in nodes for t in n.outputs} - {out}
    if any(u.id not in region for t in inner for u in users.get(t, [])) or inner & set(s.outputs):
        return None
    if s.shape(out) != s.shape(x) or len(nodes) < 3:
        return None
    return nodes, x, out
