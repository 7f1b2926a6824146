"""Saved programs (.pt2), refused pickles, the CLI, and the lazy import of torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import analyzer  # noqa: E402
from analyzer.core.errors import AnalysisError, UsageError  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(inplace=True),
            torch.nn.MaxPool2d(2), torch.nn.Conv2d(16, 32, 3, groups=2, bias=False), torch.nn.ReLU(),
        )  # fmt: skip
        self.fc6 = torch.nn.Linear(32 * 14 * 14, 10)

    def forward(self, x):
        return self.fc6(torch.flatten(self.features(x), 1))


@pytest.fixture(scope="module")
def small_pt2(tmp_path_factory) -> tuple[Path, Path]:
    """A small CNN exported as is and decomposed to core ATen (convolution, addmm with t(weight)...)."""
    d = tmp_path_factory.mktemp("pt2")
    ep = torch.export.export(SmallNet().eval(), (torch.randn(1, 3, 32, 32),))
    plain, core = d / "small.pt2", d / "small_core.pt2"
    with warnings.catch_warnings():  # torch's own deprecation noise while saving
        warnings.simplefilter("ignore", FutureWarning)
        torch.export.save(ep, plain)
        torch.export.save(ep.run_decompositions(), core)
    return plain, core


def test_pt2_files_give_the_models_numbers(plugins, small_pt2):
    reference = analyzer.analyze(SmallNet().eval(), (1, 3, 32, 32), plugins=plugins)
    assert (
        reference.totals["macs"] == 3 * 9 * 16 * 32 * 32 + 8 * 9 * 32 * 14 * 14 + 32 * 14 * 14 * 10
    )
    for path in small_pt2:
        report = analyzer.analyze(path, plugins=plugins)
        assert report.model["capture"] == "torch.export"
        for key in (
            "params",
            "macs",
            "flops",
            "total_activations",
            "peak_activations",
            "model_size_bytes",
        ):
            assert report.totals[key] == reference.totals[key], (path.name, key)
        # module layers keep their names; a scope-less op is named by its ATen op (flatten, or view once decomposed)
        assert [r.name for r in report.layers if r.scope] == [
            r.name for r in reference.layers if r.scope
        ]
        assert report.unsupported == []
    core = analyzer.to_graph(small_pt2[1], plugins=plugins)
    fc6 = core.node("fc6")
    assert (fc6.op, fc6.source_op, fc6.inputs[1:]) == (
        "linear",
        "aten.addmm.default",
        ("fc6.weight", "fc6.bias"),
    )
    bn = core.node("features.1")
    assert (bn.op, bn.attrs["training"]) == ("batch_norm", False)


def test_pt2_inputs_are_fixed(plugins, small_pt2):
    assert analyzer.to_graph(small_pt2[0], plugins=plugins).inputs == ["x"]
    program = plugins.frontends["torch"].load_file(small_pt2[0])
    assert analyzer.to_graph(program, (1, 3, 32, 32), plugins=plugins).inputs == ["x"]
    with pytest.raises(UsageError, match="re-export"):
        analyzer.to_graph(program, (2, 3, 32, 32), plugins=plugins)


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin"])
def test_pickles_are_refused_with_a_way_out(plugins, tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(AnalysisError) as info:
        analyzer.analyze(path, plugins=plugins)
    message = str(info.value)
    assert "\n" not in message and "never loaded" in message and "torch.export.save" in message


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_torch_is_imported_only_when_needed():
    code = textwrap.dedent("""
        import sys
        from analyzer.core.plugins import load_plugins
        fe = load_plugins().frontends["torch"]
        assert not fe.accepts(object()) and fe.file_suffixes[0] == ".pt2"
        assert "torch" not in sys.modules, "torch imported"
        import pathlib, tempfile
        pickle_file = pathlib.Path(tempfile.mkdtemp()) / "model.pkl"
        pickle_file.write_bytes(b"x")
        try:
            fe.load_file(pickle_file)
        except Exception as e:
            assert "never loaded" in str(e), e
        assert "torch" not in sys.modules, "torch imported to refuse a pickle"
    """)
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_cli_analyzes_a_module_spec_with_shapes_and_capture(tmp_path, capsys):
    spec = tmp_path / "spec.py"
    spec.write_text(
        textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {str(ROOT)!r})
        from tests.plugins.frontends.torch.models import LectureAlexNet
        def model():
            with torch.device("meta"):
                return LectureAlexNet()
    """)
    )
    from analyzer.cli import main

    # in-process (a subprocess re-imported torch for 10 s): the entry point has its own test
    args = ["analyze", f"{spec}:model", "--input-shape", "1,3,224,224", "--capture"]
    assert main([*args, "export", "--no-bias", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"]["capture"] == "torch.export"
    assert (doc["totals"]["params"], doc["totals"]["macs"]) == (60_954_656, 724_406_816)
    assert main([*args, "jit"]) == 2
    err = capsys.readouterr().err
    assert "unknown capture" in err and "Traceback" not in err
