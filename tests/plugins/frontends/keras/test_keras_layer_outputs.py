"""Layers Keras runs but a plain symbolic call trips on (issue 14), counted by hand:
concrete layer outputs, ``None`` inside a tuple output, masked attention, and opaqueness
decided at the smallest layer that fails. The same models are compared across the three
backends in ``test_keras_backends.py``.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from keras import layers, ops  # noqa: E402

from analyzer import analyze  # noqa: E402

from .keras_models import masked_attention, positions, tuple_with_none  # noqa: E402
from .test_keras_counts import NumpyLayer  # noqa: E402

pytestmark = pytest.mark.keras


def test_concrete_layer_output_is_a_weight_derived_constant():
    r = analyze(positions())
    assert r.complete and not r.warnings
    assert r.totals["params"] == 50 * 8 + 32 * 8 + 8 * 4 + 4
    assert r.totals["macs"] == 6 * 8 * 4  # the head; the position add is elementwise
    node = r.graph.node("positions")
    assert (node.op, node.inputs, node.source_op) == (
        "constant",
        ("positions.table",),
        "LearnedPositions",
    )
    assert r.graph.shape(node.outputs[0]) == (6, 8)
    assert r.totals["unused_params"] == 0  # the table is an operand of the constant
    (add,) = [n for n in r.graph.nodes() if node.outputs[0] in n.inputs]
    assert add.op == "add" and r.graph.shape(add.outputs[0]) == (1, 6, 8)


def test_layer_returning_a_variable_and_a_tensor():
    class WithTable(layers.Layer):
        def build(self, input_shape):
            self.table = self.add_weight(shape=(3, 4), name="table")

        def call(self, x):
            return x * 2.0, self.table

    inp = keras.Input((4,), name="x")
    y, table = WithTable(name="wt")(inp)
    r = analyze(keras.Model(inp, ops.matmul(y, ops.transpose(table))))
    assert r.complete and r.totals["macs"] == 4 * 3
    assert [n.op for n in r.graph.nodes() if n.scope == "wt"] == ["mul", "constant"]
    assert r.graph.node("wt/constant").inputs == ("wt.table",)


class WeightsOnlyWork(layers.Layer):
    """Eager work on weights beside symbolic work: Gemma's ``x * (1 + scale)``, ViT's tiled class
    token, a position table looked up by a sublayer on ``arange`` (no symbolic input)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.positions = layers.Embedding(16, 8, name="positions")

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(8,), name="scale")
        self.cls = self.add_weight(shape=(1, 1, 8), name="cls")
        self.positions.build((None,))

    def call(self, x):
        x = x * (1.0 + self.scale)
        x = ops.concatenate([ops.tile(self.cls, (ops.shape(x)[0], 1, 1)), x], axis=1)
        return x + self.positions(ops.arange(ops.shape(x)[1]))


def test_weights_read_eagerly_are_operands_of_the_constants_they_make():
    inp = keras.Input((5, 8), name="x")
    r = analyze(keras.Model(inp, WeightsOnlyWork(name="w")(inp)))
    assert r.complete and r.totals["unused_params"] == 0
    consts = {
        n.inputs: r.graph.consumers(n.outputs[0])[0].op
        for n in r.graph.nodes()
        if n.op == "constant"
    }
    assert consts == {("w.scale",): "mul", ("w.cls",): "concat", ("w.positions.embeddings",): "add"}
    assert r.layer("w").params == 8 + 8 + 16 * 8  # all in the layer that uses them


def test_none_inside_a_tuple_output_keeps_the_parent_traced():
    r = analyze(tuple_with_none())
    assert r.complete and not r.warnings
    assert r.totals["params"] == 8 * 8 + 8 + 8 + 8 * 2 + 2
    assert r.totals["macs"] == 5 * 8 * 8 + 5 * 8 * 2
    assert [(n.op, n.scope) for n in r.graph.nodes()][:4] == [
        ("linear", "block.inner.proj"),
        ("constant", "block"),  # offset * 2, computed eagerly: reads block.offset
        ("add", "block"),
        ("relu", "block"),
    ]
    assert r.graph.node("block").inputs == ("block.offset",)


