"""Collapse normalization module calls into one canonical node.

Flax and Equinox norms lower to a dozen primitives (means, rsqrt, scale,
shift) inside the module's scope: the layer's params and activations are
already right, but its FLOPs would follow JAX's primitive count instead of
the documented per-op convention PyTorch and Keras get (batch_norm 2 per
element at inference, layer_norm 5 + 1 per affine parameter...). A call of a
module whose class is a known norm, reading one activation and producing
one tensor of the same shape, becomes that single op.
"""

from __future__ import annotations

from typing import Any

from analyzer.core.ir import Node

from .staging import Staged
from .views import leaf_name, param_sources

NORM_KINDS = {
    "BatchNorm": "batch_norm", "LayerNorm": "layer_norm", "GroupNorm": "group_norm",
    "RMSNorm": "rms_norm", "InstanceNorm": "instance_norm",
}  # fmt: skip
_ROLES = {
    "scale": "scale", "weight": "scale", "gamma": "scale", "bias": "shift", "beta": "shift", "offset": "shift",
    "mean": "mean", "running_mean": "mean", "var": "var", "running_var": "var", "variance": "var",
}  # fmt: skip
_REDUCTIONS = frozenset({"reduce_sum", "reduce_mean", "reduce_max", "reduce_var"})


def collapse_norms(s: Staged, kinds: dict[str, str]) -> None:
    runs: dict[str, list[Node]] = {}
    for n in s.nodes:
        if NORM_KINDS.get(kinds.get(n.scope, "")):
            runs.setdefault(n.scope, []).append(n)
    if not runs:
        return
    # computed once: a collapse replaces a contiguous run by one node, which shifts later
    # positions alike and leaves the readers of other runs' tensors as they were
    src, users = param_sources(s), s.consumers()
    position = {n.id: i for i, n in enumerate(s.nodes)}
    replace: dict[str, Node] = {}  # last node of a run -> the norm node
    drop: set[str] = set()
    for scope, nodes in runs.items():
        node = _collapse(s, nodes, NORM_KINDS[kinds[scope]], src, users, position)
        if node is not None:
            replace[nodes[-1].id] = node
            drop.update(n.id for n in nodes[:-1])
    if replace:
        s.nodes[:] = [replace.get(n.id, n) for n in s.nodes if n.id not in drop]


def _collapse(
    s: Staged, nodes: list[Node], op: str, src: dict[str, str], users: dict[str, list[Node]],
    position: dict[str, int],
) -> Node | None:  # fmt: skip
    """One norm node for a module call's ``nodes``; its parameters are read directly
    (through their views and, in a scanned layer, the per-step slices)."""
    ids = {n.id for n in nodes}
    if [position[n.id] for n in nodes] != list(
        range(position[nodes[0].id], position[nodes[-1].id] + 1)
    ):
        return None  # not one contiguous call
    repeats = {n.repeat for n in nodes if n.op != "constant"}  # folded constants: repeat 1
    if any(n.op in ("conv", "linear", "dot_general") for n in nodes) or len(repeats) != 1:
        return None
    (repeat,) = repeats
    produced = {t for n in nodes for t in n.outputs}
    external = {
        t
        for n in nodes
        for t in n.inputs
        if t not in produced and t not in src and not s.is_constant(t)
    }
    leaving = [
        t for t in produced if t in s.outputs or any(u.id not in ids for u in users.get(t, []))
    ]
    if len(external) != 1 or len(leaving) != 1:
        return None
    (x,), (out,) = tuple(external), leaving
    shape = s.shape(x)
    if s.shape(out) != shape:
        return None
    params = list(
        dict.fromkeys(src[t] for n in nodes for t in n.inputs if t in src and t not in produced)
    )
    attrs: dict[str, Any] = {}
    axes = next((n.attrs["axes"] for n in nodes if n.op in _REDUCTIONS), ())
    if op == "batch_norm":
        attrs["channel_axis"] = _channel_axis(s, nodes, len(shape), src)
        # running statistics are read as parameters; batch statistics are reduced from x
        attrs["training"] = not any(s.params[p].trainable is False for p in params)
    elif op == "group_norm":
        attrs["channel_axis"] = len(shape) - 1
        grouped = next(
            (s.shape(n.outputs[0]) for n in nodes if n.op == "reshape" and n.inputs[0] == x), None
        )
        if grouped is not None and len(grouped) == len(shape) + 1:
            attrs["groups"] = grouped[-2]
    else:
        attrs["axes"] = tuple(a % len(shape) for a in axes)
        if op != "rms_norm":
            attrs["channel_axis"] = len(shape) - 1
    for p in params:  # a norm's weight is its scale, its bias a shift
        leaf = leaf_name(p)
        role = _ROLES.get(leaf)
        if role and not s.params[p].role:
            s.params[p].role = role
    if repeat != 1:
        attrs["repeat"] = repeat
    kind = "+".join(dict.fromkeys(n.source_op for n in nodes))
    return Node(
        nodes[-1].id,
        op,
        (x, *params),
        (out,),
        attrs,
        nodes[0].scope,
        f"{len(nodes)} primitives: {kind}",
    )


def _channel_axis(s: Staged, nodes: list[Node], rank: int, src: dict[str, str]) -> int:
    """The axis a parameter is broadcast along (its reshape has one non-unit dim)."""
    for n in nodes:
        if n.op in ("reshape", "expand") and n.inputs[0] in src:
            out = s.shape(n.outputs[0])
            wide = [i for i, d in enumerate(out) if d != 1]
            if len(out) == rank and len(wide) == 1:
                return wide[0]
    return rank - 1
