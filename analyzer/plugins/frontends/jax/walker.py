"""Walk a closed jaxpr into staged IR nodes.

- Call-like primitives (jit, custom_jvp/vjp calls, remat) are inlined, except
  calls of ``jax.nn`` functions known by name (``relu``, ``silu``,
  ``_softmax``...), which become their canonical op.
- ``scan`` of length L: the body's nodes once, with ``attrs["repeat"] = L``.
- ``cond``: the most expensive branch (by the default FLOP formulas), with a
  warning saying so.
- ``while``: the trip count is unknown: cond and body counted once, with a
  warning.
- An equation whose operands are all constants (literals, closed-over
  arrays, other folded results) is folded, as XLA does: a ``constant`` node
  whose outputs are constant tensors, neither activations nor work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analyzer.core import dtypes
from analyzer.core.errors import AnalysisError
from analyzer.core.ir import Node, Shape, Tensor

from .cost import Pricing, nodes_flops
from .primitives import ALIASES, EFFECTS_ONLY, OPERAND_ORDER, UNARY_OPS, EqnView, lookup
from .scopes import scope_of
from .staging import Staged

CALLS = frozenset(
    {"jit", "pjit", "closed_call", "core_call", "remat2", "checkpoint", "remat",
     "custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"}
)  # fmt: skip
_SUBJAXPR_KEYS = ("jaxpr", "call_jaxpr", "fun_jaxpr")

# jax.nn functions that reach the jaxpr as a named jit / custom_jvp call
NAMED_CALLS: dict[str, str] = {
    "relu": "relu", "relu6": "relu6", "silu": "silu", "swish": "silu", "sigmoid": "sigmoid",
    "hard_tanh": "hardtanh", "leaky_relu": "leaky_relu", "elu": "elu", "selu": "selu",
    "softplus": "softplus", "mish": "mish", "hard_sigmoid": "hardsigmoid", "hard_silu": "hardswish",
    "hard_swish": "hardswish", "_softmax": "softmax", "softmax": "softmax", "log_softmax": "log_softmax",
}  # fmt: skip


def aval_spec(aval: Any) -> tuple[Shape, str]:
    """(shape, canonical dtype) of an abstract value; PRNG keys are their uint32 data."""
    dtype = getattr(aval, "dtype", None)
    if dtype is None:  # effect tokens
        return (), "bool"
    info = _DTYPE_INFO.get(dtype)
    if info is None:
        info = _DTYPE_INFO[dtype] = _dtype_info(dtype)
    name, key_shape = info
    shape = tuple(aval.shape)
    return (shape + key_shape if key_shape else shape), name


_DTYPE_INFO: dict[Any, tuple[str, Shape]] = {}  # jax dtype -> (canonical name, key data shape)


def _dtype_info(dtype: Any) -> tuple[str, Shape]:
    import jax

    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        key_shape = getattr(getattr(dtype, "_impl", None), "key_shape", (2,))  # threefry: 2 words
        return "uint32", tuple(int(d) for d in key_shape)
    try:
        return dtypes.canonical(str(dtype)), ()
    except ValueError:
        raise AnalysisError(f"the jax frontend does not know dtype {dtype}") from None


@dataclass
class _Branch:
    """One walked branch of a cond: what it would add to the graph."""

    outs: list[str]
    nodes: list[Node]
    flops: int
    tensors: dict[str, Tensor]
    warnings: list[str]


class Walker:
    """Appends the nodes of a jaxpr (and its nested jaxprs) to a ``Staged``."""

    def __init__(self, staged: Staged, pricing: Pricing | None = None):
        self.s = staged
        self._pricing = pricing  # None: the built-ins, loaded on the first cond
        self._literals: dict[tuple[str, Shape, str], str] = {}

    def run(self, closed: Any, in_names: list[str]) -> list[str]:
        return self.jaxpr(closed.jaxpr, closed.consts, in_names, (), 1)

    # --- jaxprs -------------------------------------------------------------------
    def jaxpr(
        self, jaxpr: Any, consts: Any, in_names: list[str], stack: tuple, repeat: int
    ) -> list[str]:
        env: dict[Any, str] = {}
        for v in jaxpr.constvars:
            env[v] = self.s.add_tensor("const", *aval_spec(v.aval), constant=True)
        for v, name in zip(jaxpr.invars, in_names, strict=True):
            env[v] = name
        for eqn in jaxpr.eqns:
            ins = [self.read(env, v) for v in eqn.invars]
            entries = stack + tuple(getattr(eqn.source_info.name_stack, "stack", ()))
            outs = self.eqn(eqn, ins, entries, repeat)
            for v, name in zip(eqn.outvars, outs, strict=True):
                env[v] = name
        return [self.read(env, v) for v in jaxpr.outvars]

    def read(self, env: dict[Any, str], v: Any) -> str:
        if hasattr(v, "val"):  # a Literal
            shape, dtype = aval_spec(v.aval)
            key = (dtype, shape, repr(v.val))
            name = self._literals.get(key)
            if name is None or name not in self.s.tensors:
                name = self._literals[key] = self.s.add_tensor(
                    "literal", shape, dtype, constant=True
                )
            return name
        return env[v]

    # --- equations ------------------------------------------------------------------
    def eqn(self, eqn: Any, ins: list[str], entries: tuple, repeat: int) -> list[str]:
        prim = eqn.primitive.name
        scope = scope_of(entries)
        if prim in ALIASES and len(ins) == len(eqn.outvars):
            return list(ins)
        if prim in EFFECTS_ONLY and not eqn.outvars:
            return []
        if prim in CALLS:
            return self.call(eqn, ins, entries, repeat, scope)
        if prim == "scan":
            return self.scan(eqn, ins, entries, repeat, scope)
        if prim == "cond":
            return self.cond(eqn, ins, entries, repeat, scope)
        if prim == "while":
            return self.while_loop(eqn, ins, entries, repeat, scope)
        outs = [aval_spec(v.aval) for v in eqn.outvars]
        if all(self.s.is_constant(t) for t in ins):
            return self.s.add_node("constant", ins, outs, {}, scope, prim, constant=True)
        rule = lookup(prim)  # a plugin's mapping first
        if rule is None:
            op, attrs = "unknown", {}
        elif isinstance(rule, str):  # most primitives: no attributes to derive
            op, attrs = rule, {}
        else:
            op, attrs = rule(self.view(eqn, ins, outs))
        names = self.emit(op, self.operands(op, prim, ins), outs, attrs, scope, prim, repeat)
        if op == "unknown":  # one primitive: its arithmetic is missing, its tensors are there
            reason = attrs.get("reason") or "no mapping for this JAX primitive"
            self.s.nodes[-1].meta["uncounted"] = {
                "reason": f"{prim}: {reason}",
                "hides": ["compute"],
            }
        return names

    def view(self, eqn: Any, ins: list[str], outs: list[tuple[Shape, str]]) -> EqnView:
        return EqnView(
            primitive=eqn.primitive.name,
            params=dict(eqn.params),
            in_shapes=tuple(self.s.shape(t) for t in ins),
            in_dtypes=tuple(aval_spec(v.aval)[1] for v in eqn.invars),
            out_shapes=tuple(s for s, _ in outs),
            out_dtypes=tuple(d for _, d in outs),
            literals=tuple(_scalar(v) for v in eqn.invars),
        )

    def operands(self, op: str, prim: str, ins: list[str]) -> list[str]:
        """The node's inputs in the canonical op's order, literals in any position:
        a one-operand op reads its one activation (``max(0., x)`` is ``relu(x)``)."""
        order = OPERAND_ORDER.get(prim)
        if order is not None and len(order) == len(ins):
            ins = [ins[i] for i in order]
        if op in UNARY_OPS and len(ins) > 1:
            acts = [t for t in ins if not self.s.is_constant(t)]
            if len(acts) == 1:
                return acts
        return ins

    def emit(self, op: str, ins: list[str], outs: list[tuple[Shape, str]], attrs: dict[str, Any], scope: str,
             source_op: str, repeat: int) -> list[str]:  # fmt: skip
        if repeat != 1:
            attrs = {**attrs, "repeat": repeat}
        return self.s.add_node(op, ins, outs, attrs, scope, source_op)

    def call(self, eqn: Any, ins: list[str], entries: tuple, repeat: int, scope: str) -> list[str]:
        p = eqn.params
        sub = next(p[k] for k in _SUBJAXPR_KEYS if k in p)
        jaxpr, consts = (sub.jaxpr, sub.consts) if hasattr(sub, "consts") else (sub, ())
        fname, op = _jax_nn_function(jaxpr)
        acts = [t for t in ins if not self.s.is_constant(t)]
        if op and len(acts) == 1 and len(eqn.outvars) == 1:
            shape, dtype = aval_spec(eqn.outvars[0].aval)
            if shape == self.s.shape(acts[0]):
                attrs: dict[str, Any] = {}
                if op in ("softmax", "log_softmax"):
                    axes = _reduce_axes(jaxpr) or (-1,)
                    attrs["axis"] = axes[0] if len(axes) == 1 else axes
                source = f"{eqn.primitive.name}[{fname}]"
                return self.emit(op, acts, [(shape, dtype)], attrs, scope, source, repeat)
        return self.jaxpr(jaxpr, consts, ins, entries, repeat)

    def loop_carry(self, names: list[str], scope: str, source_op: str, repeat: int) -> list[str]:
        """Loop-carried values change every step: a constant initial value gets a buffer of its own."""
        out = []
        for t in names:
            if self.s.is_constant(t):
                spec = self.s.tensors[t]
                t = self.emit(
                    "copy", [t], [(spec.shape, spec.dtype)], {}, scope, source_op, repeat
                )[0]
            out.append(t)
        return out

    def scan(self, eqn: Any, ins: list[str], entries: tuple, repeat: int, scope: str) -> list[str]:
        p = eqn.params
        length, nconsts, ncarry = int(p["length"]), int(p["num_consts"]), int(p["num_carry"])
        body = p["jaxpr"]
        consts, carry, xs = ins[:nconsts], ins[nconsts : nconsts + ncarry], ins[nconsts + ncarry :]
        carry = self.loop_carry(carry, scope, "scan", repeat)
        steps = repeat * length
        x_avals = body.jaxpr.invars[nconsts + ncarry :]
        slices = [
            self.emit("slice", [x], [aval_spec(v.aval)], {"axis": 0}, scope, "scan", steps)[0]
            for x, v in zip(xs, x_avals, strict=True)
        ]
        outs = self.jaxpr(body.jaxpr, body.consts, [*consts, *carry, *slices], entries, steps)
        ys = [
            self.emit("stack", [y], [aval_spec(v.aval)], {"axis": 0}, scope, "scan", repeat)[0]
            for y, v in zip(outs[ncarry:], eqn.outvars[ncarry:], strict=True)
        ]
        return [*outs[:ncarry], *ys]

    def cond(self, eqn: Any, ins: list[str], entries: tuple, repeat: int, scope: str) -> list[str]:
        branches = [self._branch(br, ins[1:], entries, repeat) for br in eqn.params["branches"]]
        best = max(range(len(branches)), key=lambda i: (branches[i].flops, -i))
        chosen = branches[best]
        self.s.nodes.extend(chosen.nodes)
        self.s.tensors.update(chosen.tensors)
        self.s.warnings.extend(chosen.warnings)
        if len(branches) > 1:
            others = ", ".join(f"{b.flops:,}" for i, b in enumerate(branches) if i != best)
            self.s.warnings.append(
                f"cond in {scope or 'the top level'}: counted branch {best} of {len(branches)}, "
                f"the most expensive ({chosen.flops:,} FLOPs; other branches {others})"
            )
        return chosen.outs

    def pricing(self) -> Pricing:
        if self._pricing is None:
            self._pricing = Pricing.builtin()
        return self._pricing

    def _branch(self, closed: Any, operands: list[str], entries: tuple, repeat: int) -> _Branch:
        """Walk one branch of a cond, then take back out what it added."""
        n_nodes, n_tensors = len(self.s.nodes), len(self.s.tensors)
        n_warnings = len(self.s.warnings)
        outs = self.jaxpr(closed.jaxpr, closed.consts, operands, entries, repeat)
        nodes = self.s.nodes[n_nodes:]
        branch = _Branch(
            outs=outs,
            nodes=nodes,
            flops=nodes_flops(nodes, self.s, self.pricing()),
            tensors={k: self.s.tensors[k] for k in list(self.s.tensors)[n_tensors:]},
            warnings=self.s.warnings[n_warnings:],
        )
        del self.s.nodes[n_nodes:], self.s.warnings[n_warnings:]
        for k in branch.tensors:
            del self.s.tensors[k]
        return branch

    def while_loop(
        self, eqn: Any, ins: list[str], entries: tuple, repeat: int, scope: str
    ) -> list[str]:
        p = eqn.params
        cn, bn = int(p["cond_nconsts"]), int(p["body_nconsts"])
        cconsts, bconsts, init = ins[:cn], ins[cn : cn + bn], ins[cn + bn :]
        carry = self.loop_carry(init, scope, "while", repeat)
        cj, bj = p["cond_jaxpr"], p["body_jaxpr"]
        first = len(self.s.nodes)
        self.jaxpr(cj.jaxpr, cj.consts, [*cconsts, *carry], entries, repeat)
        outs = self.jaxpr(bj.jaxpr, bj.consts, [*bconsts, *carry], entries, repeat)
        where = scope or "the top level"
        self.s.warnings.append(
            f"while loop in {where}: trip count unknown; its body is counted once"
        )
        # the work of the other iterations is missing: a lower bound, said in the report
        flag = {"reason": "while loop: trip count unknown, body counted once", "hides": ["compute"],
                "bound": "lower"}  # fmt: skip
        for n in self.s.nodes[first:]:
            if n.op != "constant":
                n.meta.setdefault("uncounted", flag)
        return outs


def _jax_nn_function(jaxpr: Any) -> tuple[str, str | None]:
    """(name, canonical op) of the function a call wraps; the op only for jax.nn's own functions."""
    info = getattr(jaxpr, "debug_info", None)
    name = str(getattr(info, "func_name", "") or "")
    src = str(getattr(info, "func_src_info", "") or "").replace("\\", "/")
    return name, (NAMED_CALLS.get(name) if "/jax/_src/nn/" in src else None)


def _scalar(v: Any) -> Any:
    """The value of a scalar literal operand, else None."""
    if not hasattr(v, "val") or getattr(v.aval, "shape", None) != ():
        return None
    try:
        return float(v.val)
    except (TypeError, ValueError):
        return None


def _reduce_axes(jaxpr: Any) -> tuple[int, ...]:
    """Axes of the first max-reduction in ``jaxpr`` (the softmax axis), searching nested calls."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "reduce_max":
            return tuple(int(a) for a in eqn.params["axes"])
        for k in _SUBJAXPR_KEYS:
            sub = eqn.params.get(k)
            if sub is not None:
                axes = _reduce_axes(getattr(sub, "jaxpr", sub))
                if axes:
                    return axes
    return ()
