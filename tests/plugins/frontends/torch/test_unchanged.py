"""analyze() leaves the user's module exactly as it was: on every path, after success or failure."""

from __future__ import annotations

import contextlib
import logging

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import analyzer  # noqa: E402
from analyzer.core.errors import AnalysisError  # noqa: E402

from .module_tree import assert_unchanged, differences, fingerprint  # noqa: E402

PATHS = ["meta", "export", "real"]


class ReassignsList(nn.Module):
    """torchvision's AnchorGenerator: a list of tensors reassigned (moved) in forward."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.anchors = [torch.arange(4.0), torch.ones(4)]

    def forward(self, x):
        self.anchors = [a.to(device=x.device, dtype=x.dtype) for a in self.anchors]
        return self.fc(x) + self.anchors[0]


class CachesOnSelf(nn.Module):
    """Caches set on the module in forward: a new attribute, a counter, containers filled in place."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.calls = 0
        self.history: list[torch.Tensor] = []
        self.table = {"scale": torch.tensor(2.0)}
        self.nested = ([torch.zeros(4)], {"k": [1, 2]})

    def forward(self, x):
        y = self.fc(x)
        self.cache = y  # an attribute created in forward
        self.calls += 1
        self.history.append(y)
        self.table["last"] = y
        self.table["scale"] = self.table["scale"].to(x.device)
        self.nested[0][0] = y[0]
        self.nested[1]["k"].append(3)
        return y * 2


class WritesInPlace(nn.Module):
    """In-place writes to a buffer, a plain tensor attribute, running statistics and the input."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.total = torch.zeros(4)

    def forward(self, x):
        self.steps.add_(1)
        self.total += x.sum(0)
        with torch.no_grad():
            self.fc.weight.mul_(1.0)
        x.mul_(1.5)
        return self.bn(self.fc(x))


class RewiresItself(nn.Module):
    """Forward changes hooks, training flags, a submodule and a parameter of its own."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.drop = nn.Dropout(0.5)
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x):
        self.fc.register_forward_hook(lambda m, i, o: None)
        self.drop.train(not self.drop.training)
        self.extra = nn.ReLU()
        self.scale = nn.Parameter(self.scale.detach() * 2)
        return self.drop(self.fc(x)) * self.scale


class BranchesOnValues(nn.Module):
    """Changes its state, then branches on a value: meta and export fail, the real trace runs."""

    def __init__(self, fail: bool = False):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.anchors = [torch.ones(4)]
        self.fail = fail

    def forward(self, x):
        self.anchors = [a.to(x.device) for a in self.anchors]
        self.seen = x
        if x.sum() > -1e9:
            if self.fail:
                raise ValueError("this model refuses every input")
            return self.fc(x) + self.anchors[0]
        return x


class Layer:
    """A plain object holding tensors, as transformers' cache layers do."""

    def __init__(self):
        self.keys: torch.Tensor | None = None
        self.seen = 0


class Cache:
    def __init__(self, n: int):
        self.layers = [Layer() for _ in range(n)]


class UsesCaches(nn.Module):
    """Fills a cache object it owns and one passed in (``past_key_values``-style)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.own = Cache(1)

    def forward(self, x, cache=None):
        y = self.fc(x)
        for layer in [*self.own.layers, *(cache.layers if cache else [])]:
            layer.keys = y if layer.keys is None else torch.cat([layer.keys, y])
            layer.seen += 1
        if cache is not None:
            cache.layers.append(Layer())
        return y


MODELS = {"reassigns_list": ReassignsList, "caches_on_self": CachesOnSelf,
          "writes_in_place": WritesInPlace, "rewires_itself": RewiresItself,
          "branches_on_values": BranchesOnValues, "uses_caches": UsesCaches}  # fmt: skip


@pytest.mark.parametrize("capture", PATHS)
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("train_mode", [False, True], ids=["eval", "train_mode"])
def test_reproductions_are_unchanged(plugins, name, capture, train_mode):
    torch.manual_seed(0)
    model = MODELS[name]().train()
    x = torch.randn(3, 4)
    before, x_before = fingerprint(model), x.clone()
    with contextlib.suppress(AnalysisError):  # success or failure alike
        analyzer.analyze(model, x, plugins=plugins,
                         frontend_options={"capture": capture, "train_mode": train_mode})  # fmt: skip
    assert_unchanged(before, model)
    assert torch.equal(x, x_before), "the example input was written in place"


@pytest.mark.parametrize("capture", PATHS)
def test_unchanged_after_every_path_failed(plugins, capture):
    model = BranchesOnValues(fail=True)
    before = fingerprint(model)
    with pytest.raises(AnalysisError) as info:
        analyzer.analyze(model, torch.randn(2, 4), plugins=plugins,
                         frontend_options={"capture": capture})  # fmt: skip
    assert "this model refuses every input" in str(info.value)
    assert_unchanged(before, model)


def test_the_helper_sees_each_kind_of_change():
    """The fingerprint is the test's own: it must notice what restore has to undo."""
    model = CachesOnSelf()
    before = fingerprint(model)
    model(torch.randn(2, 4))
    changed = " ".join(differences(before, fingerprint(model)))
    for what in ("added <root>.cache", "<root>.calls", "<root>.history", "<root>.table",
                 "<root>.nested"):  # fmt: skip
        assert what in changed
    model = WritesInPlace()
    before = fingerprint(model)
    model.train()(torch.randn(3, 4))
    changed = " ".join(differences(before, fingerprint(model)))
    assert "<root>._buffers" in changed and "bn._buffers" in changed and "<root>.total" in changed
    model = RewiresItself()
    before = fingerprint(model)
    model(torch.randn(2, 4))
    changed = " ".join(differences(before, fingerprint(model)))
    assert "fc._forward_hooks" in changed and "drop.training" in changed
    assert "<root>._parameters" in changed and "<root>._modules" in changed


