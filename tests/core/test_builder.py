"""GraphBuilder: shape inference of the layer helpers, parameters, scopes and sharing."""

from __future__ import annotations

import pytest

from analyzer import GraphBuilder
from analyzer.core.graph import GraphError


def shape_of(build) -> tuple[int, ...]:
    b = GraphBuilder()
    return b.shape(build(b))


@pytest.mark.parametrize(
    ("in_shape", "kw", "out"),
    [
        # 1-d: (10 - 3) + 1 = 8
        ((2, 4, 10), dict(out_channels=6, kernel_size=3), (2, 6, 8)),
        # 2-d, padding 1 keeps 8x8
        ((1, 3, 8, 8), dict(out_channels=4, kernel_size=3, padding=1), (1, 4, 8, 8)),
        # 3-d k2 s2: 4 -> 2
        ((1, 2, 4, 4, 4), dict(out_channels=3, kernel_size=2, stride=2), (1, 3, 2, 2, 2)),
        # strided padded: (7 + 2 - 3)//2 + 1 = 4
        ((1, 3, 7, 7), dict(out_channels=4, kernel_size=3, stride=2, padding=1), (1, 4, 4, 4)),
        # "same" with stride 2: ceil(7/2) = 4
        ((1, 3, 7, 7), dict(out_channels=4, kernel_size=3, stride=2, padding="same"), (1, 4, 4, 4)),
        # "same" stride 1 with an even kernel: stays 9
        ((1, 1, 9, 9), dict(out_channels=1, kernel_size=4, padding="same"), (1, 1, 9, 9)),
        # dilation 2: 9 - 4 = 5
        ((1, 2, 9, 9), dict(out_channels=2, kernel_size=3, dilation=2), (1, 2, 5, 5)),
        # transposed: (3-1)*2 + 3 = 7
        ((1, 4, 3, 3), dict(out_channels=2, kernel_size=3, stride=2, transposed=True), (1, 2, 7, 7)),
        # transposed with padding 1 and output_padding 1: (4-1)*2 - 2 + 3 + 1 = 8
        ((1, 4, 4, 4), dict(out_channels=2, kernel_size=3, stride=2, padding=1, output_padding=1,
                            transposed=True), (1, 2, 8, 8)),
        # channels last: (1,5,5,3) -> (1,3,3,4)
        ((1, 5, 5, 3), dict(out_channels=4, kernel_size=3, channels_last=True), (1, 3, 3, 4)),
        # channels last "same" stride 2: ceil(5/2) = 3
        ((1, 5, 5, 3), dict(out_channels=4, kernel_size=3, stride=2, padding="same", channels_last=True),
         (1, 3, 3, 4)),
    ],
)  # fmt: skip
def test_conv_shapes(in_shape, kw, out) -> None:
    b = GraphBuilder()
    y = b.conv(b.input("x", in_shape), name="c", **kw)
    assert b.shape(y) == out


def test_conv_attrs_and_params() -> None:
    b = GraphBuilder()
    y = b.conv(b.input("x", (1, 6, 8, 8)), 4, 3, stride=2, padding="same", groups=2, name="c")
    node = b.graph.node(y)
    a = node.attrs
    assert a["kernel_size"] == (3, 3) and a["stride"] == (2, 2) and a["dilation"] == (1, 1)
    # same, stride 2 on 8: out 4, total = 3*2 + 3 - 8 = 1 -> (0, 1)
    assert a["padding"] == ((0, 1), (0, 1))
    assert (a["groups"], a["in_channels"], a["out_channels"], a["channel_axis"]) == (2, 6, 4, 1)
    assert a["transposed"] is False
    assert node.inputs == ("x", "c.weight", "c.bias")
    assert b.graph.params["c.weight"].shape == (4, 3, 3, 3)  # (out, in/g, k, k)
    assert b.graph.params["c.bias"].role == "bias"


def test_transposed_weight_layout() -> None:
    b = GraphBuilder()
    b.conv(b.input("x", (1, 4, 3, 3)), 6, 3, groups=2, transposed=True, bias=False, name="up")
    assert b.graph.params["up.weight"].shape == (4, 3, 3, 3)  # (in, out/g, k, k)
    assert "up.bias" not in b.graph.params


