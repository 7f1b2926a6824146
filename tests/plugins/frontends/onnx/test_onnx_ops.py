"""The op table: each ONNX op becomes the canonical op with the attributes the formulas read.

Reference numbers are hand formulas (MACs of a Gemm M*K*N, of a grouped
convolution c_out * c_in/g * k_h * k_w * h_o * w_o...) on shapes worked
out here, not read back from the analyzer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402

import analyzer  # noqa: E402
from analyzer.core.errors import UsageError  # noqa: E402
from tests.plugins.frontends.onnx.onnx_models import ints, model, tensor  # noqa: E402


def ops(report: analyzer.Report) -> list[str]:
    return [n.op for n in report.graph.nodes()]


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_trans_b_is_a_linear_layer(trans_b):
    m, k, n = 4, 32, 10
    w = tensor("fc.weight", (n, k) if trans_b else (k, n))
    gemm = helper.make_node(
        "Gemm", ["x", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", transB=trans_b
    )
    r = analyzer.analyze(model([gemm], [("x", [m, k])], ["y"], [w, tensor("fc.bias", (n,))]))
    assert ops(r) == ["linear"]
    assert r.totals["macs"] == m * k * n
    assert r.totals["params"] == k * n + n
    assert r.totals["flops"] == 2 * m * k * n + m * n  # the bias add per output element
    assert [row.name for row in r.layers] == ["fc"]


def test_gemm_trans_a_alpha_beta():
    m, k, n = 3, 8, 5
    gemm = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transA=1, alpha=0.5, beta=2.0)
    r = analyzer.analyze(
        model([gemm], [("x", [k, m])], ["y"], [tensor("w", (k, n)), tensor("b", (n,))])
    )
    assert ops(r) == [
        "permute",
        "linear",
        "add",
        "mul",
    ]  # A', A'B, + beta C (a bias scaled), * alpha
    assert r.totals["macs"] == m * k * n
    assert r.graph.shape(r.graph.outputs[0]) == (m, n)


def test_gemm_of_two_activations_is_a_matmul():
    gemm = helper.make_node("Gemm", ["a", "b"], ["y"], transB=1)
    r = analyzer.analyze(model([gemm], [("a", [6, 16]), ("b", [7, 16])], ["y"]))
    assert ops(r) == ["permute", "matmul"]
    assert r.totals["macs"] == 6 * 16 * 7 and r.totals["params"] == 0


def test_matmul_with_initializer_and_bias_add_is_one_linear():
    mm = helper.make_node("MatMul", ["x", "w"], ["h"], name="/proj/MatMul")
    add = helper.make_node("Add", ["h", "b"], ["y"], name="/proj/Add")
    r = analyzer.analyze(
        model([mm, add], [("x", [2, 5, 64])], ["y"], [tensor("w", (64, 32)), tensor("b", (32,))])
    )
    assert ops(r) == ["linear"]
    node = next(r.graph.nodes())
    assert [r.graph.params[p].role for p in node.inputs[1:]] == ["weight", "bias"]
    assert r.totals["macs"] == 2 * 5 * 64 * 32
    assert analyzer.analyze(r.graph, bias=False).totals["params"] == 64 * 32


@pytest.mark.parametrize(("auto_pad", "pads"), [("SAME_UPPER", None), ("NOTSET", [2, 2, 2, 2])])
def test_grouped_dilated_conv(auto_pad, pads):
    cin, cout, g, k, d, s, hw = 8, 16, 4, 3, 2, 2, 15
    kw = {"group": g, "dilations": [d, d], "strides": [s, s], "auto_pad": auto_pad}
    if pads:
        kw["pads"] = pads
    conv = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="/conv/Conv", **kw)
    r = analyzer.analyze(model([conv], [("x", [1, cin, hw, hw])], ["y"],
                               [tensor("w", (cout, cin // g, k, k)), tensor("b", (cout,))]))  # fmt: skip
    # SAME: ceil(15 / 2) = 8; pads 2 each side: (15 + 4 - (2*(3-1)+1)) // 2 + 1 = 8
    out = 8
    assert r.graph.shape(r.graph.outputs[0]) == (1, cout, out, out)
    assert r.totals["macs"] == cout * (cin // g) * k * k * out * out
    assert r.totals["params"] == cout * (cin // g) * k * k + cout
    node = next(r.graph.nodes())
    assert node.attrs["groups"] == g and node.attrs["dilation"] == (d, d)


def test_conv_transpose():
    cin, cout, k, s, hw = 4, 6, 3, 2, 5
    ct = helper.make_node(
        "ConvTranspose", ["x", "w"], ["y"], strides=[s, s], pads=[1, 1, 1, 1], output_padding=[1, 1]
    )
    r = analyzer.analyze(
        model([ct], [("x", [1, cin, hw, hw])], ["y"], [tensor("w", (cin, cout, k, k))])
    )
    out = (hw - 1) * s - 2 + k + 1  # 10
    assert r.graph.shape(r.graph.outputs[0]) == (1, cout, out, out)
    assert r.totals["macs"] == cin * cout * k * k * hw * hw  # each input element times the kernel


def test_shape_arithmetic_is_folded():
    """``x.view(x.size(0), -1)`` as exported: Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
    ]
    inits = [
        ints("axes", [0]),
        ints("minus1", [-1]),
        onnx.numpy_helper.from_array(np.asarray(0, np.int64), "zero"),
    ]
    r = analyzer.analyze(model(nodes, [("x", ["batch", 3, 4, 4])], ["y"], inits), (2, 3, 4, 4))
    assert ops(r) == ["reshape"]
    assert r.graph.shape("y") == (2, 48)
    assert r.totals["params"] == 0


