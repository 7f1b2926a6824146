"""Which tensors are a parameter, seen through views, and with what shape.

A parameter reaches an op through reshapes, broadcasts, transposes and casts
(a Flax bias broadcast to the output), and, inside a ``scan`` over stacked
weights (``nn.scan``, ``lax.scan`` over ``eqx.filter_vmap``-built layers), through
the per-step ``slice`` of its leading layer axis. Rewrites that fold a parameter
into an op (linear, bias, norm, embedding) look through all of them: the op
then reads the parameter itself, the whole stack for a scanned layer (a body
repeated L times uses all L slices: its layer owns the L-stacked weight).
"""

from __future__ import annotations

from analyzer.core.ir import Node, Shape, numel

from .staging import Staged

# ops that show a parameter unchanged in value: it is still "the parameter"
PARAM_VIEWS = frozenset({"reshape", "expand", "permute", "identity", "cast"})


def is_step_slice(n: Node) -> bool:
    """The per-step slice of a scanned operand (``walker.scan``)."""
    return n.op == "slice" and n.source_op == "scan"


def param_views(s: Staged) -> tuple[dict[str, str], dict[str, Shape]]:
    """(tensor -> the parameter it is, tensor -> the parameter's shape one step sees).

    The step shape is the parameter's own shape, less the layer axes of the scans
    it is sliced by: what a contraction or norm of the body actually reads.
    """
    src = {p: p for p in s.params}
    seen = {p: spec.shape for p, spec in s.params.items()}
    for n in s.nodes:
        if len(n.outputs) != 1 or not n.inputs or n.inputs[0] not in src:
            continue
        x = n.inputs[0]
        if n.op in PARAM_VIEWS and all(t == x or s.is_constant(t) for t in n.inputs):
            src[n.outputs[0]] = src[x]
            seen[n.outputs[0]] = seen[x]
        elif is_step_slice(n):
            src[n.outputs[0]] = src[x]
            seen[n.outputs[0]] = s.tensors[n.outputs[0]].shape
    return src, seen


def param_sources(s: Staged) -> dict[str, str]:
    """Tensor -> the parameter it is (see ``param_views``)."""
    return param_views(s)[0]


def leaf_name(param: str) -> str:
    """The parameter's own name, lower case: ``Dense_0.kernel`` -> ``kernel``; a boxed value
    (Flax ``nn.Partitioned``, NNX variables: ``scale.value``) is named by its box."""
    return param.removesuffix(".value").rsplit(".", 1)[-1].lower()


def stacked_slices(s: Staged) -> dict[str, int]:
    """Parameter -> how many per-step slices a scan cuts it into (L, or L1*L2 nested).

    Computed before the rewrites fold the step slices away: afterwards an op
    inside the scan reads the whole stacked parameter by name.
    """
    src, seen = param_views(s)
    out: dict[str, int] = {}
    for t, p in src.items():
        whole, step = numel(s.params[p].shape), numel(seen[t])
        if step and whole > step:
            out[p] = max(out.get(p, 1), whole // step)
    return out


def mark_param_slices(s: Staged, slices: dict[str, int]) -> None:
    """``attrs["param_slices"]``: each run of a repeated op reads one slice of a stacked weight.

    A scanned layer owns its whole stacked weight and runs L times, so a
    metric that moves a weight's bytes on each run (traffic) would count the
    weight L times; the attribute tells it that each run reads 1/k of it.
    """
    if not slices:
        return
    for n in s.nodes:
        if n.repeat <= 1:
            continue
        marks = {p: min(slices[p], n.repeat) for p in dict.fromkeys(n.inputs) if p in slices}
        if marks:
            n.attrs = {**n.attrs, "param_slices": marks}