def test_channels_last_axis() -> None:
    b = GraphBuilder()
    y = b.conv(b.input("x", (1, 5, 5, 3)), 4, 3, channels_last=True, name="c")
    assert b.graph.node(y).attrs["channel_axis"] == 3


def test_groups_must_divide() -> None:
    b = GraphBuilder()
    with pytest.raises(ValueError, match="not divisible by groups 4"):
        b.conv(b.input("x", (1, 6, 8, 8)), 4, 3, groups=4)


@pytest.mark.parametrize(
    ("in_shape", "args", "kw", "out"),
    [
        ((1, 2, 6, 6), (3, 2), {}, (1, 2, 2, 2)),  # floor((6-3)/2) + 1 = 2
        ((1, 2, 6, 6), (3, 2), {"ceil_mode": True}, (1, 2, 3, 3)),  # ceil(3/2) + 1 = 3
        (
            (1, 2, 5, 5),
            (2, 2, 1),
            {"ceil_mode": True},
            (1, 2, 3, 3),
        ),  # last window in padding dropped
        ((1, 2, 7, 7), (3, 2, "same"), {}, (1, 2, 4, 4)),  # ceil(7/2) = 4
        ((1, 7, 7, 2), (2,), {"channels_last": True}, (1, 3, 3, 2)),  # stride defaults to kernel
        ((1, 4, 9), (3,), {}, (1, 4, 3)),  # 1-d
    ],
)
def test_pool_shapes(in_shape, args, kw, out) -> None:
    b = GraphBuilder()
    y = b.max_pool(b.input("x", in_shape), *args, name="p", **kw)
    assert b.shape(y) == out
    z = b.avg_pool("x", *args, name="q", **kw)
    assert b.shape(z) == out


def test_other_helpers() -> None:
    b = GraphBuilder()
    x = b.input("x", (2, 3, 4, 4))
    assert b.shape(b.global_avg_pool(x, name="gap")) == (2, 3, 1, 1)
    assert b.shape(b.flatten(x, name="f")) == (2, 48)
    assert b.shape(b.reshape(x, (2, -1, 4), name="r")) == (2, 12, 4)
    assert b.shape(b.permute(x, (0, 2, 3, 1), name="p")) == (2, 4, 4, 3)
    assert b.shape(b.concat([x, x], axis=-1, name="cat")) == (2, 3, 4, 8)
    assert b.shape(b.linear(b.input("t", (2, 5, 8)), 3, name="fc")) == (2, 5, 3)
    assert b.shape(b.matmul(b.input("a", (2, 1, 3, 4)), b.input("m", (5, 4, 6)), name="mm")) == (
        2,
        5,
        3,
        6,
    )
    assert b.shape(
        b.einsum("bij,bjk->bik", b.input("e1", (2, 3, 4)), b.input("e2", (2, 4, 5)), name="es")
    ) == (2, 3, 5)
    q = b.input("q", (1, 8, 4, 16))
    kv = b.input("kv", (1, 2, 6, 32))
    assert b.shape(b.attention(q, b.input("k", (1, 2, 6, 16)), kv, name="att")) == (1, 8, 4, 32)
    assert b.shape(b.embedding(b.input("idx", (2, 7), dtype="int64"), 100, 16, name="emb")) == (
        2,
        7,
        16,
    )
    assert b.graph.spec("emb").dtype == "float32"  # the table's dtype, not the indices'
    assert b.shape(b.add(x, b.input("bias", (3, 1, 1)), name="add")) == (2, 3, 4, 4)
    with pytest.raises(ValueError, match="contraction mismatch"):
        b.matmul(b.input("a2", (2, 3)), b.input("b2", (4, 5)))
    with pytest.raises(ValueError, match="unknown activation"):
        b.activation("swoosh", x)