@pytest.mark.parametrize(
    ("op_type", "attrs", "expected"),
    [("Relu", {}, "relu"), ("Sigmoid", {}, "sigmoid"), ("Tanh", {}, "tanh"), ("HardSwish", {}, "hardswish"),
     ("HardSigmoid", {"alpha": 1 / 6}, "hardsigmoid"), ("LeakyRelu", {"alpha": 0.1}, "leaky_relu"),
     ("Softplus", {}, "softplus"), ("Mish", {}, "mish"), ("Elu", {}, "elu"), ("Erf", {}, "erf"),
     ("Softmax", {"axis": 1}, "softmax"), ("GlobalAveragePool", {}, "adaptive_avg_pool"),
     ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}, "max_pool"),
     ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, "avg_pool"),
     ("Flatten", {}, "reshape"), ("Transpose", {"perm": [0, 2, 3, 1]}, "permute"),
     ("Sqrt", {}, "sqrt"), ("Identity", {}, "identity")],
)  # fmt: skip
def test_unary_ops(op_type, attrs, expected):
    node = helper.make_node(op_type, ["x"], ["y"], **attrs)
    r = analyzer.analyze(model([node], [("x", [1, 4, 6, 6])], ["y"], opset=18))  # Mish: opset 18
    assert ops(r) == [expected] and r.unsupported == []


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [((0.0, 6.0), "relu6"), ((-1.0, 1.0), "hardtanh"), ((0.0, 2.0), "clamp")],
)
def test_clip(bounds, expected):
    inits = [
        onnx.numpy_helper.from_array(np.asarray(v, np.float32), n)
        for n, v in zip(("lo", "hi"), bounds, strict=True)
    ]
    r = analyzer.analyze(
        model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [("x", [1, 8])], ["y"], inits)
    )
    assert ops(r) == [expected] and r.totals["params"] == 0


def test_layer_and_batch_norm_params():
    nodes = [
        helper.make_node(
            "BatchNormalization", ["x", "s", "b", "m", "v"], ["h"], name="/bn/BatchNormalization"
        ),
        helper.make_node(
            "LayerNormalization", ["h", "ls", "lb"], ["y"], axis=-1, name="/ln/LayerNormalization"
        ),
    ]
    inits = [tensor(n, (6,)) for n in ("s", "b", "m", "v", "ls", "lb")]
    r = analyzer.analyze(model(nodes, [("x", [2, 6])], ["y"], inits))
    assert ops(r) == ["batch_norm", "layer_norm"]
    assert r.totals["params"] == 4 * 6 and r.totals["non_trainable_params"] == 2 * 6  # mean and var


def test_einsum_and_attention_matmuls():
    nodes = [helper.make_node("Einsum", ["q", "k"], ["s"], equation="bhid,bhjd->bhij"),
             helper.make_node("Softmax", ["s"], ["p"], axis=-1),
             helper.make_node("Einsum", ["p", "v"], ["y"], equation="bhij,bhjd->bhid")]  # fmt: skip
    b, h, L, e = 2, 4, 16, 8
    r = analyzer.analyze(model(nodes, [(n, [b, h, L, e]) for n in "qkv"], ["y"]))
    assert ops(r) == ["einsum", "softmax", "einsum"]
    assert r.totals["macs"] == 2 * b * h * L * L * e
    assert r.graph.shape("y") == (b, h, L, e)


