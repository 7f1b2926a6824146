"""THE map from ATen ops to the canonical op vocabulary (docs/ir.md).

Keys are ATen op names without namespace or overload (``conv2d``,
``_scaled_dot_product_flash_attention_for_cpu``); an in-place variant
(``relu_``, ``add_``) uses its out-of-place entry and gets a new SSA name for
its result. The table covers both levels PyTorch shows us: the
"pre-dispatch" ops a trace above autograd and ``torch.export`` see
(``conv2d``, ``linear``, ``batch_norm``, ``scaled_dot_product_attention``)
and the core ATen ops of decomposed or saved programs (``convolution``,
``addmm``, ``_native_batch_norm_legit_no_training``).

An op missing here is decomposed by the dispatch capture when PyTorch has
a decomposition for it (``CompositeImplicitAutograd``) and is emitted as
``unknown`` otherwise: reported as unsupported, never dropped.

Plugins add mappings with the ``analyzer_register_op_mappings`` hook
(framework ``"torch"``); ``lookup`` consults them before this table, for the
conversion in progress (``PLUGIN_HANDLERS``, set by ``TorchFrontend``).
"""

from __future__ import annotations

from analyzer.core.op_mappings import ActiveMappings, OpMapping, refuse_clashes
from analyzer.plugins.frontends.torch import composites as cp
from analyzer.plugins.frontends.torch import data_sized as ds
from analyzer.plugins.frontends.torch import handlers as h
from analyzer.plugins.frontends.torch import sequence as seq

_ELEMENTWISE = {
    "add": "add", "sub": "sub", "rsub": "sub", "mul": "mul", "multiply": "mul", "div": "div", "divide": "div",
    "true_divide": "div", "floor_divide": "div", "remainder": "mod", "fmod": "mod", "pow": "pow",
    "float_power": "pow", "maximum": "maximum", "minimum": "minimum", "fmax": "maximum", "fmin": "minimum",
    "masked_fill": "where", "tril": "where", "triu": "where", "clamp": "clamp",
    "clamp_min": "clamp", "clamp_max": "clamp", "clip": "clamp", "addcmul": "fma", "addcdiv": "fma",
    "lerp": "fma", "neg": "neg", "negative": "neg", "abs": "abs", "exp": "exp", "exp2": "exp", "expm1": "exp",
    "log": "log", "log2": "log", "log10": "log", "log1p": "log", "sqrt": "sqrt", "rsqrt": "rsqrt",
    "reciprocal": "reciprocal", "square": "square", "sin": "sin", "cos": "cos", "erf": "erf", "erfc": "erf",
    "sign": "sign", "sgn": "sign", "floor": "floor", "ceil": "ceil", "round": "round", "trunc": "round",
    "fix": "round", "nan_to_num": "where",
}  # fmt: skip
_ACTIVATIONS = {
    "relu": "relu", "relu6": "relu6", "leaky_relu": "leaky_relu", "rrelu": "leaky_relu", "elu": "elu",
    "celu": "elu", "selu": "selu", "silu": "silu", "sigmoid": "sigmoid", "tanh": "tanh",
    "hardswish": "hardswish", "hardsigmoid": "hardsigmoid", "softplus": "softplus", "mish": "mish",
}  # fmt: skip
_COMPARE = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge", "isnan": "ne",
            "isinf": "eq", "isposinf": "eq", "isneginf": "eq",
            "less": "lt", "greater": "gt", "not_equal": "ne", "greater_equal": "ge", "less_equal": "le"}  # fmt: skip
_LOGICAL = {"logical_and": "and", "logical_or": "or", "logical_xor": "xor", "logical_not": "not",
            "bitwise_and": "and", "bitwise_or": "or", "bitwise_xor": "xor", "bitwise_not": "not"}  # fmt: skip