def test_norm_params() -> None:
    b = GraphBuilder()
    x = b.input("x", (2, 3, 4, 4))
    b.batch_norm(x, name="bn")
    roles = {p.name: (p.role, p.trainable, p.buffer) for p in b.graph.params.values()}
    assert roles == {
        "bn.weight": ("scale", True, False),
        "bn.bias": ("shift", True, False),
        "bn.running_mean": ("mean", False, True),
        "bn.running_var": ("var", False, True),
    }
    b.layer_norm(b.input("t", (2, 5, 8)), name="ln")
    assert b.graph.params["ln.weight"].shape == (8,)
    b.layer_norm("t", affine=False, name="ln2")
    assert "ln2.weight" not in b.graph.params


def test_scope_nesting() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 3, 8, 8))
    with b.scope("encoder"):
        with b.scope("layer1"):
            y = b.conv(x, 4, 3, name="conv")
            y = b.relu(y, name="relu")
        z = b.relu(y, name="relu")
    node = b.graph.node(y)
    assert node.scope == "encoder.layer1.relu"
    assert b.graph.node("encoder.layer1.conv").inputs[1] == "encoder.layer1.conv.weight"
    assert b.graph.node(z).scope == "encoder.relu"
    w = b.relu(z)  # no scope, no name: an unscoped op named by its op
    assert b.graph.node(w).scope == "" and w == "relu"
    assert b.relu(w) == "relu_1"  # ids stay unique


def test_auto_names_are_unique() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y1 = b.linear(x, 4)
    y2 = b.linear(y1, 4)
    assert (y1, y2) == ("linear", "linear_1")
    assert "linear_1.weight" in b.graph.params


def test_param_sharing() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    w = b.param("shared.weight", (4, 4))
    assert b.param("shared.weight", (4, 4)) == w  # declaring it again shares it
    y = b.op("linear", [x, w], (1, 4), name="a")
    y = b.op("linear", [y, w], (1, 4), name="b")
    g = b.build(y)
    assert len(g.params) == 1
    assert [n.id for n in g.nodes()] == ["a", "b"]
    with pytest.raises(GraphError, match="redefined"):
        b.param("shared.weight", (4, 5))


def test_op_with_several_outputs_and_dtype() -> None:
    b = GraphBuilder()
    x = b.input("x", (2, 6), dtype="int8")
    parts = b.op("split", [x], [(2, 3), (2, 3)], {"axis": 1}, name="sp")
    assert parts == ("sp:0", "sp:1")
    assert b.graph.spec("sp:1").dtype == "int8"  # output dtype follows the first input
    c = b.op("cast", [x], (2, 6), name="c", dtype="float16")
    assert b.graph.spec(c).dtype == "float16"


def test_build_default_outputs_and_validation() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    y = b.relu(x, name="r1")
    b.relu(y, name="r2")
    b.relu(y, name="r3")
    g = b.build()
    assert g.outputs == ["r2", "r3"]  # tensors nobody consumes
    b2 = GraphBuilder()
    b2.op("reshape", [b2.input("x", (2, 3))], (7,), name="bad")
    with pytest.raises(GraphError):
        b2.build()
    assert b2.build(validate=False).outputs == ["bad"]


def test_equal_attribute_tuples_are_shared_not_the_dicts() -> None:
    b = GraphBuilder()
    x = b.input("x", (1, 4, 8, 8))
    y = b.conv(x, 4, 3, padding=1, name="c1")
    z = b.conv(y, 4, 3, padding=1, name="c2")
    a1, a2 = b.graph.node(y).attrs, b.graph.node(z).attrs
    assert a1 == a2 and a1 is not a2
    assert a1["kernel_size"] is a2["kernel_size"] and a1["padding"] is a2["padding"]
    a1["repeat"] = 2  # a node's attrs stay its own
    assert "repeat" not in a2
    r = b.relu(z, name="r")
    assert b.graph.node(r).attrs == {} and b.graph.node(r).attrs is not b.graph.node(z).attrs
    w = b.op("my_op", [r], (1, 4, 8, 8), {"flags": (True, 1)}, name="m")
    v = b.op("my_op", [w], (1, 4, 8, 8), {"flags": (1, 1)}, name="n")
    assert b.graph.node(w).attrs["flags"][0] is True and b.graph.node(v).attrs["flags"][0] == 1
