"""Completeness: no silent number (docs/completeness.md).

A total is either complete or marked incomplete. Every node the analyzer
cannot count is a *gap*:

- an ``unknown`` op, or an op outside the vocabulary (kind ``opaque``): the
  frontend could not see into it; it hides its arithmetic and whatever
  tensors it creates inside (an opaque layer's inner activations);
- an op of the vocabulary without a formula (kind ``no_formula``): it hides
  its arithmetic;
- a node a frontend flagged (kind ``flagged``) with ``node.meta["uncounted"]``:
  a string (the reason) or ``{"reason": str, "hides": [aspects], "bound":
  "lower"|"upper"|"unknown"}``. On an op that is otherwise counted, a string
  means a value-dependent output size (``hides = ["shape"]``).

What a gap hides (its *aspects*) decides which quantities are incomplete
(``AFFECTS``), and the share of the model it stands for is measured in what
it covers: the parameters its nodes read and the activation elements they
read and write (``share`` is the larger of the two; a single opaque node
holding the whole model is 100%). A ``shape`` gap covers its node and every
node downstream of it, whose sizes follow from the guessed one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzer.core.ops import Category

if TYPE_CHECKING:
    from analyzer.core.formulas import FormulaTables
    from analyzer.core.graph import Graph
    from analyzer.core.hardware import DeviceResult
    from analyzer.core.layers import Layer
    from analyzer.core.metric import Metric
    from analyzer.core.ops import OpVocabulary
    from analyzer.core.options import AnalysisOptions

UNCOUNTED = "uncounted"  # the node.meta key frontends set
ASPECTS = {
    "compute": "the node's arithmetic: MACs, FLOPs, OPs",
    "internals": "tensors created inside the node (an opaque layer's inner activations and their traffic)",
    "shape": "the sizes of its outputs (value-dependent), so everything computed from them downstream",
    "params": "weights the frontend could not attach to the node",
}
# kind of gap -> (default reason, aspects it hides, bound of what it affects)
KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "opaque": ("opaque to the frontend", ("compute", "internals"), "lower"),
    "no_formula": ("no formula", ("compute",), "lower"),
    "flagged": ("flagged by the frontend", ("shape",), "unknown"),
}
BOUNDS = ("lower", "upper", "unknown")  # the reported figure is <=, >= or just != the true one
MARKS = {"lower": "≥", "upper": "≤", "unknown": "~"}

# Built-in quantities each aspect makes incomplete (plugin metrics: see _plugin_aspects).
_COMPUTE = frozenset({
    "macs", "flops", "mac_flops", "other_flops", "int_ops", "mac_int_ops", "ops",
    "arithmetic_intensity", "naive_input_reads", "naive_accesses",  # naive reads = MACs for contractions
})  # fmt: skip
_ACTIVATIONS = frozenset({
    "activations", "io_activations", "live_activations", "total_activations", "total_activation_bytes",
    "peak_activations", "peak_activation_bytes", "peak_live_activations", "peak_live_activation_bytes",
    "read_bytes", "write_bytes", "memory_bytes", "naive_input_reads", "naive_output_writes",
    "naive_accesses", "arithmetic_intensity", "saved_activation_bytes", "training_memory_bytes",
})  # fmt: skip
_PARAMS = frozenset({
    "params", "non_trainable_params", "buffers", "total_params", "shared_params", "unused_params",
    "model_size_bytes", "model_size_mb", "model_size_mib", "weight_bytes", "weight_read_bytes",
    "naive_weight_reads", "naive_accesses", "memory_bytes", "arithmetic_intensity",
    "gradient_bytes", "optimizer_state_bytes", "training_memory_bytes",
})  # fmt: skip
# receptive fields end (null) at an op they cannot see through: never a silent number
_NEVER = frozenset({"receptive_field", "receptive_field_jump", "max_receptive_field"})
_BUILTIN = _COMPUTE | _ACTIVATIONS | _PARAMS | _NEVER
AFFECTS: dict[str, frozenset[str]] = {
    "compute": _COMPUTE,
    "internals": _ACTIVATIONS,
    "shape": _ACTIVATIONS,  # plus _COMPUTE where a covered node does arithmetic
    "params": _PARAMS,
}
_HEADLINE = {q: i for i, q in enumerate((
    "params", "non_trainable_params", "model_size_bytes", "macs", "flops", "int_ops",
    "total_activations", "peak_activations", "peak_live_activations", "memory_bytes",
))}  # fmt: skip
_RATIOS = frozenset({"arithmetic_intensity"})  # a ratio of two incomplete counts: no direction
_NO_ARITHMETIC = (Category.VIEW, Category.MOVEMENT, Category.CONSTANT)
# hardware results and the quantities they are derived from
_TIMING = frozenset({"macs", "ops", "flops", "int_ops", "memory_bytes", "read_bytes", "write_bytes",
                     "weight_read_bytes"})  # fmt: skip
_MEMORY = frozenset({"model_size_bytes", "params", "peak_live_activation_bytes", "peak_activation_bytes",
                     "peak_live_activations", "peak_activations"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Gap:
    """One node the analyzer cannot fully count."""

    node: str
    op: str
    source_op: str
    kind: str  # "opaque" | "no_formula" | "flagged"
    reason: str
    hides: tuple[str, ...]
    bound: str  # direction of the error it causes in what it affects

    @property
    def label(self) -> str:
        return self.source_op or self.op


def _flag(value: Any) -> tuple[str, tuple[str, ...] | None, str | None]:
    """(reason, hides, bound) of a ``node.meta["uncounted"]`` value."""
    if isinstance(value, str):
        return value, None, None
    if isinstance(value, Mapping):
        hides = value.get("hides")
        hides = tuple(h for h in hides if h in ASPECTS) if hides else None
        bound = value.get("bound") if value.get("bound") in BOUNDS else None
        return str(value.get("reason", "uncounted")), hides, bound
    return "uncounted", None, None


def scan(graph: Graph, formulas: FormulaTables, vocabulary: OpVocabulary) -> list[Gap]:
    """Every gap of ``graph``, in execution order (one pass; support looked up once per op name)."""
    supported: dict[str, bool] = {}
    gaps: list[Gap] = []
    for node in graph.nodes():
        op = node.op
        ok = supported.get(op)
        if ok is None:
            ok = supported[op] = formulas.supports(vocabulary.get(op))
        flag = node.meta.get(UNCOUNTED) if node.meta else None
        if ok and flag is None:
            continue
        if ok:
            kind = "flagged"
        elif op == "unknown" or op not in vocabulary:
            kind = "opaque"
        else:
            kind = "no_formula"
        reason, hides, bound = KINDS[kind]
        if flag is not None:
            why, flag_hides, flag_bound = _flag(flag)
            reason = why or reason
            hides = flag_hides or hides
            bound = flag_bound or ("unknown" if "shape" in hides else "lower")
        gaps.append(Gap(node.id, op, node.source_op, kind, reason, hides, bound))
    return gaps


def unsupported_rows(gaps: list[Gap]) -> list[dict[str, Any]]:
    """The report's ``unsupported`` list: ops without a formula, by (op, source_op), most frequent first."""
    counts = Counter((g.op, g.source_op) for g in gaps if g.kind != "flagged")
    return [{"op": op, "source_op": src, "count": c} for (op, src), c in counts.most_common()]


