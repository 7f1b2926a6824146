"""Rewrites of the staged nodes that make JAX agree with the other frameworks.

JAX lowers a Dense to ``dot_general`` + a broadcast ``add`` of the bias, a
Conv to ``conv_general_dilated`` + ``add``, average pooling to a window sum
and a division, ``jnp.mean`` to a sum and a division. These passes turn such
groups back into the canonical ops the other frontends produce
(``linear``/``conv`` with a bias operand, ``avg_pool``, ``reduce_mean``), so
params, MACs, FLOPs (``bias=False`` included) and activations agree, and
give parameters their roles.
"""

from __future__ import annotations

import math

from analyzer.core.ir import Node, Tensor

from .gelu import fuse_gelu
from .norms import collapse_norms
from .scopes import CALL_SEP
from .staging import Staged
from .views import PARAM_VIEWS, is_step_slice, leaf_name, param_sources, param_views

_CONTRACTIONS = frozenset({"conv", "linear", "dot_general", "matmul", "einsum"})

ROLE_BY_LEAF = {
    "kernel": "weight", "weight": "weight", "w": "weight",
    "bias": "bias", "b": "bias",
    "scale": "scale", "gamma": "scale",
    "beta": "shift", "shift": "shift", "offset": "shift",
    "mean": "mean", "running_mean": "mean", "moving_mean": "mean",
    "var": "var", "running_var": "var", "moving_variance": "var", "variance": "var",
    "embedding": "embedding", "embeddings": "embedding",
}  # fmt: skip


def run_passes(s: Staged, module_kinds: dict[str, str]) -> None:
    """All rewrites, in order; ``module_kinds`` maps call scopes to module class names."""
    collapse_norms(s, module_kinds)
    fuse_gelu(s)
    to_linear(s)
    fold_bias(s)
    to_embedding(s)
    fuse_avg_pool(s)
    fuse_mean(s)
    drop_dead_param_views(s)
    assign_roles(s)


def _remove(s: Staged, dead: set[str]) -> None:
    s.nodes[:] = [n for n in s.nodes if n.id not in dead]


def to_linear(s: Staged) -> None:
    """``dot_general`` of an activation with a parameter ``W``, contracting the
    activation's last dim with one dim of ``W``, no batch dims: a ``linear``
    layer (weight layout free; a Flax ``DenseGeneral`` kernel ``(in, heads,
    dim)`` gives outputs ``(..., heads, dim)``).

    Contracting the activation's last k dims with ``W``'s first k dims (the
    output projection of attention: ``(..., heads, dim) x (heads, dim, out)``)
    is the same linear layer on the activation with those dims flattened by a
    free ``reshape`` view, as PyTorch and Keras compute it.

    When a 2-D weight is the left operand (Equinox: ``W x``) and ``x`` has
    batch dims (under ``vmap``), the output is ``(out, ...)``; the transpose
    that follows is absorbed.
    """
    (src, seen), users = param_views(s), s.consumers()
    dead: set[str] = set()
    views: dict[str, Node] = {}  # node id -> the reshape to insert before it
    for n in s.nodes:
        a = n.attrs
        k = len(a.get("lhs_contracting", ()))
        if n.op != "dot_general" or a["lhs_batch"] or k == 0:
            continue
        lhs, rhs = n.inputs
        for x, w, xc, wc, x_is_lhs in (
            (lhs, rhs, a["lhs_contracting"], a["rhs_contracting"], True),
            (rhs, lhs, a["rhs_contracting"], a["lhs_contracting"], False),
        ):
            p = src.get(w)
            x_rank = len(s.shape(x))
            if p is None or x in src or tuple(xc) != tuple(range(x_rank - k, x_rank)):
                continue
            rank = len(seen[w])
            if len(s.shape(w)) != rank or rank < 2 or (rank > 2 and not x_is_lhs):
                continue
            if k > 1 and (not x_is_lhs or tuple(wc) != tuple(range(k))):
                continue
            if k > 1:
                views[n.id] = _flatten_view(s, x, k, n)
                x = views[n.id].outputs[0]
            if not x_is_lhs and len(s.shape(x)) > 1:
                transpose = _sole_reader(s, users, n, "permute")
                out_rank = len(s.shape(n.outputs[0]))
                if transpose is None or tuple(transpose.attrs["perm"]) != (*range(1, out_rank), 0):
                    continue
                dead.add(transpose.id)
                n.outputs = transpose.outputs
            n.op, n.inputs = "linear", (x, p)
            n.attrs = {key: v for key, v in a.items() if key == "repeat"}
            break
    _remove(s, dead)
    if views:
        s.nodes[:] = [m for n in s.nodes for m in ((views[n.id], n) if n.id in views else (n,))]


