"""The host's kernel-level model: trees exported as data, the file validated, --device host using it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from analyzer import analyze, zoo
from analyzer.core.devices import ENV_VAR, DeviceCatalog
from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.plugins import load_plugins
from analyzer.plugins.hardware import calibrate as cal
from analyzer.plugins.hardware import kernel_bench as kb
from analyzer.plugins.hardware import kernel_features as kf
from analyzer.plugins.hardware import kernel_model as km
from analyzer.plugins.hardware.host import derived_host_doc
from analyzer.plugins.hardware.kernel_trees import Ensemble, export_gbr

MACHINE = {"cpu": "Test CPU", "cores": 2}


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_exported_trees_predict_exactly_what_scikit_learn_predicts():
    sklearn = pytest.importorskip("sklearn.ensemble")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 20, size=(300, kf.N_FEATURES))
    y = np.sin(x[:, 0]) + 0.1 * x[:, 3] * x[:, 5] + rng.normal(0, 0.05, 300)
    model = sklearn.GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=0).fit(
        x, y
    )
    doc = json.loads(json.dumps(export_gbr(model)))  # through JSON, as stored
    x_new = rng.uniform(-5, 25, size=(500, kf.N_FEATURES))  # beyond the training range too
    np.testing.assert_array_equal(Ensemble(doc).predict(x_new), model.predict(x_new))


def test_fit_recovers_a_constant_ratio():
    pytest.importorskip("sklearn")
    cases = kb.design(counts={"conv": 6, "elementwise": 5})
    shapes = [c.shape for c in cases]
    fitted = km.fit(shapes, [3.0 * kf.nominal_s(s) for s in shapes])
    assert set(fitted) == {"conv", "elementwise"} and fitted["conv"]["points"] == 6
    ens = Ensemble(fitted["conv"]["ensemble"])
    pred = ens.predict(np.array([kf.features(s) for s in shapes if s.op == "conv"]))
    np.testing.assert_allclose(np.exp(pred), 3.0)


def _doc(
    ratio: float = 2.0, threads: int = 1, module_call_s: float = 1e-6, view_s: float = 5e-7
) -> dict:
    classes = {
        k: {"points": 1, "ensemble": km._constant(math.log(ratio), kf.N_FEATURES)}
        for k in kf.CLASSES
    }
    cal_ = {
        "threads": threads,
        "module_call_s": module_call_s,
        "view_s": view_s,
        "fusion": {},
        "classes": classes,
    }
    return km.merge(None, MACHINE, cal_)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(format="analyzer.host-kernels/9"), "format"),
    (lambda d: d["calibrations"]["1"].update(module_call_s=-1), "module_call_s"),
    (lambda d: d["calibrations"]["1"]["classes"].update(npu={"points": 1, "ensemble": {}}), "unknown kernel class"),
    (lambda d: d["calibrations"]["1"]["classes"]["conv"]["ensemble"]["trees"][0]["left"].append(3), "one length"),
    (lambda d: d["calibrations"]["1"]["classes"]["conv"]["ensemble"].update(n_features=3), "features"),
    (lambda d: d["calibrations"]["1"]["classes"]["conv"]["ensemble"]["trees"].__setitem__(0, {
        "feature": [0, -2, -2], "threshold": [1.0, -2.0, -2.0], "left": [5, -1, -1], "right": [2, -1, -1],
        "value": [0.0, 0.0, 0.0]}), "children"),
])  # fmt: skip
def test_bad_files_are_one_line_errors(tmp_path, edit, message):
    doc = _doc()
    edit(doc)
    path = tmp_path / km.FILE_NAME
    path.write_text(json.dumps(doc))
    with pytest.raises(AnalysisError) as e:
        km.read(path)
    assert message in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)


def test_not_json_is_a_one_line_error(tmp_path):
    path = tmp_path / km.FILE_NAME
    path.write_text("{")
    with pytest.raises(AnalysisError, match="not JSON"):
        km.read(path)


def _host_dir(tmp_path, doc=None):
    d = tmp_path / "devices"
    cal._write(derived_host_doc(), d / "host.toml")
    if doc is not None:
        km.write(d / km.FILE_NAME, doc)
    ps = load_plugins()
    ps.devices = DeviceCatalog([d])
    return ps


def _expected(graph, layers, ratio, module_call_s, view_s):
    """An independent sum: ratio x nominal per op, view_s per view, module_call_s per module entered."""
    total, modules = 0.0, set()
    for layer in layers:
        for n in layer.nodes:
            s = kf.from_node(graph, graph.node(n))
            total += view_s if kf.kernel_class(s) == "view" else ratio * kf.nominal_s(s)
        parts = layer.scope.split(".") if layer.scope else []
        modules |= {".".join(parts[: i + 1]) for i in range(len(parts))}
    return total + module_call_s * len(modules)


def test_host_switches_to_the_kernel_model_when_calibrated(tmp_path):
    graph = zoo.tiny_cnn()
    roofline = analyze(graph, devices=["host"], plugins=_host_dir(tmp_path)).hardware[0]
    assert roofline.details["kernel_model"]["used"] is False
    ps = _host_dir(tmp_path, _doc(ratio=2.0))
    report = analyze(graph, devices=["host"], plugins=ps)
    r = report.hardware[0]
    assert r.details["kernel_model"]["used"] is True and r.details["kernel_model"]["threads"] == 1
    from analyzer.core.layers import group_layers

    layers = group_layers(report.graph, ps.vocabulary)
    assert r.latency_s == pytest.approx(_expected(report.graph, layers, 2.0, 1e-6, 5e-7), rel=1e-9)
    assert r.latency_s != pytest.approx(roofline.latency_s)
    assert sum(row["latency_s"] for row in r.layers) == pytest.approx(r.latency_s)
    assert all("roofline_latency_s" in row for row in r.layers)


def test_threads_option_picks_the_calibration_or_says_it_is_missing(tmp_path):
    doc = km.merge(_doc(ratio=2.0), MACHINE, _doc(ratio=4.0, threads=2)["calibrations"]["2"])
    ps = _host_dir(tmp_path, doc)
    one = analyze(zoo.tiny_cnn(), devices=["host"], plugins=ps, hardware={"threads": 1}).hardware[0]
    two = analyze(zoo.tiny_cnn(), devices=["host"], plugins=ps, hardware={"threads": 2}).hardware[0]
    assert two.details["kernel_model"]["threads"] == 2 and two.latency_s > one.latency_s
    four = analyze(zoo.tiny_cnn(), devices=["host"], plugins=ps, hardware={"threads": 4}).hardware[
        0
    ]
    assert four.details["kernel_model"]["used"] is False
    assert "not calibrated for 4 thread(s)" in four.details["kernel_model"]["why"]
    with pytest.raises(UsageError, match="'threads' must be a positive integer"):
        analyze(zoo.tiny_cnn(), devices=["host"], plugins=ps, hardware={"threads": 0})


def test_other_cpus_keep_the_roofline(tmp_path):
    ps = _host_dir(tmp_path, _doc())
    cal._write({**derived_host_doc(), "name": "other-cpu"}, tmp_path / "devices" / "other-cpu.toml")
    r = analyze(zoo.tiny_cnn(), devices=["other-cpu"], plugins=ps).hardware[0]
    assert "kernel_model" not in r.details


def test_measure_kernels_runs_a_few_benchmarks_and_restores_threads():
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    before = torch.get_num_threads()
    c = cal.measure_kernels(1, quick=True, counts={"conv": 2, "gemm": 2}, show=False)
    assert torch.get_num_threads() == before
    assert set(c["classes"]) == {"conv", "gemm"} and len(c["benchmarks"]) == 4
    assert c["module_call_s"] > 0 and c["view_s"] > 0 and c["fusion"]["conv_bias"]["together_s"] > 0
    doc = km.merge(None, MACHINE, c)
    km.validate(doc, "x")


def test_design_is_seeded_and_leaves_held_out_shapes_out():
    first = kb.design(counts={"conv": 5, "normalization": 3})
    again = kb.design(counts={"conv": 5, "normalization": 3})
    assert [c.shape.key() for c in first] == [c.shape.key() for c in again]
    held_out = {first[0].shape.key(), first[-1].shape.key()}
    kept = kb.design(counts={"conv": 5, "normalization": 3}, exclude=held_out)
    assert len(kept) == 8 and not held_out & {c.shape.key() for c in kept}


def test_context_terms_are_recovered_from_whole_network_times():
    pytest.importorskip("scipy")
    from analyzer.plugins.hardware import kernel_context as kc

    rng = np.random.default_rng(1)
    quantities = [{"s_per_op": float(rng.integers(20, 300)), "s_per_weight_byte": float(rng.uniform(1e5, 5e7)),
                   "s_per_activation_byte": float(rng.uniform(1e5, 5e7))} for _ in range(12)]  # fmt: skip
    warm = [float(rng.uniform(1e-3, 5e-2)) for _ in quantities]
    truth = {"s_per_op": 3e-6, "s_per_weight_byte": 5e-11, "s_per_activation_byte": 0.0}
    measured = [
        w + sum(truth[t] * q[t] for t in kc.TERMS) for w, q in zip(warm, quantities, strict=True)
    ]
    fitted = kc.fit_context(warm, quantities, measured)
    assert fitted == pytest.approx(truth, rel=1e-6, abs=1e-15)
    shape = kf.OpShape("linear", ((1, 8),), ((1, 4),), ((4, 8), (4,)))
    assert kc.op_quantities(shape) == {"s_per_op": 1.0, "s_per_weight_byte": 36 * 4.0,
                                       "s_per_activation_byte": 12 * 4.0}  # fmt: skip
    assert set(kc.op_quantities(kf.OpShape("reshape", ((1, 8),), ((2, 4),))).values()) == {0.0}


def test_context_bounds_are_chosen_by_the_networks_fit():
    pytest.importorskip("scipy")
    from analyzer.plugins.hardware import kernel_context as kc

    rng = np.random.default_rng(2)
    nets = []
    for _ in range(10):  # linear layers of 1 to 512 tokens: MACs per weight byte from 0.25 to 128
        nets.append([kf.OpShape("linear", ((int(m), 256),), ((int(m), 512),), ((512, 256),))
                     for m in rng.choice([1, 8, 32, 100, 200, 512], size=int(rng.integers(2, 8)))])  # fmt: skip
    warm = [1e-3 * len(n) for n in nets]
    truth = {"s_per_op": 2e-6, "s_per_weight_byte": 1e-10, "s_per_activation_byte": 0.0}
    measured = [w + sum(truth[t] * q[t] for t in kc.TERMS) for w, q in
                zip(warm, (kc._summed(n, 4.0, 64.0) for n in nets), strict=True)]  # fmt: skip
    fitted = kc.fit_bounds(warm, nets, measured)
    assert fitted["weight_bound_macs_per_byte"] == 64.0
    assert fitted["s_per_weight_byte"] == pytest.approx(1e-10, rel=1e-6)