_REDUCTIONS = {
    "sum": "reduce_sum", "nansum": "reduce_sum", "mean": "reduce_mean", "nanmean": "reduce_mean",
    "amax": "reduce_max", "amin": "reduce_min", "prod": "reduce_prod", "var": "reduce_var",
    "std": "reduce_var", "var_mean": "reduce_var", "std_mean": "reduce_var", "argmax": "argmax",
    "argmin": "argmin", "cumsum": "cumsum", "any": "reduce_max", "all": "reduce_min",
}  # fmt: skip
_RESHAPES = ("view", "_unsafe_view", "reshape", "_reshape_alias", "flatten", "unflatten", "view_as",
             "reshape_as", "squeeze", "unsqueeze", "ravel")  # fmt: skip
_PERMUTES = ("t", "numpy_T", "transpose", "swapaxes", "swapdims", "permute", "movedim", "moveaxis", "mT",
             "mH", "adjoint")  # fmt: skip
_SLICES = ("slice", "narrow", "select", "as_strided", "diagonal", "unfold", "real", "imag", "view_as_real",
           "view_as_complex")  # fmt: skip
_SPLITS = ("split", "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "chunk", "unsafe_chunk",
           "unbind", "tensor_split")  # fmt: skip
_IDENTITIES = (
    "detach",
    "alias",
    "contiguous",
    "positive",
    "resolve_conj",
    "resolve_neg",
)
_CREATION = (
    "arange", "zeros", "ones", "full", "empty", "empty_strided", "zeros_like", "ones_like", "full_like",
    "empty_like", "rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm",
    "scalar_tensor", "eye", "linspace", "logspace", "new_zeros", "new_ones", "new_full", "new_empty",
    "new_empty_strided", "lift_fresh", "lift_fresh_copy", "fill", "zero", "uniform", "normal", "bernoulli", "random",
    "tensor", "as_tensor", "empty_permuted",
)  # fmt: skip
_SKIPS = ("_assert_async", "_assert_tensor_metadata", "_assert_scalar", "_functional_assert_async",
          "_functional_assert_scalar", "sym_constrain_range", "sym_constrain_range_for_size",
          "_local_scalar_dense", "is_nonzero", "equal", "record_stream", "_make_dep_token",
          "sym_size", "sym_numel", "sym_stride", "sym_storage_offset")  # fmt: skip
_MOVEMENT = {
    "index_select": "gather", "gather": "gather", "take": "gather",
    "take_along_dim": "gather", "scatter": "scatter", "scatter_add": "scatter",
    "scatter_reduce": "scatter", "index_put": "scatter", "_unsafe_index_put": "scatter",
    "index_add": "scatter", "index_copy": "scatter", "index_fill": "scatter", "masked_scatter": "scatter",
    "select_scatter": "scatter", "slice_scatter": "scatter", "diagonal_scatter": "scatter",
    "as_strided_scatter": "scatter", "_unsafe_index": "gather", "repeat": "tile",
    "roll": "copy", "clone": "copy", "copy": "copy", "pixel_shuffle": "copy", "pixel_unshuffle": "copy",
    "channel_shuffle": "copy", "native_channel_shuffle": "copy", "one_hot": "one_hot", "sort": "sort",
    "argsort": "sort", "topk": "sort", "msort": "sort", "kthvalue": "sort", "flip": "flip",
    "complex": "copy",
}  # fmt: skip