def _join(a: str | None, b: str) -> str:
    return b if a is None or a == b else "unknown"


@dataclass(slots=True)
class Completeness:
    """What an analysis could not count, the share of the model it stands for, what it affects.

    ``quantities``, ``layers`` and ``hardware`` map each incomplete quantity
    (per layer, per device) to its bound: ``lower`` (the figure is at most the
    true one: printed ``≥``), ``upper`` (``≤``) or ``unknown`` (``~``).
    """

    gaps: list[dict[str, Any]] = field(default_factory=list)
    param_share: float = 0.0
    activation_share: float = 0.0
    hidden_params: int = 0
    quantities: dict[str, str] = field(default_factory=dict)
    layers: dict[str, dict[str, str]] = field(default_factory=dict)
    hardware: dict[str, dict[str, str]] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)  # grouped by (label, kind, reason)

    @property
    def complete(self) -> bool:
        return not self.gaps

    @property
    def share(self) -> float:
        """The share of the model the gaps stand for: the larger of the param and activation shares."""
        return max(self.param_share, self.activation_share)

    def bound(self, quantity: str) -> str | None:
        """None when ``quantity``'s total is complete, else its bound."""
        return self.quantities.get(quantity)

    def coverage(self) -> dict[str, Any]:
        """The share measures added to the report's ``coverage``."""
        return {
            "uncounted_nodes": len(self.gaps),
            "uncounted_share": self.share,
            "uncounted_param_share": self.param_share,
            "uncounted_activation_share": self.activation_share,
            "uncounted_params": self.hidden_params,
        }

    def describe(self, limit: int = 4, prefix: str = "not counted: ") -> str:
        """One line: the uncounted parts and the share of the model they stand for."""
        if self.complete:
            return "complete"
        shown = [
            f"{p['label']} x{p['count']} ({p['reason']}; {percent(p['share'])})"
            for p in self.parts[:limit]
        ]
        if len(self.parts) > limit:
            shown.append(f"{len(self.parts) - limit} more")
        return (f"{prefix}{', '.join(shown)} = {percent(self.share)} of the model "
                f"(params {percent(self.param_share)}, activations {percent(self.activation_share)})")  # fmt: skip

    def affected(self, limit: int = 8) -> str:
        """The incomplete totals with their marks, headline ones first: ``≥macs, ≥flops, 12 more``."""
        names = sorted(self.quantities, key=lambda q: _HEADLINE.get(q, len(_HEADLINE)))  # stable
        shown = [f"{MARKS[self.quantities[q]]}{q}" for q in names[:limit]]
        if len(names) > limit:
            shown.append(f"{len(names) - limit} more")
        return ", ".join(shown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "share": self.share,
            "param_share": self.param_share,
            "activation_share": self.activation_share,
            "uncounted_params": self.hidden_params,
            "quantities": {q: {"complete": False, "bound": b} for q, b in self.quantities.items()},
            "uncounted": self.gaps,
        }


