"""Strict validation (analyzer.core.op_rules): every op of the vocabulary has a shape rule,
a consistent node passes it, and a contradicting one fails with one line naming the node."""

from __future__ import annotations

from typing import Any

import pytest

from analyzer import GraphBuilder
from analyzer.core.graph import MAX_DIM, Graph, GraphError
from analyzer.core.op_rules import _BINARY, _UNARY, RULES
from analyzer.core.ops import BUILTIN_OPS

W = "param"  # marks an operand as a parameter


def node_graph(op: str, ins: list[Any], outs: list[tuple[int, ...]], attrs: dict | None = None) -> Graph:
    """One node ``n`` of ``op``; an operand is a shape (an input) or ``(W, shape)`` (a parameter)."""
    b = GraphBuilder("t")
    names = []
    for i, spec in enumerate(ins):
        if isinstance(spec, tuple) and spec and spec[0] == W:
            names.append(b.param(f"p{i}", spec[1]))
        else:
            names.append(b.input(f"x{i}", spec, "int64" if op == "embedding" and i == 0 else None))
    b.op(op, names, outs if len(outs) > 1 else outs[0], attrs or {}, name="n")
    return b.build(validate=False)


CONV = {"kernel_size": (3, 3), "stride": (1, 1), "padding": ((1, 1), (1, 1)), "dilation": (1, 1), "groups": 1,
        "in_channels": 3, "out_channels": 4, "channel_axis": 1, "transposed": False}  # fmt: skip
CONV_T = {**CONV, "kernel_size": (3, 3), "stride": (2, 2), "padding": ((0, 0), (0, 0)), "in_channels": 4,
          "out_channels": 2, "transposed": True}  # fmt: skip
POOL = {"kernel_size": (2, 2), "stride": (2, 2), "padding": ((0, 0), (0, 0)), "channel_axis": 1}
BN = [(1, 4, 2, 2), *[(W, (4,))] * 4]