def _flatten_view(s: Staged, x: str, k: int, reader: Node) -> Node:
    """A ``reshape`` of ``x`` merging its last ``k`` dims, in ``reader``'s scope (not yet placed)."""
    shape, dtype = s.shape(x), s.tensors[x].dtype
    path = reader.scope.split(CALL_SEP)[0]
    name = s.unique(f"{path}/reshape" if path else "reshape")
    s.tensors[name] = Tensor(name, (*shape[:-k], math.prod(shape[-k:])), dtype)
    attrs = {"repeat": reader.attrs["repeat"]} if "repeat" in reader.attrs else {}
    return Node(name, "reshape", (x,), (name,), attrs, reader.scope, reader.source_op)


def _sole_reader(s: Staged, users: dict[str, list[Node]], n: Node, op: str) -> Node | None:
    """The only reader of ``n``'s output, when it is an ``op`` of ``n``'s scope and repeat."""
    out = n.outputs[0]
    us = users.get(out, [])
    if len(us) != 1 or out in s.outputs or us[0].op != op or us[0].scope != n.scope:
        return None
    return us[0] if us[0].repeat == n.repeat else None


def fold_bias(s: Staged) -> None:
    """A conv/linear whose only reader adds a parameter shaped like its output
    channels (broadcast over the rest), in the same scope: the parameter is its
    bias operand (role ``bias``)."""
    (src, seen), users = param_views(s), s.consumers()
    dead: set[str] = set()
    for n in s.nodes:
        if n.op not in ("conv", "linear") or len(n.inputs) != 2:
            continue
        add = _sole_reader(s, users, n, "add")
        if add is None or len(add.inputs) != 2:
            continue
        out = n.outputs[0]
        other = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
        p = src.get(other)
        out_shape = s.shape(out)
        if (
            p is None
            or s.shape(add.outputs[0]) != out_shape
            or len(s.shape(other)) > len(out_shape)
        ):
            continue
        padded = (1,) * (len(out_shape) - len(s.shape(other))) + tuple(s.shape(other))
        if n.op == "conv":  # (C,) along the channel axis, or Equinox's (C, 1, 1)
            channels = n.attrs["out_channels"]
            wide = [i for i, d in enumerate(padded) if d != 1]
            ok = len(wide) <= 1 and all(out_shape[i] == channels for i in wide)
            ok = ok and math.prod(seen[other]) == channels
        else:  # the weight's output dims, trailing: linear maps x[..., in] to y[..., *out]
            k = len(out_shape) - len(s.shape(n.inputs[0])) + 1
            ok = padded[-k:] == out_shape[-k:] and set(padded[:-k]) <= {1}
            ok = ok and math.prod(seen[other]) == math.prod(out_shape[-k:])
        if not ok:
            continue
        n.inputs = (*n.inputs, p)
        n.outputs = add.outputs
        s.params[p].role = "bias"
        dead.add(add.id)
    _remove(s, dead)


_INDEX_MATH = frozenset(
    {"compare", "add", "where", "cast", "reshape", "expand", "clamp", "identity"}
)


def to_embedding(s: Staged) -> None:
    """A gather from a 2-D parameter table is an embedding lookup ``[indices, table]``.

    ``jnp.take`` first wraps negative indices (``where(i < 0, i + n, i)``) and
    adds an index dim: that index arithmetic, in the same scope and read only
    by the lookup, is part of the lookup, as in PyTorch's ``embedding``.
    """
    (src, seen), producers, users = param_views(s), s.producers(), s.consumers()
    dead: set[str] = set()
    for n in s.nodes:
        if n.op != "gather" or len(n.inputs) != 2:
            continue
        p = src.get(n.inputs[0])
        if p is None or len(seen[n.inputs[0]]) != 2 or n.inputs[1] in src:
            continue
        indices, absorbed = _raw_indices(s, producers, users, n)
        n.op, n.inputs = "embedding", (indices, p)
        dead |= absorbed
        s.params[p].role = s.params[p].role or "embedding"
    _remove(s, dead)