def percent(share: float) -> str:
    """``0.381`` -> ``38.1%`` (``<0.1%`` for a tiny non-zero share)."""
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share * 100:.1f}%".replace(".0%", "%")


def _downstream(graph: Graph, start: str) -> set[str]:
    """``start`` and every node reading, directly or not, what it produces."""
    seen = {start}
    todo = [start]
    while todo:
        for t in graph.node(todo.pop()).outputs:
            for c in graph.consumer_ids(t):
                if c not in seen:
                    seen.add(c)
                    todo.append(c)
    return seen


class _Measure:
    """Params read and activation elements read + written by a set of nodes, and shares of the model's."""

    def __init__(self, graph: Graph, vocabulary: OpVocabulary):
        self.graph = graph
        self.infos = graph.infos()
        views = vocabulary.names(Category.VIEW)
        self.io: dict[str, int] = {}
        tensors = graph.tensors
        for nid, info in self.infos.items():  # views alias their input: they move no data
            op = graph.node(nid).op
            if op not in views:
                elems = sum(tensors[t].numel for t in (*info.act_inputs, *info.act_outputs))
                self.io[nid] = elems * info.repeat
            else:
                self.io[nid] = 0
        self.total_io = sum(self.io.values())
        self.total_params = sum(p.numel for p in graph.params.values())

    def params(self, nodes: Iterable[str]) -> int:
        names = {p.name: p.numel for n in nodes for p in self.infos[n].params}
        return sum(names.values())

    def shares(self, nodes: set[str]) -> tuple[float, float]:
        p = self.params(nodes) / self.total_params if self.total_params else 0.0
        a = sum(self.io[n] for n in nodes) / self.total_io if self.total_io else float(bool(nodes))
        return p, a


def _plugin_aspects(metric: Metric) -> frozenset[str]:
    """Aspects a plugin metric's quantities depend on: its ``affected_by`` (default: all)."""
    return frozenset(getattr(metric, "affected_by", None) or ASPECTS)


