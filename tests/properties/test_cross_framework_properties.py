"""Random architectures from one description, built in PyTorch, Keras and Flax.

Each framework's model must report the framework's own parameter counts,
MACs equal to the analytic count below, and all three (and the framework-free
GraphBuilder version) the same totals: parameters, model size, MACs, FLOPs
and activations (docs/cross-framework.md: the same architecture gives the
same numbers whichever framework it is written in).
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # as tests/examples/test_cross_framework.py

import analyzer  # noqa: E402
from analyzer.core.serialize import graph_from_dict, graph_to_dict  # noqa: E402
from tests.properties.frameworks import BUILDERS, NEEDS  # noqa: E402
from tests.properties.strategies import (  # noqa: E402
    CI_FRAMEWORKS,
    Arch,
    BatchNorm,
    Conv,
    Depthwise,
    GroupNorm,
    LayerNorm,
    Linear,
    Residual,
    architectures,
    build_arch_ir,
    conv_out,
    feature_shape,
)

AGREE = (
    "params", "non_trainable_params", "total_params", "model_size_bytes", "macs", "flops",
    "mac_flops", "other_flops", "total_activations", "peak_activations", "peak_live_activations",
    "total_activation_bytes", "memory_bytes", "max_receptive_field",
)  # fmt: skip


def analytic_counts(arch: Arch) -> tuple[int, int, int]:
    """(MACs, trainable params, non-trainable params) from the lecture's formulas."""
    n, macs, params, frozen = arch.batch, 0, 0, 0

    def block(b, c: int, hw: tuple[int, int], f: int) -> None:
        nonlocal macs, params, frozen
        if isinstance(b, Conv):
            if b.tf_same:  # ceil(size / stride)
                out_h, out_w = -(-hw[0] // b.stride[0]), -(-hw[1] // b.stride[1])
            else:
                out_h = conv_out(hw[0], b.kernel[0], b.stride[0], b.padding[0], b.dilation)
                out_w = conv_out(hw[1], b.kernel[1], b.stride[1], b.padding[1], b.dilation)
            per_out = c // b.groups * b.kernel[0] * b.kernel[1]  # c_i/g * k_h * k_w
            macs += n * out_h * out_w * b.out_channels * per_out
            params += b.out_channels * per_out + (b.out_channels if b.bias else 0)
        elif isinstance(b, Depthwise):
            out_h = conv_out(hw[0], b.kernel, b.stride, b.padding)
            out_w = conv_out(hw[1], b.kernel, b.stride, b.padding)
            macs += n * out_h * out_w * c * b.kernel**2
            params += c * b.kernel**2 + (c if b.bias else 0)
        elif isinstance(b, BatchNorm):
            width = f or c  # on vectors: per feature
            params += 2 * width  # scale, shift
            frozen += 2 * width  # running mean, variance
        elif isinstance(b, GroupNorm):
            params += 2 * c
        elif isinstance(b, Linear):
            macs += n * f * b.out_features
            params += f * b.out_features + (b.out_features if b.bias else 0)
        elif isinstance(b, LayerNorm):
            params += 2 * f
        elif isinstance(b, Residual):
            for inner in b.body:
                block(inner, c, hw, f)

    c, hw = arch.channels, arch.size
    for b in arch.features:
        block(b, c, hw, 0)
        c, hw = feature_shape(b, c, hw)
    f = c * hw[0] * hw[1] if arch.head == "flatten" else c
    for b in arch.classifier:
        block(b, c, hw, f)
        f = b.out_features if isinstance(b, Linear) else f
    return macs, params, frozen


def analyze_in(framework: str, arch: Arch) -> tuple[analyzer.Report, tuple[int, int]]:
    model, inputs, own = BUILDERS[framework](arch)
    return analyzer.analyze(model, inputs, name="arch"), own


def need(framework: str) -> None:
    for module in NEEDS[framework]:
        pytest.importorskip(module)


@pytest.mark.parametrize("framework", list(BUILDERS))
@CI_FRAMEWORKS
@given(arch=architectures(max_blocks=4))
def test_params_and_macs(framework: str, arch: Arch) -> None:
    need(framework)  # a skip passes through hypothesis at the first example
    report, (trainable, frozen) = analyze_in(framework, arch)
    t = report.totals
    macs, params, state = analytic_counts(arch)
    assert (t["params"], t["non_trainable_params"]) == (trainable, frozen)
    assert (trainable, frozen) == (params, state)
    assert t["macs"] == macs
    assert report.unsupported == [], report.unsupported


@CI_FRAMEWORKS
@given(architectures(max_blocks=4))
def test_frameworks_agree_on_every_total(arch: Arch) -> None:
    for framework in BUILDERS:
        need(framework)
    reports = {fw: analyze_in(fw, arch)[0] for fw in BUILDERS}
    reports["builder"] = analyzer.analyze_graph(build_arch_ir(arch))
    for q in AGREE:
        values = {fw: r.totals[q] for fw, r in reports.items()}
        assert len(set(values.values())) == 1, f"{q}: {values}"
    # analyzer.compare says so too
    rows = {row["quantity"]: row for row in analyzer.compare(list(reports.values())).totals()}
    assert all(rows[q]["equal"] for q in AGREE if q in rows), {
        q: rows[q] for q in AGREE if q in rows
    }
    # a captured graph saved as JSON and read back gives the same report
    for fw, r in reports.items():
        back = graph_from_dict(json.loads(json.dumps(graph_to_dict(r.graph))))
        again = analyzer.analyze_graph(back)
        assert again.totals == r.totals, fw
        assert [row.values for row in again.layers] == [row.values for row in r.layers], fw
    # --no-bias drops every bias parameter and its additions in all alike
    no_bias = {fw: analyzer.analyze(r.graph, bias=False).totals for fw, r in reports.items()}
    for q in AGREE:
        values = {fw: t[q] for fw, t in no_bias.items()}
        assert len(set(values.values())) == 1, f"bias=False {q}: {values}"