def _raw_indices(
    s: Staged, producers: dict[str, Node], users: dict[str, list[Node]], gather: Node
) -> tuple[str, set[str]]:
    """The index tensor before ``jnp.take``'s wrap-around, and the nodes computing the rest."""
    region: dict[str, Node] = {}
    roots: set[str] = set()
    stack = [gather.inputs[1]]
    while stack:
        t = stack.pop()
        p = producers.get(t)
        if p is None or p.op not in _INDEX_MATH or p.scope != gather.scope:
            roots.add(t)
        elif p.id not in region:
            region[p.id] = p
            stack += [i for i in p.inputs if i not in s.params and not s.is_constant(i)]
    inner = {t for n in region.values() for t in n.outputs}
    private = all(u.id in region or u is gather for t in inner for u in users.get(t, []))
    if len(roots) != 1 or not region or not private or inner & set(s.outputs):
        return gather.inputs[1], set()
    (root,) = roots
    if s.shape(root) != s.shape(gather.inputs[1])[:-1]:
        return gather.inputs[1], set()
    return root, set(region)


def fuse_avg_pool(s: Staged) -> None:
    """A window sum divided by constants (the window size, or the count of
    unpadded taps) is one ``avg_pool``."""
    users = s.consumers()
    dead: set[str] = set()
    for n in s.nodes:
        if n.op != "avg_pool" or n.source_op != "reduce_window_sum":
            continue
        out = n.outputs[0]
        us = users.get(out, [])
        if len(us) != 1 or out in s.outputs:
            continue
        div = us[0]
        if (
            div.op == "div" and div.inputs[0] == out and s.is_constant(div.inputs[1])
            and div.scope == n.scope and s.shape(div.outputs[0]) == s.shape(out)
        ):  # fmt: skip
            n.outputs = div.outputs
            dead.add(div.id)
    _remove(s, dead)


def fuse_mean(s: Staged) -> None:
    """``jnp.mean``: a sum divided by the number of elements it sums is one
    ``reduce_mean`` (same FLOPs; no separate tensor for the sum)."""
    users = s.consumers()
    dead: set[str] = set()
    for n in s.nodes:
        if n.op != "reduce_sum" or len(n.inputs) != 1:
            continue
        div = _sole_reader(s, users, n, "div")
        count = math.prod(s.shape(n.inputs[0])[d] for d in n.attrs["axes"])
        if div is not None and div.inputs[0] == n.outputs[0] and div.attrs.get("divisor") == count:
            n.op, n.outputs = "reduce_mean", div.outputs
            dead.add(div.id)
    _remove(s, dead)


def drop_dead_param_views(s: Staged) -> None:
    """Reshapes/broadcasts/step slices of parameters left unread by the folds above."""
    src = param_sources(s)
    read = set(s.outputs)
    keep: list[Node] = []
    for n in reversed(s.nodes):
        unread = not any(t in read for t in n.outputs)
        if unread and (n.op in PARAM_VIEWS or is_step_slice(n)) and n.outputs[0] in src:
            continue
        read.update(n.inputs)
        keep.append(n)
    s.nodes[:] = keep[::-1]


def assign_roles(s: Staged) -> None:
    """Roles by leaf name; a ``bias`` leaf not added after a contraction (a
    norm's offset) is a ``shift``."""
    src = param_sources(s)
    contraction_scopes = {n.scope for n in s.nodes if n.op in _CONTRACTIONS}
    user_scopes: dict[str, set[str]] = {}
    for n in s.nodes:
        for t in n.inputs:
            if t in src:
                user_scopes.setdefault(src[t], set()).add(n.scope)
    for p in s.params.values():
        if p.role:
            continue
        leaf = leaf_name(p.name)
        role = ROLE_BY_LEAF.get(leaf, "weight")
        scopes = user_scopes.get(p.name)
        if role == "bias" and scopes and not scopes & contraction_scopes:
            role = "shift"
        p.role = role
