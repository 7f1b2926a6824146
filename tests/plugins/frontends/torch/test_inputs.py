"""Inputs as tensors, shapes, specs, several and keyword inputs; dtypes kept."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import analyzer  # noqa: E402
from analyzer import Tensor  # noqa: E402

SEEN: list[str] = []  # devices forward ran on (outside the module: analyze() restores its state)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x, y=None, *, scale: float = 1.0):
        SEEN.append(x.device.type)
        out = self.fc(x) * scale
        return out if y is None else out + y


def inputs_of(report):
    return [(i["name"], tuple(i["shape"]), i["dtype"]) for i in report.model["inputs"]]


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ((2, 8), [("input", (2, 8), "float32")]),
        ([(2, 8), (2, 8)], [("input0", (2, 8), "float32"), ("input1", (2, 8), "float32")]),
        ([Tensor("x", (3, 8), "float16")], [("x", (3, 8), "float16")]),
        ({"x": (2, 8), "y": Tensor("y", (2, 8), "bfloat16"), "scale": 2.0},
         [("x", (2, 8), "float32"), ("y", (2, 8), "bfloat16")]),
        ((torch.zeros(5, 8), torch.zeros(5, 8)), [("input0", (5, 8), "float32"), ("input1", (5, 8), "float32")]),
        ([torch.zeros(5, 8), None], [("input0", (5, 8), "float32")]),
    ],
    ids=["shape", "shapes", "spec", "kwargs", "tensors", "tensor-and-none"],
)  # fmt: skip
def test_input_forms(plugins, inputs, expected):
    model = TwoInputs()
    if expected[0][2] != "float32":  # PyTorch's linear needs the input in its weights' dtype
        model = model.to(getattr(torch, expected[0][2]))
    SEEN.clear()
    report = analyzer.analyze(model, inputs, plugins=plugins)
    assert inputs_of(report) == expected
    assert SEEN == ["meta"]  # example tensors are never computed on
    batch = expected[0][1][0]
    assert report.totals["macs"] == batch * 8 * 8


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_models_keep_their_dtype(plugins, dtype):
    model = nn.Sequential(nn.Linear(16, 16), nn.GELU()).to(dtype)
    report = analyzer.analyze(model, torch.zeros(2, 16, dtype=dtype), plugins=plugins)
    name = str(dtype).removeprefix("torch.")
    assert report.model["inputs"][0]["dtype"] == name
    assert {p.dtype for p in report.graph.params.values()} == {name}
    assert report.totals["model_size_bytes"] == (16 * 16 + 16) * 2
    assert {report.graph.tensors[t].dtype for n in report.graph.nodes() for t in n.outputs} == {
        name
    }


class Int8Linear(nn.Module):
    """An int8 GEMM (torch._int_mm) on int8 weights, rescaled in float: a quantized linear layer."""

    def __init__(self):
        super().__init__()
        self.register_buffer("weight", torch.randint(-128, 127, (64, 32), dtype=torch.int8))
        self.register_buffer("scale", torch.ones(64))

    def forward(self, x):
        return torch._int_mm(x, self.weight.t()).float() * self.scale


def test_int8_models_count_integer_ops(plugins):
    report = analyzer.analyze(Int8Linear(), Tensor("x", (32, 32), "int8"), plugins=plugins)
    g, t = report.graph, report.totals
    assert g.params["weight"].dtype == "int8" and g.tensors["x"].dtype == "int8"
    assert [n.op for n in g.nodes()] == ["linear", "cast", "mul"]
    assert t["macs"] == 32 * 32 * 64 and t["mac_int_ops"] == 2 * 32 * 32 * 64
    assert t["model_size_bytes"] == 64 * 32 + 64 * 4  # int8 weights, fp32 scales


def test_bad_inputs_are_usage_errors(plugins):
    with pytest.raises(analyzer.UsageError, match="no dtype"):
        analyzer.analyze(TwoInputs(), Tensor("x", (2, 8), "float4_e2m1fn"), plugins=plugins)
    with pytest.raises(analyzer.UsageError, match="inputs must be"):
        analyzer.analyze(TwoInputs(), "2,8", plugins=plugins)


def test_spec_mapping_inputs_and_options(plugins):
    from analyzer.core.spec import resolve_object

    def factory():
        return {"model": TwoInputs(), "inputs": {"x": Tensor("x", (4, 8), "float16")},
                "frontend_options": {"capture": "export"}}  # fmt: skip

    spec = resolve_object(factory, "factory", plugins)
    report = analyzer.analyze(
        spec.model, spec.inputs, plugins=plugins, frontend_options=spec.frontend_options
    )
    assert report.model["capture"] == "torch.export"
    assert inputs_of(report) == [("x", (4, 8), "float16")]
    assert report.totals["macs"] == 4 * 8 * 8