def assess(
    graph: Graph, layers: list[Layer], gaps: list[Gap], metrics: Iterable[Metric], options: AnalysisOptions,
    vocabulary: OpVocabulary,
) -> Completeness:  # fmt: skip
    """Shares and affected quantities of ``gaps`` (cheap and empty when there are none)."""
    if not gaps:
        return Completeness()
    measure = _Measure(graph, vocabulary)
    node_layer = {nid: layer.name for layer in layers for nid in layer.nodes}
    arithmetic = {op for op, category in vocabulary.categories.items() if category not in _NO_ARITHMETIC}
    per_layer: set[str] = set()  # quantities layer rows carry
    names: list[str] = []  # every quantity, in report order
    plugin: dict[str, frozenset[str]] = {}  # plugin metrics' quantities -> aspects they depend on
    for m in metrics:
        for q in m.quantities:
            names.append(q.name)
            if q.per_layer:
                per_layer.add(q.name)
            if q.name not in _BUILTIN:
                plugin[q.name] = _plugin_aspects(m)

    def affects(aspect: str, does_arithmetic: bool) -> set[str]:
        qs = set(AFFECTS[aspect])
        if aspect == "shape" and does_arithmetic:
            qs |= _COMPUTE
        if aspect == "compute" and options.metric_option("traffic", "naive_traffic", False):
            qs.add("memory_bytes")  # the naive model's bytes come from MAC-based reads
        qs |= {q for q, aspects in plugin.items() if aspect in aspects}
        return qs

    c = Completeness()
    tensors = graph.tensors
    covered_all: set[str] = set()
    groups: dict[tuple[str, str, str], list[tuple[Gap, set[str]]]] = {}
    for gap in gaps:
        covered = _downstream(graph, gap.node) if "shape" in gap.hides else {gap.node}
        covered_all |= covered
        groups.setdefault((gap.label, gap.kind, gap.reason), []).append((gap, covered))
        info = measure.infos[gap.node]
        c.gaps.append({
            "node": gap.node, "op": gap.op, "source_op": gap.source_op, "layer": node_layer.get(gap.node, ""),
            "kind": gap.kind, "reason": gap.reason, "hides": list(gap.hides), "bound": gap.bound,
            "params": measure.params(covered),
            "input_elements": sum(tensors[t].numel for t in info.act_inputs) * info.repeat,
            "output_elements": sum(tensors[t].numel for t in info.act_outputs) * info.repeat,
            "share": max(measure.shares(covered)),
        })  # fmt: skip
        for aspect in gap.hides:
            # a shape gap reaches every covered node; it hides compute only where one does arithmetic
            for nid in covered if aspect == "shape" else (gap.node,):
                qs = affects(aspect, graph.node(nid).op in arithmetic)
                _mark(c.layers.setdefault(node_layer[nid], {}), qs & per_layer, gap.bound)
                _mark(c.quantities, qs, gap.bound)
    c.param_share, c.activation_share = measure.shares(covered_all)
    c.hidden_params = measure.params(covered_all)
    order = {q: i for i, q in enumerate(names)}
    incomplete = sorted(c.quantities.keys() & order, key=order.__getitem__)
    c.quantities = {q: c.quantities[q] for q in incomplete}
    for key, members in groups.items():
        nodes = set().union(*(cov for _, cov in members))
        c.parts.append({"label": key[0], "kind": key[1], "reason": key[2], "count": len(members),
                        "layers": sorted({node_layer.get(g.node, "") for g, _ in members}),
                        "share": max(measure.shares(nodes))})  # fmt: skip
    c.parts.sort(key=lambda p: -p["share"])
    return c


def _mark(marks: dict[str, str], quantities: Iterable[str], bound: str) -> None:
    for q in quantities:
        marks[q] = _join(marks.get(q), "unknown" if q in _RATIOS else bound)


def mark_hardware(c: Completeness, result: DeviceResult) -> None:
    """Record which of ``result``'s figures derive from incomplete totals (``c.hardware[device]``)."""
    marks: dict[str, str] = {}
    timing: str | None = None
    for q in _TIMING:
        b = c.quantities.get(q)
        if b is not None:
            timing = _join(timing, b)
    energy = timing
    if (result.details.get("energy") or {}).get("complete") is False:
        energy = _join(energy, "lower")  # bytes from a memory level without an energy figure
    if timing is not None:
        marks["latency_s"] = timing
        marks["throughput_per_s"] = {"lower": "upper", "upper": "lower"}.get(timing, "unknown")
        marks["bound"] = "unknown"
    if energy is not None and result.energy_j is not None:
        marks["energy_j"] = energy
    memory = [c.quantities[q] for q in _MEMORY if q in c.quantities]
    # a lower bound that already does not fit stays "does not fit"
    sure_no = result.fits is False and all(b == "lower" for b in memory)
    if memory and result.fits is not None and not sure_no:
        marks["fits"] = "unknown"
    if marks:
        c.hardware[result.device] = marks


def strict_message(c: Completeness, unsupported: list[dict[str, Any]]) -> str:
    """The one-line ``--strict`` error: the parts, their share, what they leave incomplete."""
    n = sum(u["count"] for u in unsupported)
    head = f"{n} unsupported op(s) under --strict: " if n else "incomplete totals under --strict: "
    return f"{head}{c.describe(prefix='')}; incomplete: {c.affected()}"