# op -> (operands, attrs, good outputs, bad change): the bad change replaces "out", "ins" or "attrs".
CASES: dict[str, tuple[list, dict, list, dict]] = {
    "conv": ([(1, 3, 8, 8), (W, (4, 3, 3, 3)), (W, (4,))], CONV, [(1, 4, 8, 8)], {"out": [(1, 4, 7, 7)]}),
    "linear": ([(2, 8), (W, (4, 8)), (W, (4,))], {}, [(2, 4)], {"out": [(3, 4)]}),
    "matmul": ([(2, 3, 4), (4, 5)], {}, [(2, 3, 5)], {"out": [(2, 3, 4)]}),
    "dot_general": ([(2, 3, 4), (2, 4, 5)], {"lhs_contracting": (2,), "rhs_contracting": (1,), "lhs_batch": (0,),
                    "rhs_batch": (0,)}, [(2, 3, 5)], {"out": [(2, 3, 4)]}),  # fmt: skip
    "einsum": ([(2, 3, 4), (2, 4, 5)], {"equation": "bij,bjk->bik"}, [(2, 3, 5)], {"out": [(2, 3, 6)]}),
    "attention": ([(1, 2, 4, 8), (1, 2, 6, 8), (1, 2, 6, 16)], {}, [(1, 2, 4, 16)], {"out": [(1, 2, 4, 8)]}),
    "rnn": ([(2, 5, 3)], {"cell": "lstm", "hidden_size": 4, "input_size": 3, "steps": 5, "batch": 2}, [(2, 5, 4)],
            {"attrs": {"batch": 3}}),  # fmt: skip
    "compare": ([(2, 3), (3,)], {"kind": "lt"}, [(2, 3)], {"attrs": {"kind": "less"}}),
    "logical": ([(2, 3), (3,)], {"kind": "and"}, [(2, 3)], {"out": [(3, 3)]}),
    "gelu": ([(2, 3)], {"approximate": "tanh"}, [(2, 3)], {"attrs": {"approximate": "fast"}}),
    "softmax": ([(2, 3)], {"axis": -1}, [(2, 3)], {"attrs": {"axis": 2}}),
    "log_softmax": ([(2, 3)], {"axis": 1}, [(2, 3)], {"out": [(3, 2)]}),
    "batch_norm": (BN, {"channel_axis": 1}, [(1, 4, 2, 2)], {"ins": [(1, 4, 2, 2), *[(W, (5,))] * 4]}),
    "layer_norm": ([(2, 8), (W, (8,)), (W, (8,))], {"axes": (-1,)}, [(2, 8)], {"ins": [(2, 8), (W, (7,))]}),
    "rms_norm": ([(2, 8), (W, (8,))], {"axes": (1,)}, [(2, 8)], {"attrs": {"axes": (2,)}}),
    "group_norm": ([(1, 4, 2, 2)], {"groups": 2, "channel_axis": 1}, [(1, 4, 2, 2)], {"attrs": {"groups": 3}}),
    "instance_norm": (BN[:3], {"channel_axis": 1}, [(1, 4, 2, 2)], {"out": [(1, 4, 2, 1)]}),
    "max_pool": ([(1, 3, 8, 8)], POOL, [(1, 3, 4, 4)], {"out": [(1, 3, 5, 5)]}),
    "avg_pool": ([(1, 3, 7, 7)], POOL, [(1, 3, 4, 4)], {"out": [(1, 3, 2, 2)]}),  # ceil mode allowed
    "adaptive_avg_pool": ([(1, 3, 8, 8)], {"output_size": (1, 1)}, [(1, 3, 1, 1)], {"out": [(1, 3, 2, 2)]}),
    "adaptive_max_pool": ([(1, 3, 8, 8)], {"output_size": (2, 2)}, [(1, 3, 2, 2)], {"out": [(1, 2, 2, 2)]}),
    "cumsum": ([(2, 3)], {"axis": 1}, [(2, 3)], {"attrs": {"axis": "1"}}),
    "reshape": ([(2, 3)], {}, [(6,)], {"out": [(5,)]}),
    "permute": ([(2, 3, 4)], {"perm": (0, 2, 1)}, [(2, 4, 3)], {"attrs": {"perm": (0, 0, 1)}}),
    "expand": ([(1, 3)], {}, [(2, 3)], {"out": [(2, 4)]}),
    "slice": ([(4, 3)], {}, [(2, 3)], {"out": [(5, 3)]}),
    "split": ([(4, 3)], {"axis": 0}, [(2, 3), (2, 3)], {"out": [(3, 3), (2, 3)]}),
    "concat": ([(2, 3), (2, 4)], {"axis": 1}, [(2, 7)], {"out": [(2, 8)]}),
    "stack": ([(2, 3), (2, 3)], {"axis": 0}, [(2, 2, 3)], {"out": [(2, 3, 3)]}),
    "pad": ([(2, 3)], {"pads": ((0, 0), (1, 2)), "mode": "constant"}, [(2, 6)], {"out": [(2, 5)]}),
    "gather": ([(5, 3), (2,)], {"axis": 0}, [(2, 3)], {"attrs": {"axis": 4}}),
    "scatter": ([(4, 3), (2,), (2, 3)], {}, [(4, 3)], {"out": [(5, 3)]}),
    "copy": ([(2, 3)], {}, [(2, 3)], {"out": [(7,)]}),
    "tile": ([(2, 3)], {}, [(4, 3)], {"out": [(5, 3)]}),
    "one_hot": ([(4,)], {}, [(4, 10)], {"out": [(3, 10)]}),
    "flip": ([(2, 3)], {"axes": (0,)}, [(2, 3)], {"attrs": {"axes": (3,)}}),
    "embedding": ([(2, 5), (W, (100, 16))], {}, [(2, 5, 16)], {"out": [(2, 5, 8)]}),
    "resize": ([(1, 3, 4, 4)], {"mode": "linear", "spatial_dims": 2}, [(1, 3, 8, 8)], {"attrs": {"mode": "magic"}}),
    "sort": ([(4, 5)], {"axis": 1}, [(4, 5), (4, 5)], {"out": [(4, 6), (4, 6)]}),
    "grouped_matmul": ([(6, 4), (W, (3, 4, 5))], {}, [(6, 5)], {"out": [(6, 4)]}),
    "nonzero": ([(2, 3)], {}, [(4, 2)], {"out": [(7, 2)]}),
    "unique": ([(2, 3)], {}, [(5,)], {"out": [(7,)]}),
    "constant": ([], {}, [(3,)], {"attrs": {"repeat": 0}}),
    "unknown": ([(2, 3)], {}, [(7, 7)], {"attrs": {"repeat": -1}}),
}
for _op in (*_UNARY, "identity"):
    CASES.setdefault(_op, ([(2, 3)], {}, [(2, 3)], {"out": [(3, 2)]}))
for _op in _BINARY:
    CASES.setdefault(_op, ([(2, 3), (3,)], {}, [(2, 3)], {"out": [(3, 3)]}))
for _op in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "argmax", "argmin", "reduce_var"):
    CASES[_op] = ([(2, 3, 4)], {"axes": (1,), "keepdims": False}, [(2, 4)], {"out": [(2, 3)]})


def test_every_builtin_op_has_a_rule_and_a_case():
    names = {op.name for op in BUILTIN_OPS}
    assert names <= set(RULES), sorted(names - set(RULES))
    assert names <= set(CASES), sorted(names - set(CASES))