try:
    from .real_models import CATALOG
except ImportError:  # the catalog is another module's: without it, the test below is skipped
    CATALOG = {}


# default: the capture as a user runs it; real: a real trace of the model's own weights;
# refused: the memory guard refuses the real trace after its probe ran the forward on meta;
# export: torch.export (seconds per model, so only on EXPORTED)
SCENARIOS = {"default": {}, "real": {"capture": "real"},
             "refused": {"capture": "real", "max_memory": 1}, "export": {"capture": "export"}}  # fmt: skip
# torch.export takes seconds per model: two whose forward changes state or fills a cache
EXPORTED = [n for n in ("faster_rcnn", "mistral_sliding_window") if n in CATALOG]


@pytest.mark.parametrize(
    ("name", "scenario"),
    [(n, s) for n in CATALOG for s in SCENARIOS if s != "export"]
    + [(n, "export") for n in EXPORTED],
)
def test_real_models_are_unchanged(plugins, name, scenario):
    model, inputs = CATALOG[name]()
    model.train()  # the capture switches to eval: the user's mode must come back
    before = fingerprint(model)
    # whether the capture succeeds is the real-model tests' business; unchanged either way
    with contextlib.suppress(AnalysisError):
        analyzer.analyze(model, inputs, plugins=plugins, frontend_options=SCENARIOS[scenario])
    assert_unchanged(before, model)
    model.eval()
    with torch.no_grad():  # and it still runs for real (torchvision's anchors were left on meta)
        model(**inputs) if isinstance(inputs, dict) else model(*(
            inputs if isinstance(inputs, tuple) else (inputs,)))  # fmt: skip


class SwapsHooks(nn.Module):
    """Forward drops the hooks the user registered and adds its own."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        self.fc._forward_hooks.clear()
        self.fc.register_forward_pre_hook(lambda m, i: None)
        return self.fc(x)


@pytest.mark.parametrize("capture", PATHS)
def test_the_users_hooks_come_back(plugins, capture):
    model = SwapsHooks()
    calls: list[int] = []
    model.fc.register_forward_hook(lambda m, i, o: calls.append(1))
    before = fingerprint(model)
    analyzer.analyze(model, (2, 4), plugins=plugins, frontend_options={"capture": capture})
    assert_unchanged(before, model)
    calls.clear()
    model.fc(torch.randn(2, 4))
    assert calls == [1] and not model.fc._forward_pre_hooks


@pytest.mark.parametrize("capture", PATHS)
def test_a_cache_passed_in_comes_back(plugins, capture):
    model, cache = UsesCaches(), Cache(2)
    cache.layers[0].keys = torch.ones(1, 4)
    layers, first = list(cache.layers), cache.layers[0].keys
    analyzer.analyze(model, {"x": torch.randn(2, 4), "cache": cache}, plugins=plugins,
                     frontend_options={"capture": capture})  # fmt: skip
    assert cache.layers == layers and len(cache.layers) == 2
    assert cache.layers[0].keys is first and cache.layers[1].keys is None
    assert [layer.seen for layer in cache.layers] == [0, 0]
    assert model.own.layers[0].keys is None and model.own.layers[0].seen == 0


class Logs(nn.Module):
    """Holds a logger; forward creates another one (process-wide state, not the model's)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.log = logging.getLogger("analyzer_test.model")

    def forward(self, x):
        logging.getLogger("analyzer_test.made_in_forward").debug("forward")
        return self.fc(x)


def test_process_wide_objects_are_not_rolled_back(plugins):
    model = Logs()
    analyzer.analyze(model, (2, 4), plugins=plugins)
    made = logging.Logger.manager.loggerDict.get("analyzer_test.made_in_forward")
    assert made is not None and logging.getLogger("analyzer_test.made_in_forward") is made
