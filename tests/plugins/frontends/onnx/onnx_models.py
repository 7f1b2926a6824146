"""Small ONNX models built with onnx.helper for the frontend tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def tensor(
    name: str, shape: tuple[int, ...], dtype: Any = np.float32, seed: int = 0
) -> onnx.TensorProto:
    rng = np.random.default_rng(seed)
    return numpy_helper.from_array(rng.standard_normal(shape).astype(dtype), name)


def ints(name: str, values: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def model(nodes: list[onnx.NodeProto], inputs: list[tuple[str, list[Any]]], outputs: list[str],
          inits: list[onnx.TensorProto] = (), opset: int = 17, **kwargs: Any) -> onnx.ModelProto:  # fmt: skip
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info(n, F, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, F, None) for n in outputs], list(inits),
    )  # fmt: skip
    m = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), *kwargs.pop("extra_opsets", [])],
        **kwargs,
    )
    m.ir_version = min(m.ir_version, 10)  # onnxruntime 1.32 reads up to IR 11
    return m