@pytest.mark.parametrize("op", sorted(CASES))
def test_consistent_node_passes_and_contradiction_fails(op):
    ins, attrs, outs, bad = CASES[op]
    node_graph(op, ins, outs, attrs).validate(strict=True)
    broken = node_graph(op, bad.get("ins", ins), bad.get("out", outs), {**attrs, **bad.get("attrs", {})})
    with pytest.raises(GraphError, match=rf"^node 'n' \({op}\): ") as e:
        broken.validate(strict=True)
    assert "\n" not in str(e.value)


def test_transposed_conv_allows_output_padding_only():
    ins = [(1, 4, 5, 5), (W, (4, 2, 3, 3))]
    node_graph("conv", ins, [(1, 2, 11, 11)], CONV_T).validate(strict=True)  # (5-1)*2 + 3
    node_graph("conv", ins, [(1, 2, 12, 12)], CONV_T).validate(strict=True)  # output_padding 1
    with pytest.raises(GraphError, match="dimension 2 should be 11"):
        node_graph("conv", ins, [(1, 2, 13, 13)], CONV_T).validate(strict=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kernel_size": "3"}, "attribute 'kernel_size' must be a list of 2 positive integers, got '3'"),
        ({"kernel_size": (3, 0)}, "attribute 'kernel_size' must be a list of 2 positive integers"),
        ({"groups": 0}, "attribute 'groups' must be an integer >= 1"),
        ({"groups": 2}, "in_channels 3 and out_channels 4 must be divisible by groups 2"),
        ({"in_channels": 5}, r"input shape \(1, 3, 8, 8\) has 3 channels on axis 1, attribute .in_channels. says 5"),
        ({"channel_axis": 7}, "attribute 'channel_axis' must be an axis of a rank-4 tensor"),
        ({"padding": ((1, 1),)}, "attribute 'padding' must be a list of 2 \\(low, high\\) integer pairs"),
        ({"transposed": "no"}, "attribute 'transposed' must be true or false"),
    ],
)
def test_conv_attribute_errors_name_node_and_attribute(change, message):
    attrs = {**CONV, **change}
    with pytest.raises(GraphError, match=r"^node 'n' \(conv\): " + message):
        node_graph("conv", [(1, 3, 8, 8), (W, (4, 3, 3, 3))], [(1, 4, 8, 8)], attrs).validate(strict=True)


def test_missing_required_attribute_is_named():
    attrs = {k: v for k, v in CONV.items() if k != "kernel_size"}
    with pytest.raises(GraphError, match="node 'n' \\(conv\\): attribute 'kernel_size' is missing"):
        node_graph("conv", [(1, 3, 8, 8), (W, (4, 3, 3, 3))], [(1, 4, 8, 8)], attrs).validate(strict=True)


def test_weight_that_does_not_match_the_layer():
    with pytest.raises(GraphError, match=r"weight 'p1' has shape \(4, 3, 5, 5\) \(300 elements\), the attributes need 108"):
        node_graph("conv", [(1, 3, 8, 8), (W, (4, 3, 5, 5))], [(1, 4, 8, 8)], CONV).validate(strict=True)
    with pytest.raises(GraphError, match="bias 'p2'"):
        node_graph("linear", [(2, 8), (W, (4, 8)), (W, (5,))], [(2, 4)]).validate(strict=True)


def test_producer_consumer_contradiction_huge_batch_into_batch_one_conv():
    g = node_graph("conv", [(10**12, 3, 8, 8), (W, (4, 3, 3, 3))], [(1, 4, 8, 8)], CONV)
    with pytest.raises(GraphError, match=r"output shape \(1, 4, 8, 8\) contradicts input"):
        g.validate(strict=True)


def test_bounds_apply_to_every_graph():
    g = node_graph("relu", [(10**15, 3)], [(10**15, 3)])
    with pytest.raises(GraphError, match=f"larger than {MAX_DIM}"):
        g.validate()
    g = node_graph("relu", [(2**30, 2**30)], [(2**30, 2**30)])
    with pytest.raises(GraphError, match="elements, more than"):
        g.validate()
    g = node_graph("relu", [(0, 3)], [(0, 3)])
    with pytest.raises(GraphError, match="graph input 'x0' has batch size 0"):
        g.validate()


def test_plugin_ops_without_rule_are_only_checked_structurally():
    node_graph("my_plugin_op", [(2, 3)], [(9, 9)]).validate(strict=True)


def test_zoo_graphs_pass_strict_validation():
    from analyzer import zoo

    for build in (zoo.alexnet, zoo.mobilenet_v2, zoo.resnet50, zoo.vgg16, zoo.transformer_encoder, zoo.tiny_cnn):
        build().validate(strict=True)
