"""The examples/ zoo: one architecture in PyTorch, Keras and Flax gives the same numbers (issue 7).

Each architecture's three SPECs are resolved as the CLI resolves them
(``examples/<arch>.py:<framework>_model``) and analyzed once per module.
Params (trainable and not), MACs, contraction FLOPs, total and lecture-peak
activations must be identical; other FLOPs within 5% (the reasons are in
docs/cross-framework.md). Literature figures guard against all three
being wrong the same way; the PyTorch versions must match ``analyzer.zoo``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import analyzer  # noqa: E402
from analyzer import zoo  # noqa: E402
from analyzer.cli import main  # noqa: E402
from analyzer.core.plugins import load_plugins  # noqa: E402
from analyzer.core.spec import resolve_spec  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# framework -> modules it needs
NEEDS = {"torch": ("torch",), "keras": ("keras", "tensorflow"), "flax": ("jax", "flax")}
FRAMEWORKS = [fw for fw, mods in NEEDS.items() if all(importlib.util.find_spec(m) for m in mods)]
if len(FRAMEWORKS) < 2:
    pytest.skip("needs at least two of torch, keras, flax", allow_module_level=True)

IDENTICAL = (
    "params", "non_trainable_params", "model_size_bytes", "macs", "mac_flops",
    "total_activations", "peak_activations",
)  # fmt: skip
OTHER_FLOPS_TOLERANCE = 0.05
# Published figures: docs/metrics.md's AlexNet (bias ignored), torchvision's params and MACs;
# nn.TransformerEncoderLayer(512, 8, 2048) at sequence 128 by hand: params 4*512*512 + 4*512
# (attention) + 2*512*2048 + 2048 + 512 (FFN) + 4*512 (norms); MACs 128*512*512*4 (projections)
# + 2*8*128*128*64 (QK^T, AV) + 2*128*512*2048 (FFN); activations: 128*512 for the input and
# each of attention, add, norm1, linear2, add, norm2, and 128*2048 for linear1 (ReLU in
# place, dropout a view); peak at linear1/linear2: 128*512 + 128*2048.
LITERATURE = {
    "alexnet": {
        "params": 60_954_656,
        "macs": 724_406_816,
        "total_activations": 932_264,
        "peak_activations": 440_928,
    },
    "mobilenet_v2": {"params": 3_504_872, "macs": 300_774_272},
    "resnet50": {"params": 25_557_032, "macs": 4_089_184_256},
    "transformer": {
        "params": 3_152_384,
        "macs": 419_430_400,
        "total_activations": 720_896,
        "peak_activations": 327_680,
    },
}
ZOO = {"alexnet": zoo.alexnet, "mobilenet_v2": zoo.mobilenet_v2, "resnet50": zoo.resnet50,
       "transformer": zoo.transformer_encoder}  # fmt: skip


def analyze_spec(arch: str, framework: str, **options) -> analyzer.Report:
    """Resolve ``examples/<arch>.py:<framework>_model`` as the CLI does and analyze it."""
    spec = resolve_spec(f"{EXAMPLES / arch}.py:{framework}_model", load_plugins())
    return analyzer.analyze(
        spec.model,
        spec.inputs,
        params=spec.params,
        framework=spec.framework,
        name=spec.name,
        **options,
    )


# Built once per module: the first pays the framework imports (~10 s here), then each
# architecture takes 0.3-3.5 s for its three frameworks.
@pytest.fixture(scope="module", params=list(LITERATURE))
def arch(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def reports(arch: str) -> dict[str, analyzer.Report]:
    return {fw: analyze_spec(arch, fw) for fw in FRAMEWORKS}


@pytest.fixture(scope="module")
def totals(reports) -> dict[str, dict]:
    comparison = analyzer.compare(list(reports.values()), labels=list(reports))
    return {row["quantity"]: row for row in comparison.totals()}


def test_identical_params_macs_and_activations(arch, totals):
    for q in IDENTICAL:
        values = dict(zip(FRAMEWORKS, totals[q]["values"], strict=True))
        assert totals[q]["equal"] and len(set(values.values())) == 1, f"{arch} {q}: {values}"


def test_identical_without_biases(arch, reports):
    # --no-bias drops every bias parameter and its additions in all three alike
    comparison = analyzer.compare([analyzer.analyze(r.graph, bias=False) for r in reports.values()])
    rows = {row["quantity"]: row for row in comparison.totals()}
    assert all(rows[q]["equal"] for q in IDENTICAL), {q: rows[q]["values"] for q in IDENTICAL}


def test_other_flops_within_five_percent(arch, totals):
    values = totals["other_flops"]["values"]
    assert min(values) > 0
    assert max(values) / min(values) - 1 <= OTHER_FLOPS_TOLERANCE, f"{arch} other_flops: {values}"


def test_literature_figures(arch, reports):
    expected = LITERATURE[arch]
    for fw, report in reports.items():
        # the lecture's AlexNet table ignores biases; the other figures count them
        t = (
            analyzer.analyze(report.graph, bias=False).totals
            if arch == "alexnet"
            else report.totals
        )
        assert {q: t[q] for q in expected} == expected, fw


def test_everything_is_mapped(reports):
    for fw, report in reports.items():
        assert report.unsupported == [] and report.warnings == [], fw


def test_torch_version_is_the_zoo_model(arch, reports):
    """Same totals and, layer by layer, the same ops and numbers as ``analyzer.zoo``."""
    if "torch" not in reports:
        pytest.skip("torch is not installed")
    ours, ref = reports["torch"], analyzer.analyze(ZOO[arch]())
    assert {q: ours.totals[q] for q in ref.totals} == ref.totals

    def rows(report):
        return [(r.op, r.params, r.macs, r.flops, r.activations) for r in report.layers]

    assert rows(ours) == rows(ref)
    weighted = [[r.name for r in rep.layers if r.params] for rep in (ours, ref)]
    assert weighted[0] == weighted[1]  # torchvision's module paths


def test_cli_compare_of_the_three_specs(capsys):
    specs = [f"{EXAMPLES / 'alexnet'}.py:{fw}_model" for fw in FRAMEWORKS]
    assert main(["compare", *specs, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {row["quantity"]: row for row in doc["totals"]}
    assert rows["macs"]["values"] == [724_406_816] * len(FRAMEWORKS) and rows["macs"]["equal"]


@pytest.mark.slow
def test_the_issue_command(capsys, monkeypatch):
    """``python -m analyzer compare`` of the three MobileNetV2 SPECs, run in-process through
    ``main`` (a fresh process re-imported three frameworks for ~20 s; the entry point itself
    has its own subprocess test in tests/test_bad_input.py)."""
    monkeypatch.chdir(EXAMPLES.parent)  # the SPECs as the issue writes them, relative to the repository
    specs = [f"examples/mobilenet_v2.py:{fw}_model" for fw in FRAMEWORKS]
    assert main(["compare", *specs, "--format", "json"]) == 0, capsys.readouterr().err[-2000:]
    rows = {row["quantity"]: row for row in json.loads(capsys.readouterr().out)["totals"]}
    assert all(rows[q]["equal"] for q in IDENTICAL)
    assert rows["params"]["values"][0] == 3_504_872


def test_examples_import_no_framework():
    # each SPEC imports its framework when called: a user with one framework can use its SPEC
    code = (
        "import importlib.util, sys\n"
        f"for p in sorted(__import__('pathlib').Path({str(EXAMPLES)!r}).glob('*.py')):\n"
        "    s = importlib.util.spec_from_file_location(p.stem, p)\n"
        "    s.loader.exec_module(importlib.util.module_from_spec(s))\n"
        "print(sorted({'torch', 'keras', 'tensorflow', 'jax', 'flax'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