def test_einsum_implicit_output_is_numpys():
    node = helper.make_node("Einsum", ["a", "b"], ["y"], equation="ij,jk")  # -> ik, alphabetical
    r = analyzer.analyze(model([node], [("a", [3, 4]), ("b", [4, 5])], ["y"]))
    assert next(r.graph.nodes()).attrs["equation"] == "ij,jk->ik"
    assert r.graph.shape("y") == (3, 5) and r.totals["macs"] == 3 * 4 * 5


def test_standard_attention_op():
    b, h, L, e = 1, 2, 10, 16
    node = helper.make_node("Attention", ["q", "k", "v"], ["y"])
    r = analyzer.analyze(model([node], [(n, [b, h, L, e]) for n in "qkv"], ["y"], opset=23))
    assert ops(r) == ["attention"]
    assert r.totals["macs"] == 2 * b * h * L * L * e


def test_embedding_lookup_and_shared_initializer():
    """A Gather of an initializer by activation indices is an embedding; a tied weight counts once."""
    table = tensor("emb.weight", (100, 16))
    nodes = [helper.make_node("Gather", ["emb.weight", "ids"], ["e"], name="/emb/Gather"),
             helper.make_node("Gemm", ["e2", "emb.weight"], ["y"], transB=1, name="/head/Gemm"),
             helper.make_node("Reshape", ["e", "shape"], ["e2"])]  # fmt: skip
    g = helper.make_graph([nodes[0], nodes[2], nodes[1]], "t",
                          [helper.make_tensor_value_info("ids", onnx.TensorProto.INT64, [1, 5])],
                          [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
                          [table, ints("shape", [5, 16])])  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    r = analyzer.analyze(m)
    assert ops(r) == ["embedding", "reshape", "linear"]
    assert r.totals["params"] == 100 * 16
    assert r.totals["macs"] == 5 * 16 * 100


def test_unknown_custom_op_is_unsupported_not_zero():
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], name="/conv/Conv"),
             helper.make_node("Frobnicate", ["h"], ["y"], domain="my.ops", name="/mystery/Frobnicate")]  # fmt: skip
    m = model(nodes, [("x", [1, 3, 8, 8])], ["y"], [tensor("w", (4, 3, 3, 3))],
              extra_opsets=[helper.make_opsetid("my.ops", 1)])  # fmt: skip
    m.graph.value_info.append(
        helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4, 6, 6])
    )
    r = analyzer.analyze(m)
    assert [u["count"] for u in r.unsupported] == [1]
    assert "Frobnicate" in str(r.unsupported)
    assert r.quantities["macs"]["complete"] is False
    assert r.totals["macs"] == 4 * 3 * 9 * 36  # the conv is still counted


def test_unknown_custom_op_without_shape_is_refused_in_one_line():
    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="my.ops")
    m = model([node], [("x", [1, 4])], ["y"], extra_opsets=[helper.make_opsetid("my.ops", 1)])
    with pytest.raises(analyzer.AnalysisError, match="shape of tensor 'y' is unknown"):
        analyzer.analyze(m)


def test_local_functions_are_inlined():
    fn = helper.make_function("local", "Double", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                              [helper.make_opsetid("", 17)])  # fmt: skip
    m = model([helper.make_node("Double", ["x"], ["y"], domain="local")], [("x", [3, 4])], ["y"],
              extra_opsets=[helper.make_opsetid("local", 1)], functions=[fn])  # fmt: skip
    r = analyzer.analyze(m)
    assert ops(r) == ["add"] and r.unsupported == []


# --- input shapes ----------------------------------------------------------------
def _symbolic() -> onnx.ModelProto:
    conv = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    return model([conv], [("x", ["batch", 3, "size", "size"])], ["y"], [tensor("w", (8, 3, 3, 3))])


def test_symbolic_dims_bound_by_the_user():
    r = analyzer.analyze(_symbolic(), (2, 3, 10, 10))
    assert r.model["inputs"][0]["shape"] == [2, 3, 10, 10]
    assert r.totals["macs"] == 2 * 8 * 3 * 9 * 100
    named = analyzer.analyze(_symbolic(), frontend_options={"dims": {"batch": 1, "size": 4}})
    assert named.model["inputs"][0]["shape"] == [1, 3, 4, 4]


