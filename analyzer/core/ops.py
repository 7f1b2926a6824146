"""The canonical op vocabulary of the IR.

Frontends map framework ops onto these names; metric formulas are keyed by
them. Each op has a category (used for defaults such as "is this a view")
and a one-line contract for its operands and attributes. ``docs/ir.md``
documents the same table for plugin authors.

Plugins may add ops through the ``analyzer_register_ops`` hook; a frontend
that meets an op it cannot map emits ``"unknown"`` with the framework's
name in ``source_op``, and the report lists it as unsupported.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Category(StrEnum):
    __hash__ = str.__hash__  # Enum's default hashes in Python code: slow in per-node dict lookups

    CONTRACTION = "contraction"  # produces MACs
    ELEMENTWISE = "elementwise"  # arithmetic per element, new tensor
    ACTIVATION = "activation"  # unary nonlinearity, runs in place
    NORMALIZATION = "normalization"
    POOLING = "pooling"
    REDUCTION = "reduction"
    VIEW = "view"  # aliases its input: no new storage, no work
    MOVEMENT = "movement"  # copies data (concat, pad, gather...), no arithmetic
    CONSTANT = "constant"  # creates a tensor from nothing (iota, full)
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class OpDef:
    """One canonical op: its name, category and operand/attribute contract."""

    name: str
    category: Category
    doc: str

    @property
    def aliases_input(self) -> bool:
        """True when the op's output shares storage with its first input.

        Views create nothing; activations are assumed to run in place, the
        convention of the lecture (a ReLU adds no activation tensor).
        """
        return self.category in (Category.VIEW, Category.ACTIVATION)


C = Category

# fmt: off
BUILTIN_OPS: tuple[OpDef, ...] = (
    # --- contractions: MACs = output elements x contraction length ---------
    OpDef("conv", C.CONTRACTION,
          "inputs [x, weight, bias?]; attrs kernel_size, stride, padding ((lo,hi) per dim), "
          "dilation, groups, in_channels, out_channels, channel_axis, transposed"),
    OpDef("linear", C.CONTRACTION,
          "inputs [x, weight, bias?]; y[..., out] = x[..., in] W + b; weight layout free"),
    OpDef("matmul", C.CONTRACTION,
          "inputs [a, b] with numpy matmul semantics (batch broadcasting, 1-d promotion)"),
    OpDef("dot_general", C.CONTRACTION,
          "inputs [lhs, rhs]; attrs lhs_contracting, rhs_contracting, lhs_batch, rhs_batch"),
    OpDef("einsum", C.CONTRACTION,
          "inputs [operands...]; attrs equation (explicit '->' form); pairwise left to right"),
    OpDef("attention", C.CONTRACTION,
          "fused scaled-dot-product attention; inputs [q, k, v, mask?] as (..., L, E); "
          "counts QK^T and AV, scale, mask add and softmax"),
    OpDef("grouped_matmul", C.CONTRACTION,
          "inputs [a, b, offsets?]: torch._grouped_mm; 2-d a x 3-d b: rows of a in groups "
          "(offsets) times b[g] (mixture-of-experts); 3-d x 2-d, 3-d x 3-d (batched), 2-d x 2-d "
          "(ragged k, output (groups, m, n)); attrs groups; MACs = sum over groups m_g*k*n"),
    OpDef("rnn", C.CONTRACTION,
          "recurrent layer; inputs [x, weights...]; attrs cell (lstm|gru|rnn), hidden_size, "
          "input_size, num_layers, bidirectional, steps, batch, has_bias, proj_size"),
    # --- elementwise arithmetic (binary ops broadcast) ----------------------
    *(OpDef(n, C.ELEMENTWISE, d) for n, d in (
        ("add", "a + b"), ("sub", "a - b"), ("mul", "a * b"), ("div", "a / b"),
        ("pow", "a ** b"), ("maximum", "max(a, b)"), ("minimum", "min(a, b)"),
        ("neg", "-a"), ("abs", "|a|"), ("exp", "e^a"), ("log", "ln a"), ("sqrt", "sqrt a"),
        ("rsqrt", "1/sqrt a"), ("reciprocal", "1/a"), ("square", "a*a"),
        ("sin", "sin a"), ("cos", "cos a"), ("erf", "erf a"), ("sign", "sign a"),
        ("floor", "floor a"), ("ceil", "ceil a"), ("round", "round a"), ("mod", "a mod b"),
        ("compare", "a <op> b, attrs kind (eq, ne, lt, le, gt, ge)"),
        ("logical", "boolean and/or/not/xor, attrs kind"),
        ("where", "select(cond, a, b)"), ("clamp", "clip(a, lo, hi)"),
        ("cast", "dtype conversion (a new tensor, no arithmetic)"),
        ("fma", "a * b + c"),
    )),
    # --- activations: unary, assumed in place -------------------------------
    *(OpDef(n, C.ACTIVATION, d) for n, d in (
        ("relu", "max(x, 0)"), ("relu6", "min(max(x, 0), 6)"),
        ("leaky_relu", "x if x > 0 else a x"), ("elu", "x if x > 0 else a(e^x - 1)"),
        ("selu", "scaled elu"), ("gelu", "x Phi(x); attrs approximate (none|tanh)"),
        ("silu", "x sigmoid(x), a.k.a. swish"), ("sigmoid", "1 / (1 + e^-x)"),
        ("tanh", "tanh x"), ("hardswish", "x relu6(x + 3) / 6"),
        ("hardsigmoid", "relu6(x + 3) / 6"), ("softplus", "ln(1 + e^x)"),
        ("mish", "x tanh(softplus x)"), ("hardtanh", "clip(x, -1, 1)"),
    )),
    OpDef("softmax", C.NORMALIZATION, "softmax along attrs axis"),
    OpDef("log_softmax", C.NORMALIZATION, "log of softmax along attrs axis"),
    OpDef("batch_norm", C.NORMALIZATION,
          "inputs [x, params...]; attrs channel_axis, training; inference folds to scale+shift"),
    OpDef("layer_norm", C.NORMALIZATION, "inputs [x, scale?, shift?]; attrs axes (normalized dims)"),
    OpDef("group_norm", C.NORMALIZATION, "inputs [x, scale?, shift?]; attrs groups, channel_axis"),
    OpDef("instance_norm", C.NORMALIZATION, "inputs [x, scale?, shift?]; attrs channel_axis"),
    OpDef("rms_norm", C.NORMALIZATION, "inputs [x, scale?]; attrs axes"),
    # --- pooling ------------------------------------------------------------
    OpDef("max_pool", C.POOLING, "attrs kernel_size, stride, padding, dilation, channel_axis"),
    OpDef("avg_pool", C.POOLING, "attrs kernel_size, stride, padding, channel_axis"),
    OpDef("adaptive_avg_pool", C.POOLING, "attrs output_size, channel_axis; global pooling too"),
    OpDef("adaptive_max_pool", C.POOLING, "attrs output_size, channel_axis"),
    # --- reductions ---------------------------------------------------------
    *(OpDef(n, C.REDUCTION, "attrs axes, keepdims") for n in (
        "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
        "argmax", "argmin", "reduce_var",
    )),
    OpDef("cumsum", C.REDUCTION, "prefix sum along attrs axis"),
    # --- views: alias their input --------------------------------------------
    OpDef("reshape", C.VIEW, "view/flatten/squeeze/unsqueeze"),
    OpDef("permute", C.VIEW, "transpose/permute as a view; attrs perm"),
    OpDef("expand", C.VIEW, "broadcast_to as a view"),
    OpDef("slice", C.VIEW, "strided slice/select/narrow as a view"),
    OpDef("split", C.VIEW, "split/chunk/unbind into several views"),
    OpDef("identity", C.VIEW, "no-op: dropout at inference, alias, detach"),
    # --- data movement: new tensor, no arithmetic -----------------------------
    *(OpDef(n, C.MOVEMENT, d) for n, d in (
        ("concat", "concatenate along attrs axis"), ("stack", "stack along a new axis"),
        ("pad", "constant/reflect padding"), ("gather", "index/take along an axis"),
        ("scatter", "scatter/index_put"), ("copy", "contiguous copy, clone"),
        ("tile", "repeat/tile"), ("flip", "reverse along axes"),
        ("embedding", "inputs [indices, table]; row lookup, 0 MACs"),
        ("resize", "upsample/interpolate; attrs mode (nearest|linear|cubic)"),
        ("one_hot", "one-hot encoding"), ("sort", "sort/topk along an axis"),
        ("nonzero", "indices of the nonzero elements: one (count, rank) output or rank (count,) "
                    "outputs (where(cond)); count set by values (node.meta data_dependent)"),
        ("unique", "distinct values (count,), inverse?, counts?; count set by values"),
    )),
    OpDef("constant", C.CONSTANT, "creates a tensor: iota, arange, full, zeros, random"),
    OpDef("unknown", C.OTHER, "an op the frontend could not map; see source_op"),
)
# fmt: on


# The op that names a layer (``analyzer.core.layers``): the first node of the
# lowest rank. A layer holding a contraction is a contraction layer, whatever
# else it holds (a JAX Dense is ``dot_general`` + ``add``).
CATEGORY_RANK: dict[Category, int] = {
    Category.CONTRACTION: 0,
    Category.NORMALIZATION: 1,
    Category.POOLING: 2,
    Category.REDUCTION: 3,
    Category.ACTIVATION: 4,
    Category.ELEMENTWISE: 5,
    Category.MOVEMENT: 6,
    Category.OTHER: 7,
    Category.CONSTANT: 8,
    Category.VIEW: 9,
}
UNKNOWN_RANK = CATEGORY_RANK[Category.OTHER]  # an op outside the vocabulary ranks as "other"


class OpVocabulary:
    """The set of canonical ops known to one plugin set (built-ins + plugins).

    Everything derived from op categories is read here, for the ops of this
    set (a plugin's ops included): ``category(op)``, ``rank(op)``,
    ``names(category)``, and the ``categories`` / ``ranks`` mappings for
    loops over every node (one dict lookup per node).
    """

    def __init__(self, defs: tuple[OpDef, ...] = BUILTIN_OPS) -> None:
        self._defs: dict[str, OpDef] = {}
        self._category: dict[str, Category] = {}
        self._rank: dict[str, int] = {}
        self._names: dict[Category, frozenset[str]] = {}
        self._frozen = False
        for d in defs:
            self.add(d)

    def add(self, op: OpDef) -> None:
        """Register ``op``; a name that already exists is refused."""
        if self._frozen:
            raise ValueError(
                "the built-in vocabulary is shared, so read-only: add ops to an OpVocabulary()"
            )
        if op.name in self._defs:
            raise ValueError(f"op {op.name!r} is already in the vocabulary")
        if not isinstance(op.category, Category):
            raise ValueError(f"op {op.name!r} has category {op.category!r}, not an ops.Category")
        self._defs[op.name] = op
        self._category[op.name] = op.category
        self._rank[op.name] = CATEGORY_RANK[op.category]
        self._names.pop(op.category, None)

    def category(self, name: str) -> Category | None:
        """The category of op ``name`` (None when the op is not in the vocabulary)."""
        return self._category.get(name)

    def rank(self, name: str) -> int:
        """How strongly op ``name`` names its layer (lower wins; ``CATEGORY_RANK``)."""
        return self._rank.get(name, UNKNOWN_RANK)

    def names(self, category: Category) -> frozenset[str]:
        """The ops of ``category`` (``names(Category.ACTIVATION)``: every activation op)."""
        found = self._names.get(category)
        if found is None:
            found = frozenset(n for n, c in self._category.items() if c is category)
            self._names[category] = found
        return found

    @property
    def categories(self) -> Mapping[str, Category]:
        """op name -> category, read-only (``.get`` it once per pass, not per node)."""
        return MappingProxyType(self._category)

    @property
    def ranks(self) -> Mapping[str, int]:
        """op name -> rank, read-only."""
        return MappingProxyType(self._rank)

    def __contains__(self, name: object) -> bool:
        return name in self._defs

    def __getitem__(self, name: str) -> OpDef:
        return self._defs[name]

    def get(self, name: str) -> OpDef | None:
        return self._defs.get(name)

    def __iter__(self) -> Iterator[OpDef]:
        return iter(self._defs.values())

    def __len__(self) -> int:
        return len(self._defs)


@functools.cache
def builtin_vocabulary() -> OpVocabulary:
    """The built-in ops alone, for code that runs outside any plugin set (shape rules, the builder).

    Shared, so read-only; a plugin set builds its own ``OpVocabulary()``.
    """
    vocabulary = OpVocabulary()
    vocabulary._frozen = True
    return vocabulary
