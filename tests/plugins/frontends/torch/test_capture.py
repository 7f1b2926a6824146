"""Capture paths, fallbacks, parameters and scopes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import analyzer  # noqa: E402
from analyzer.core.errors import AnalysisError, UsageError  # noqa: E402

from .models import MobileNetV2  # noqa: E402


class DataDependent(nn.Module):
    """Python control flow on a tensor value: no meta tensor (or fake tensor) can decide it."""

    def __init__(self):
        super().__init__()
        self.small, self.large = nn.Linear(16, 16), nn.Linear(16, 64)

    def forward(self, x):
        if x.sum() > 0:
            return self.small(x)
        return self.large(x)


@pytest.mark.parametrize("capture", ["meta", "export"])
def test_data_dependent_control_flow_falls_back_to_a_real_trace(plugins, capture):
    model = DataDependent()
    x = torch.ones(4, 16)  # positive: takes the small branch
    report = analyzer.analyze(model, x, plugins=plugins, frontend_options={"capture": capture})
    assert report.model["capture"] == "torch.dispatch(real, fallback)"
    assert report.totals["macs"] == 4 * 16 * 16
    assert report.totals["params"] == sum(p.numel() for p in model.parameters())
    assert any("data-dependent branches follow the example inputs" in w for w in report.warnings)
    assert any(w.startswith(f"{capture} capture failed") for w in report.warnings)


def test_data_dependent_model_on_meta_cannot_fall_back(plugins):
    with torch.device("meta"):
        model = DataDependent()
    with pytest.raises(AnalysisError, match="weights are on the meta device"):
        analyzer.analyze(model, (4, 16), plugins=plugins)


def test_real_capture_on_request(plugins):
    report = analyzer.analyze(
        nn.Linear(8, 4), (2, 8), plugins=plugins, frontend_options={"capture": "real"}
    )
    assert report.model["capture"] == "torch.dispatch(real)" and report.totals["macs"] == 64


@pytest.mark.slow
def test_export_and_meta_capture_give_the_same_ir(plugins):
    with torch.device("meta"):
        model = MobileNetV2().eval()
    meta = analyzer.to_graph(model, (1, 3, 224, 224), plugins=plugins)
    exported = analyzer.to_graph(model, (1, 3, 224, 224), plugins=plugins, capture="export")
    assert exported.meta["capture"] == "torch.export"
    assert [(n.op, n.scope, n.inputs, n.attrs) for n in meta.nodes()] == [
        (n.op, n.scope, n.inputs, n.attrs) for n in exported.nodes()
    ]
    assert meta.params == exported.params


def test_bad_options_are_usage_errors(plugins):
    with pytest.raises(UsageError, match="unknown capture 'jit'"):
        analyzer.to_graph(nn.Linear(2, 2), (1, 2), plugins=plugins, capture="jit")
    with pytest.raises(UsageError, match="unknown torch frontend option"):
        analyzer.to_graph(nn.Linear(2, 2), (1, 2), plugins=plugins, speed="fast")
    with pytest.raises(UsageError, match="needs example inputs"):
        analyzer.to_graph(nn.Linear(2, 2), plugins=plugins)


def test_shape_errors_are_one_line_analysis_errors(plugins):
    with pytest.raises(AnalysisError) as info:
        analyzer.analyze(nn.Linear(8, 4), (2, 7), plugins=plugins)
    assert "\n" not in str(info.value) and "meta capture failed" in str(info.value)


class TiedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        self.block = nn.Sequential(nn.Linear(32, 32), nn.LayerNorm(32))
        self.head = nn.Linear(32, 100, bias=False)
        self.head.weight = self.embed.weight  # tied
        self.frozen = nn.Linear(32, 32)
        self.frozen.requires_grad_(False)
        self.unused = nn.Linear(4, 4)
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))

    def forward(self, ids):
        h = self.block(self.embed(ids))
        h = self.block(h)  # a module called twice
        return self.head(self.frozen(h))


def test_parameters_come_from_the_module(plugins):
    model = TiedLM()
    report = analyzer.analyze(model, [analyzer.Tensor("ids", (2, 10), "int64")], plugins=plugins)
    g, t = report.graph, report.totals
    unique = {id(p): p for p in model.parameters()}.values()
    assert t["params"] == sum(p.numel() for p in unique if p.requires_grad)
    assert t["non_trainable_params"] == 32 * 32 + 32 + 1  # frozen linear + the step buffer
    assert t["unused_params"] == 4 * 4 + 4 + 1  # the unused linear and the step buffer
    assert "head.weight" not in g.params and g.params["embed.weight"].role == "embedding"
    head = next(n for n in g.nodes() if n.scope == "head")
    assert head.inputs[1] == "embed.weight"  # the tied table, counted once
    assert not g.params["frozen.weight"].trainable
    assert g.params["step"].buffer and not g.params["step"].trainable
    assert g.params["block.1.weight"].role == "scale" and g.params["block.1.bias"].role == "shift"
    assert [n.scope for n in g.nodes() if n.op == "layer_norm"] == ["block.1", "block.1@1"]
    exported = analyzer.to_graph(
        model, [analyzer.Tensor("ids", (2, 10), "int64")], plugins=plugins, capture="export"
    )
    assert [(n.op, n.scope, n.inputs) for n in exported.nodes()] == [
        (n.op, n.scope, n.inputs) for n in g.nodes()
    ]
    assert exported.params == g.params


def test_plain_callables_and_frontend_detection(plugins):
    def fn(x, y):
        return torch.relu(x @ y)

    graph = analyzer.to_graph(fn, [(3, 4), (4, 5)], plugins=plugins, framework="torch")
    assert [n.op for n in graph.nodes()] == ["matmul", "relu"] and graph.name == "fn"
    assert plugins.frontends["torch"].accepts(nn.Linear(1, 1))
    assert not plugins.frontends["torch"].accepts(fn)


def test_weight_free_model_allocates_nothing(plugins):
    with torch.device("meta"):
        model = nn.Sequential(*(nn.Linear(8192, 8192) for _ in range(16)))  # 4.3 GB at fp32 if real
    report = analyzer.analyze(model, (1, 8192), plugins=plugins)
    assert report.totals["params"] == 16 * (8192 * 8192 + 8192)
    assert all(p.device.type == "meta" for p in model.parameters())


def test_models_built_under_fake_tensor_mode(plugins):
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        model = nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 10))
    report = analyzer.analyze(model, (2, 4096), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(meta)"
    assert report.totals["params"] == 4096 * 4096 + 4096 + 4096 * 10 + 10
    assert report.totals["macs"] == 2 * (4096 * 4096 + 4096 * 10)