@pytest.mark.parametrize(
    ("inputs", "dims", "message"),
    [(None, None, "input 'x' has symbolic dim 0 ('batch'): give its shape with --input-shape"),
     (None, {"batch": 1}, "input 'x' has symbolic dim 2 ('size')"),
     ((1, 4, 8, 8), None, "input 'x' dim 1 is fixed at 3 in the model, the shape given says 4"),
     ((1, 3, 8, 9), None, "symbolic dim 'size' is bound to 8 and to 9"),
     ((1, 3, 8), None, "input 'x' has rank 4")],
)  # fmt: skip
def test_unbound_or_contradicting_shapes_are_usage_errors(inputs, dims, message):
    opts = {"dims": dims} if dims else {}
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        analyzer.analyze(_symbolic(), inputs, frontend_options=opts)
    assert "\n" not in str(e.value)


def test_inputs_by_name():
    nodes = [helper.make_node("MatMul", ["a", "b"], ["y"])]
    m = model(nodes, [("a", ["n", 8]), ("b", [8, "m"])], ["y"])
    r = analyzer.analyze(m, {"b": (8, 3), "a": (5, 8)})
    assert r.totals["macs"] == 5 * 8 * 3
    assert math.prod(r.graph.shape("y")) == 15


def test_clip_attributes_before_opset_11():
    r = analyzer.analyze(
        model(
            [helper.make_node("Clip", ["x"], ["y"], min=0.0, max=6.0)],
            [("x", [1, 8])],
            ["y"],
            opset=9,
        )
    )
    assert ops(r) == ["relu6"]


def test_control_flow_is_unsupported_not_guessed():
    out = onnx.TensorProto.FLOAT
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t"])],
        "then",
        [],
        [helper.make_tensor_value_info("t", out, [2, 4])],
    )
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e"])],
        "else",
        [],
        [helper.make_tensor_value_info("e", out, [2, 4])],
    )
    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0), helper.make_node("Greater", ["s", "zero"], ["c"]),
             helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)]  # fmt: skip
    zero = onnx.numpy_helper.from_array(np.asarray(0, np.float32), "zero")
    r = analyzer.analyze(model(nodes, [("x", [2, 4])], ["y"], [zero]))
    assert [u["source_op"] for u in r.unsupported] == ["If"]
    assert "subgraphs are not entered" in r.warnings[-1]


def test_constant_causal_mask_is_folded():
    """GPT-2's mask: Trilu of a constant of ones, then Where: no node for the constant part."""
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["ones"], value=onnx.numpy_helper.from_array(np.ones(1, np.float32))),
             helper.make_node("Trilu", ["ones"], ["mask"], upper=0),
             helper.make_node("Cast", ["mask"], ["keep"], to=onnx.TensorProto.BOOL),
             helper.make_node("Where", ["keep", "x", "neg"], ["y"])]  # fmt: skip
    inits = [
        ints("shape", [8, 8]),
        onnx.numpy_helper.from_array(np.asarray(-1e4, np.float32), "neg"),
    ]
    r = analyzer.analyze(model(nodes, [("x", [1, 8, 8])], ["y"], inits))
    assert ops(r) == ["where"] and r.unsupported == []


def _custom_model() -> onnx.ModelProto:
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], name="/conv/Conv"),
             helper.make_node("Frobnicate", ["h"], ["y"], domain="my.ops", name="/mystery/Frobnicate")]  # fmt: skip
    m = model(nodes, [("x", [1, 3, 8, 8])], ["y"], [tensor("w", (4, 3, 3, 3))],
              extra_opsets=[helper.make_opsetid("my.ops", 1)])  # fmt: skip
    m.graph.value_info.append(
        helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4, 6, 6])
    )
    return m


def test_plugin_op_mapping_onto_a_canonical_op():
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.plugins import load_plugins

    class Mapping:
        @hookimpl
        def analyzer_register_op_mappings(self, register):
            register("onnx", "my.ops::Frobnicate", "relu")

    plugins = load_plugins(extra=[Mapping()], entry_points=False)
    r = analyzer.analyze(_custom_model(), plugins=plugins)
    assert ops(r) == ["conv", "relu"] and r.unsupported == []
    assert [n.source_op for n in r.graph.nodes()][-1] == "my.ops::Frobnicate"


def test_plugin_op_mapping_onto_a_handler():
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.plugins import load_plugins

    def frobnicate(c, attrs):  # the ONNX frontend's handler signature: (converter, attributes)
        c.emit("mul", [c.operand(c.input(0)), c.operand(c.input(0))])

    class Mapping:
        @hookimpl
        def analyzer_register_op_mappings(self, register):
            register("onnx", "my.ops::Frobnicate", frobnicate)

    r = analyzer.analyze(
        _custom_model(), plugins=load_plugins(extra=[Mapping()], entry_points=False)
    )
    assert ops(r) == ["conv", "mul"] and r.unsupported == []
