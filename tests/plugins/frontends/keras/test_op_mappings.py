"""Plugin op mappings in the Keras frontend (framework "keras"): a custom layer class and a
keras.ops operation mapped to a plugin's canonical op become one node of that op, with its formula."""

from __future__ import annotations

import os
import types

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from keras import ops  # noqa: E402

import analyzer  # noqa: E402
from analyzer.core.hookspecs import hookimpl  # noqa: E402
from analyzer.core.ops import Category, OpDef  # noqa: E402

pytestmark = pytest.mark.keras


class ScaledDense(keras.layers.Layer):
    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape) -> None:
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")

    def call(self, x):
        return 0.5 * ops.matmul(x, self.w)


def _macs(v) -> int:
    (m, k), (_, n) = v.in_shape(0), v.in_shape(1)
    return m * k * n


def plugin(*mappings: tuple[str, str]):
    def register_mappings(register):
        for source_op, target in mappings:
            register("keras", source_op, target)

    return types.SimpleNamespace(
        __name__="my_keras_plugin",
        analyzer_register_ops=hookimpl(
            lambda register: register(OpDef("my_gemm", Category.CONTRACTION, "0.5 x @ w"))
        ),
        analyzer_register_formulas=hookimpl(lambda register: register("macs", "my_gemm", _macs)),
        analyzer_register_op_mappings=hookimpl(register_mappings),
    )


def model():
    x = keras.Input((4,), batch_size=3)
    return keras.Model(x, ScaledDense(8, name="scaled")(x))


@pytest.mark.parametrize("name", ["ScaledDense", f"{__name__}.ScaledDense"])
def test_a_mapped_layer_class_is_one_node_of_the_plugin_op(name: str) -> None:
    ps = analyzer.load_plugins(extra=[plugin((name, "my_gemm"))], entry_points=False)
    r = analyzer.analyze(model(), plugins=ps)
    assert [(n.op, n.source_op) for n in r.graph.nodes()] == [("my_gemm", "ScaledDense")]
    assert r.layer("scaled").op == "my_gemm"
    assert r.totals["macs"] == 3 * 4 * 8 and r.totals["params"] == 4 * 8
    assert r.unsupported == []


def test_unmapped_the_layer_is_traced_through_its_call() -> None:
    r = analyzer.analyze(model(), plugins=analyzer.load_plugins(entry_points=False))
    assert {n.op for n in r.graph.nodes()} == {"matmul", "mul"}


def test_a_mapped_keras_ops_operation() -> None:
    a, b = keras.Input((4,), batch_size=3), keras.Input((8,), batch_size=4)
    m = keras.Model([a, b], ops.matmul(a, b))
    ps = analyzer.load_plugins(extra=[plugin(("ops.Matmul", "my_gemm"))], entry_points=False)
    r = analyzer.analyze(m, plugins=ps)
    assert [n.op for n in r.graph.nodes()] == ["my_gemm"]
    assert r.totals["macs"] == 3 * 4 * 8
