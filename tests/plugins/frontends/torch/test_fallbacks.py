"""The explicit fallback rules between capture paths, and the error when every path fails."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import analyzer  # noqa: E402
from analyzer.cli import main  # noqa: E402
from analyzer.core.errors import AnalysisError  # noqa: E402

RUNS: list[str] = []  # the device of each forward (outside the modules: analyze() restores them)


@torch.library.custom_op("analyzer_test::doubled", mutates_args=())
def doubled(x: torch.Tensor) -> torch.Tensor:
    """A CPU-only op: no meta kernel, no fake impl."""
    return x * 2


class Reads(nn.Module):
    """Python reads a value in one of several ways; the real trace decides the branch."""

    def __init__(self, how: str):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.how = how

    def forward(self, x):
        RUNS.append(x.device.type)
        y = self.fc(x)
        if self.how == "bool":
            return y if y.sum() > -1e9 else -y
        if self.how == "item":
            return y * x.abs().max().item()
        if self.how == "tolist":
            return y[: len([v for v in x[0].tolist() if v == v])]
        if self.how == "no_meta_kernel":
            return doubled(y)
        raise AssertionError(self.how)


@pytest.mark.parametrize(
    ("how", "reason"),
    [("bool", "aten.is_nonzero"), ("item", "aten._local_scalar_dense"),
     ("tolist", "copies a tensor's values"),
     ("no_meta_kernel", "analyzer_test.doubled.default has no meta kernel")],
)  # fmt: skip
def test_meta_falls_back_to_real_only_when_it_needs_values(plugins, how, reason):
    RUNS.clear()
    report = analyzer.analyze(Reads(how), torch.randn(2, 4), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(real, fallback)"
    assert report.totals["macs"] == 2 * 4 * 4
    failed = [w for w in report.warnings if w.startswith("meta capture failed")]
    assert len(failed) == 1 and "needs tensor values" in failed[0] and reason in failed[0]
    assert RUNS[-1] == "cpu"


class Mismatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 8), nn.Linear(5, 2)

    def forward(self, x):
        RUNS.append(x.device.type)
        return self.b(self.a(x))


def test_a_kernel_error_on_meta_is_checked_on_real_tensors(plugins):
    RUNS.clear()
    with pytest.raises(AnalysisError) as info:
        analyzer.analyze(Mismatch(), (2, 4), plugins=plugins)
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        "Mismatch: meta capture failed: RuntimeError: mat1 and mat2 shapes cannot be multiplied "
        "(2x8 and 5x2) (in aten.linear.default on meta tensors); "
        "real capture failed: the same error (an error of the model)"
    )
    assert RUNS[0] == "meta" and RUNS[-1] == "cpu"


def test_the_memory_guard_leaves_the_meta_error_first(plugins):
    with pytest.raises(AnalysisError) as info:
        analyzer.analyze(Mismatch(), (2, 4), plugins=plugins, frontend_options={"max_memory": 1})
    message = str(info.value)
    assert message.startswith("Mismatch: meta capture failed: RuntimeError: mat1 and mat2 shapes")
    assert message.endswith("real capture not tried: a real trace would allocate at least "
                            "128 B, above the memory limit of 1 B (max_memory)")  # fmt: skip


class ChecksInPython(nn.Module):
    def forward(self, x):
        RUNS.append(x.device.type)
        if x.shape[1] != 3:
            raise ValueError(f"expected 3 channels, got {x.shape[1]}")
        return x


def test_an_error_of_the_models_python_code_is_not_retried(plugins):
    RUNS.clear()
    with pytest.raises(AnalysisError) as info:
        analyzer.analyze(ChecksInPython(), (2, 4), plugins=plugins)
    assert str(info.value) == ("ChecksInPython: meta capture failed: ValueError: expected 3 "
                               "channels, got 4 (an error of the model, not retried on another "
                               "path)")  # fmt: skip
    assert RUNS == ["meta"]  # the same shapes in Python: a real forward would fail alike


@torch.library.custom_op("analyzer_test::bf16_only_on_meta", mutates_args=())
def strict(x: torch.Tensor) -> torch.Tensor:
    """The CPU kernel takes any dtype; the fake kernel refuses float32 (as some meta kernels do)."""
    return x + 1


@strict.register_fake
def _(x):
    torch._check(x.dtype == torch.bfloat16, lambda: "only bfloat16 is supported")
    return torch.empty_like(x)


class UsesAStrictKernel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return strict(self.fc(x))


def test_a_meta_kernel_stricter_than_the_cpu_one_falls_back(plugins):
    report = analyzer.analyze(UsesAStrictKernel(), (2, 4), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(real, fallback)"
    assert report.totals["macs"] == 2 * 4 * 4
    assert any(
        "only bfloat16 is supported" in w and "on meta tensors" in w for w in report.warnings
    )


class CatchesTheRead(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        try:
            positive = bool(x.sum() > 0)
        except RuntimeError:  # the meta trace's value read lands here
            positive = True
        return self.fc(x) if positive else x


def test_a_caught_value_read_is_a_warning(plugins):
    report = analyzer.analyze(CatchesTheRead(), (2, 4), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(meta)"
    assert any(
        "caught a failed value read" in w and "aten.is_nonzero" in w for w in report.warnings
    )


class Box:
    def __init__(self, t):
        self.t = t


class ReturnsAnObject(nn.Module):
    """torch.export refuses outputs it cannot flatten; the dispatch trace does not care."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return Box(self.fc(x))