def test_masked_dot_product_attention_counts_its_products():
    r = analyze(masked_attention())
    assert r.complete
    per_call = 1 * 2 * 6 * 6 * (4 + 4)  # batch * heads * T * S * (QK^T + AV)
    assert r.totals["macs"] == 2 * per_call
    att = [n for n in r.graph.nodes() if n.op == "attention"]
    assert [len(n.inputs) for n in att] == [4, 4]  # q, k, v, mask
    assert att[0].inputs[3] == "mask"
    where = r.graph.node(att[1].inputs[3].split(":")[0])  # bias and mask folded into one operand
    assert where.op == "where" and where.inputs[0] == "mask" and where.inputs[1] == "bias"


@pytest.mark.parametrize("dropout", [0.0, 0.1])  # fused op / Keras's explicit einsum path
def test_multi_head_attention_macs_do_not_depend_on_the_mask(dropout):
    t, d, heads = 6, 16, 2

    def model(kind: str):
        q = keras.Input((t, d), name="q")
        m = keras.Input((t, t), dtype="bool", name="m")
        att = layers.MultiHeadAttention(heads, d // heads, dropout=dropout, name="mha")
        if kind == "mask":
            return keras.Model([q, m], att(q, q, attention_mask=m))
        return keras.Model(q, att(q, q, use_causal_mask=kind == "causal"))

    expected = 4 * t * d * d + 2 * heads * t * t * (d // heads)
    for kind in ("none", "mask", "causal"):
        r = analyze(model(kind))
        assert r.complete and r.totals["macs"] == expected, kind


def test_masked_softmax_layer_selects_then_normalizes():
    x = keras.Input((2, 6, 6), name="scores")
    m = keras.Input((1, 6, 6), dtype="bool", name="mask")
    r = analyze(keras.Model([x, m], layers.Softmax(name="sm")(x, mask=m)))
    assert [n.op for n in r.graph.nodes()] == ["where", "softmax"]
    assert r.graph.node("sm").inputs[:2] == ("mask", "scores")
    assert r.totals["other_flops"] == 72 + 5 * 72  # one select and softmax's 5 per score


def test_mapped_layer_whose_shape_rule_fails_is_traced_instead():
    class NoShapeRule(layers.Dense):
        def compute_output_shape(self, input_shape):
            raise ValueError("no shape rule")

    class Model(keras.Model):
        def __init__(self):
            super().__init__(name="m")
            self.d = NoShapeRule(4, name="d")

        def call(self, x):
            return self.d(x)

    r = analyze(Model(), (2, 3))
    assert r.complete and r.totals["macs"] == 2 * 3 * 4
    assert [n.op for n in r.graph.nodes()] == ["matmul", "add"]  # Dense's call, op by op


class Half(layers.Layer):
    """A traceable Dense beside an untraceable sublayer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(5, name="dense")
        self.np = NumpyLayer(name="np")

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.np.build((*input_shape[:-1], 5))

    def call(self, x):
        return self.np(ops.relu(self.dense(x)))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


def test_opaque_at_the_smallest_failing_layer():
    inp = keras.Input((5,), name="x")
    r = analyze(keras.Model(inp, layers.Dense(2, name="head")(Half(name="block")(inp))))
    assert r.unsupported == [{"op": "unknown", "source_op": "NumpyLayer", "count": 1}]
    opaque = next(n for n in r.graph.nodes() if n.op == "unknown")
    assert opaque.scope == "block.np" and opaque.inputs[-1] == "block.np.w"  # its weight
    assert [n.op for n in r.graph.nodes() if n.scope == "block.dense"] == ["linear"]
    assert r.totals["macs"] == 5 * 5 + 3 * 2  # the parent and the head still counted
    assert not r.complete
    assert any("'block.np'" in w for w in r.warnings)


class CountingInit(keras.initializers.Initializer):
    calls = 0

    def __call__(self, shape, dtype=None):
        CountingInit.calls += 1
        return ops.zeros(shape, dtype=dtype)


class Table(layers.Layer):
    def build(self, input_shape):
        self.table = self.add_weight(shape=(32, input_shape[-1]), initializer=CountingInit())

    def call(self, x):
        return ops.convert_to_tensor(self.table)[: ops.shape(x)[1]]


def test_uninitialized_variables_are_read_as_zeros_not_initialized():
    """Built in StatelessScope(initialize_variables=False), as the docs suggest for big models:
    an eager read would run the initializer (slow random init under JAX) on every capture."""
    with keras.StatelessScope(initialize_variables=False):
        inp = keras.Input((6, 8), name="x")
        model = keras.Model(inp, inp + Table(name="table")(inp))
    CountingInit.calls = 0
    r = analyze(model)
    assert CountingInit.calls == 0
    assert r.complete and r.graph.node("table").inputs == ("table.variable",)