TABLE: dict[str, h.Handler] = {
    # contractions
    **dict.fromkeys(
        (
            "conv1d",
            "conv2d",
            "conv3d",
            "convolution",
            "_convolution",
            "conv_transpose1d",
            "conv_transpose2d",
            "conv_transpose3d",
            "convolution_overrideable",
        ),
        h.conv,
    ),  # fmt: skip
    "linear": h.linear,
    **dict.fromkeys(("matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "_int_mm"), h.matmul),
    **dict.fromkeys(("addmm", "baddbmm", "addmv", "addbmm", "_addmm_activation"), h.addmm),
    **dict.fromkeys(("outer", "ger"), h.outer),
    "einsum": h.einsum,
    **dict.fromkeys(
        (
            "scaled_dot_product_attention",
            "_scaled_dot_product_attention_math",
            "_scaled_dot_product_flash_attention",
            "_scaled_dot_product_flash_attention_for_cpu",
            "_scaled_dot_product_efficient_attention",
            "_scaled_dot_product_cudnn_attention",
            "_scaled_dot_product_fused_attention_overrideable",
        ),
        seq.sdpa,
    ),  # fmt: skip
    "_native_multi_head_attention": seq.native_mha,
    "_transformer_encoder_layer_fwd": seq.encoder_layer_fwd,
    **dict.fromkeys(("lstm", "gru", "rnn_tanh", "rnn_relu"), seq.rnn),
    # elementwise and activations
    **{k: h.simple(v) for k, v in _ELEMENTWISE.items()},
    **{k: h.simple(v, first_only=True) for k, v in _ACTIVATIONS.items()},
    **{k: h.compare(v) for k, v in _COMPARE.items()},
    **{k: h.logical(v) for k, v in _LOGICAL.items()},
    "hardtanh": h.hardtanh,
    "threshold": h.threshold,
    "gelu": h.gelu,
    **dict.fromkeys(("prelu", "_prelu_kernel"), h.prelu),
    **dict.fromkeys(
        (
            "_to_copy",
            "to",
            "type_as",
            "_autocast_to_reduced_precision",
            "_autocast_to_full_precision",
        ),
        h.to_dtype,
    ),  # fmt: skip
    # normalization
    **dict.fromkeys(
        (
            "batch_norm",
            "native_batch_norm",
            "_native_batch_norm_legit",
            "_native_batch_norm_legit_no_training",
            "_batch_norm_with_update",
            "_batch_norm_no_update",
            "instance_norm",
        ),
        h.batch_norm,
    ),  # fmt: skip
    **dict.fromkeys(
        ("layer_norm", "native_layer_norm", "rms_norm", "_fused_rms_norm"), h.layer_norm
    ),
    **dict.fromkeys(("group_norm", "native_group_norm"), h.group_norm),
    **dict.fromkeys(("softmax", "_softmax", "_safe_softmax"), h.softmax("softmax")),
    **dict.fromkeys(("log_softmax", "_log_softmax"), h.softmax("log_softmax")),
    # pooling and resampling
    **dict.fromkeys(
        (
            "max_pool1d",
            "max_pool2d",
            "max_pool3d",
            "max_pool1d_with_indices",
            "max_pool2d_with_indices",
            "max_pool3d_with_indices",
        ),
        h.pool("max_pool"),
    ),  # fmt: skip
    **dict.fromkeys(("avg_pool1d", "avg_pool2d", "avg_pool3d"), h.pool("avg_pool")),
    **dict.fromkeys(
        (
            "adaptive_avg_pool1d",
            "adaptive_avg_pool2d",
            "adaptive_avg_pool3d",
            "_adaptive_avg_pool2d",
            "_adaptive_avg_pool3d",
        ),
        h.adaptive_pool("adaptive_avg_pool"),
    ),  # fmt: skip
    **dict.fromkeys(
        ("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"),
        h.adaptive_pool("adaptive_max_pool"),
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "upsample_nearest1d",
            "upsample_nearest2d",
            "upsample_nearest3d",
            "_upsample_nearest_exact1d",
            "_upsample_nearest_exact2d",
            "_upsample_nearest_exact3d",
            "upsample_linear1d",
            "upsample_bilinear2d",
            "upsample_trilinear3d",
            "upsample_bicubic2d",
            "_upsample_bilinear2d_aa",
            "_upsample_bicubic2d_aa",
        ),
        h.resize,
    ),  # fmt: skip
    # reductions
    **{k: h.reduction(v) for k, v in _REDUCTIONS.items()},
    "max": h.max_min("max"),
    "min": h.max_min("min"),
    # views
    **dict.fromkeys(_RESHAPES, h.simple("reshape", first_only=True)),
    **dict.fromkeys(_PERMUTES, h.permute),
    **dict.fromkeys(("expand", "expand_as", "broadcast_to"), h.simple("expand", first_only=True)),
    **dict.fromkeys(_SLICES, h.simple("slice", first_only=True)),
    **{k: h.axis_op("split") for k in _SPLITS},
    **dict.fromkeys(_IDENTITIES, h.simple("identity", first_only=True)),
    **dict.fromkeys(
        ("dropout", "native_dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout"),
        h.dropout,
    ),  # fmt: skip
    # data movement
    **dict.fromkeys(("cat", "concat", "concatenate"), h.axis_op("concat")),
    "stack": h.axis_op("stack"),
    **dict.fromkeys(
        (
            "pad",
            "constant_pad_nd",
            "reflection_pad1d",
            "reflection_pad2d",
            "reflection_pad3d",
            "replication_pad1d",
            "replication_pad2d",
            "replication_pad3d",
            "_pad_circular",
        ),
        h.pad,
    ),  # fmt: skip
    "embedding": h.embedding,
    **{k: h.simple(v) for k, v in _MOVEMENT.items()},
    **dict.fromkeys(("_grouped_mm", "transformers::grouped_mm_fallback"), h.grouped_mm),
    **dict.fromkeys(("grid_sampler", "grid_sampler_2d", "grid_sampler_3d"), h.grid_sample),
    # sizes set by values
    "where": ds.where,
    **dict.fromkeys(("nonzero", "nonzero_numpy", "argwhere", "nonzero_static"), ds.nonzero),
    **dict.fromkeys(
        ("_unique", "_unique2", "unique_dim", "unique_consecutive", "unique_dim_consecutive"),
        ds.unique,
    ),  # fmt: skip
    "masked_select": ds.masked_select,
    "index": ds.index,
    "repeat_interleave": ds.repeat_interleave,
    **dict.fromkeys(("histc", "bincount"), ds.histogram),
    "torchvision::nms": ds.nms,
    "torchvision::qnms": ds.nms,
    # several canonical ops each
    **dict.fromkeys(("linalg_vector_norm", "norm"), cp.vector_norm),
    "_weight_norm_interface": cp.weight_norm,
    "logsumexp": cp.logsumexp,
    "glu": cp.glu,
    "im2col": cp.im2col,
    "col2im": cp.col2im,
    "aminmax": cp.aminmax,
    "count_nonzero": cp.count_nonzero,
    "polar": cp.polar,
    "log_sigmoid_forward": cp.log_sigmoid,
    # creation and bookkeeping
    **dict.fromkeys(_CREATION, h.creation),
    **dict.fromkeys(_SKIPS, h.skip),
}


PLUGIN_HANDLERS: ActiveMappings[h.Handler] = ActiveMappings("torch_plugin_handlers")


def table_key(source_op: str) -> str:
    """A plugin's name for an op as a table key: ``aten.add.Tensor``, ``aten::add`` and ``add`` are
    ``add``; ``mylib.my_op.default`` and ``mylib::my_op`` are ``mylib::my_op`` (every overload)."""
    if "::" in source_op:
        ns, _, rest = source_op.partition("::")
        name = rest.split(".")[0]
    else:
        parts = source_op.split(".")
        ns, name = ("aten", parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    return name if ns == "aten" else f"{ns}::{name}"


def plugin_handlers(mappings: dict[str, OpMapping]) -> dict[str, h.Handler]:
    """Table entries for plugin mappings: a canonical op over the call's tensor operands, or the
    plugin's own handler ``fn(rec, call)``. Two names of one op are a clash (UsageError)."""
    keyed: dict[str, list[OpMapping]] = {}
    for m in mappings.values():
        keyed.setdefault(table_key(m.source_op), []).append(m)
    refuse_clashes("torch", keyed)
    return {k: h.simple(m.target) if isinstance(m.target, str) else m.target for k, (m,) in keyed.items()}


def lookup(op: str) -> h.Handler | None:
    """The handler of ATen op ``op`` (an in-place ``op_`` falls back to ``op``), or None.

    A plugin's mapping for the op comes first."""
    plugin = PLUGIN_HANDLERS.get()
    handler = (plugin.get(op) if plugin else None) or TABLE.get(op)
    if handler is None and op.endswith("_") and not op.endswith("__"):
        handler = (plugin.get(op[:-1]) if plugin else None) or TABLE.get(op[:-1])
    return handler