def test_export_falls_back_to_meta(plugins):
    report = analyzer.analyze(ReturnsAnObject(), (2, 4), plugins=plugins,
                              frontend_options={"capture": "export"})  # fmt: skip
    assert report.model["capture"] == "torch.dispatch(meta, fallback)"
    assert report.totals["macs"] == 32
    assert any(w.startswith("export capture failed (") for w in report.warnings)


class FailsEverywhere(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > -1e9:
            raise ValueError("this model refuses every input")
        return self.fc(x)


def test_when_every_path_fails_the_error_names_each(plugins):
    with pytest.raises(AnalysisError) as info:
        analyzer.analyze(FailsEverywhere(), (2, 4), plugins=plugins,
                         frontend_options={"capture": "export"})  # fmt: skip
    message = str(info.value)
    assert "\n" not in message
    parts = message.removeprefix("FailsEverywhere: ").split("; ")
    assert [p.split(" ")[0] for p in parts] == ["export", "meta", "real"]
    assert parts[0].startswith("export capture failed: ")
    assert (
        parts[1].startswith("meta capture failed: needs tensor values") and "is_nonzero" in parts[1]
    )
    assert parts[2] == "real capture failed: ValueError: this model refuses every input"
    group = info.value.__cause__
    assert isinstance(group, ExceptionGroup) and len(group.exceptions) == 3


def test_meta_weights_cannot_fall_back(plugins):
    with torch.device("meta"):
        model = Reads("bool")
    with pytest.raises(AnalysisError) as info:
        analyzer.analyze(model, (2, 4), plugins=plugins)
    message = str(info.value)
    assert message.startswith("Reads: meta capture failed: needs tensor values")
    assert "; real capture impossible: the weights are on the meta device" in message


def test_debug_prints_the_traceback_of_each_path(tmp_path, capsys):
    spec = tmp_path / "failing.py"
    spec.write_text(
        "import torch\n"
        "class Net(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        if x.sum() > -1e9:\n"
        "            raise ValueError('refused by the model')\n"
        "        return x\n"
    )
    assert main(["analyze", f"{spec}:Net", "-i", "2,4", "--capture", "export"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "export capture failed" in err
    assert main(["analyze", f"{spec}:Net", "-i", "2,4", "--capture", "export", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "the error of each capture path (3 sub-exceptions)" in err
    assert err.count("Traceback (most recent call last)") >= 3
    assert "NeedsValues: Python reads a tensor's value (aten.is_nonzero)" in err
    assert "ValueError: refused by the model" in err
