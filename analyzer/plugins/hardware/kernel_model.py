"""The host's kernel-level latency model: fitted on micro-benchmarks, stored as data, read with numpy.

File ``host-kernels.json`` beside ``host.toml`` (docs/hardware.md, "Host
latency: kernel-level model")::

    {"format": "analyzer.host-kernels/1",
     "machine": {"cpu": "...", "cores": 2},
     "calibrations": {"1": {            # one per thread count measured
        "threads": 1, "date": "...", "runtime": {"name": "PyTorch eager", "torch": "2.13"},
        "quick": false, "clock": "thread CPU time",
        "module_call_s": 2.1e-06, "view_s": 6e-07, "fusion": {...},
        "classes": {"conv": {"points": 320, "fit": {...}, "ensemble": {init, learning_rate,
                                                     n_features, trees: [...]}}, ...},
        "benchmarks": [[op, inputs, params, outputs], ...]}}}

Per class, the predictor is a gradient-boosted tree ensemble of
scikit-learn, fitted to log(measured time / nominal roofline time) from the
op's features (``kernel_features``), exported to plain lists
(``kernel_trees``): reading the file runs no code, predicting needs numpy
only. Gradient boosting rather than a random forest: with a few hundred
points per class, shallow boosted trees fit the smooth trends of the ratio
(efficiency rising with size, falling with odd channel counts) with small
trees, where a forest averages deep, noisy trees and stores many more nodes.

A model's predicted time = sum over its graph's nodes of the class
predictor's time (views: ``view_s``) + one ``module_call_s`` per module
called (each distinct module scope and its parents).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.core.errors import AnalysisError
from analyzer.plugins.hardware import kernel_context as kc
from analyzer.plugins.hardware import kernel_features as kf
from analyzer.plugins.hardware.kernel_trees import Ensemble, TreeFormatError, check_ensemble

FORMAT = "analyzer.host-kernels/1"
FILE_NAME = "host-kernels.json"
GBR_PARAMS = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.1, "min_samples_leaf": 2,
              "subsample": 1.0, "random_state": 0}  # fmt: skip


def fit_class(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """A boosted-tree ensemble (exported) for one class: features ``x`` -> log ratio ``y``."""
    from sklearn.ensemble import GradientBoostingRegressor

    from analyzer.plugins.hardware.kernel_trees import export_gbr

    if len(y) < 4:  # too few points to split: the median ratio, as a one-leaf tree
        return _constant(
            float(np.median(y)) if len(y) else 0.0, x.shape[1] if x.ndim == 2 else kf.N_FEATURES
        )
    params = dict(GBR_PARAMS, n_estimators=min(GBR_PARAMS["n_estimators"], 20 * len(y)))
    model = GradientBoostingRegressor(**params).fit(x, y)
    return export_gbr(model)


def _constant(value: float, n_features: int) -> dict[str, Any]:
    return {"init": value, "learning_rate": 1.0, "n_features": n_features,
            "trees": [{"feature": [-2], "threshold": [-2.0], "left": [-1], "right": [-1], "value": [0.0]}]}  # fmt: skip


def fit(shapes: list[kf.OpShape], times: list[float]) -> dict[str, dict[str, Any]]:
    """Per class: the exported ensemble and its fit error on its own points (log-space residuals)."""
    out = {}
    for klass in kf.CLASSES:
        idx = [i for i, s in enumerate(shapes) if kf.kernel_class(s) == klass]
        if not idx:
            continue
        x = np.array([kf.features(shapes[i]) for i in idx], dtype=float)
        y = np.array([math.log(times[i] / kf.nominal_s(shapes[i])) for i in idx])
        ens = fit_class(x, y)
        resid = Ensemble(ens).predict(x) - y
        out[klass] = {"points": len(idx), "ensemble": ens,
                      "fit": {"median_abs_error": float(np.median(np.abs(np.expm1(resid)))),
                              "max_abs_error": float(np.max(np.abs(np.expm1(resid))))}}  # fmt: skip
    return out


def _bad(path: Path | str, what: str) -> AnalysisError:
    return AnalysisError(f"{path}: {what} (run 'python -m analyzer calibrate' again to rewrite it)")


class KernelModel:
    """One calibration (one thread count) of a loaded ``host-kernels.json``."""

    def __init__(self, doc: Mapping[str, Any], threads: int, path: Path | str = FILE_NAME):
        cal = doc["calibrations"][str(threads)]
        self.path, self.threads, self.doc, self.calibration = str(path), threads, doc, cal
        self.module_call_s = float(cal["module_call_s"])
        self.view_s = float(cal["view_s"])
        self.ensembles = {k: Ensemble(v["ensemble"]) for k, v in cal["classes"].items()}
        self.fuse_activation = bool(
            cal.get("fusion", {}).get("conv_activation", {}).get("fused", False)
        )
        ctx = cal.get("context") or {}
        self.context = {t: float(ctx.get(t, 0.0)) for t in kc.TERMS}
        self.bounds = (float(ctx.get("activation_bound_macs_per_byte", kc.MEMORY_BOUND_MACS_PER_BYTE)),
                       float(ctx.get("weight_bound_macs_per_byte", kc.WEIGHT_BOUND_MACS_PER_BYTE)))  # fmt: skip

    def without_context(self) -> KernelModel:
        """The same model with the in-network terms off: the kernels' time alone (calibration)."""
        warm = KernelModel(self.doc, self.threads, self.path)
        warm.context = dict.fromkeys(kc.TERMS, 0.0)
        return warm

    def op_times(self, shapes: list[kf.OpShape]) -> list[float]:
        """Predicted seconds per op (a class not calibrated falls back to 'movement', then nominal)."""
        times = [0.0] * len(shapes)
        by_class: dict[str, list[int]] = {}
        for i, s in enumerate(shapes):
            by_class.setdefault(kf.kernel_class(s), []).append(i)
        for klass, idx in by_class.items():
            if klass == "view":
                for i in idx:
                    times[i] = self.view_s
                continue
            ens = self.ensembles.get(klass) or self.ensembles.get("movement")
            if ens is None:
                for i in idx:
                    times[i] = kf.nominal_s(shapes[i])
                continue
            ratio = ens.predict(np.array([kf.features(shapes[i]) for i in idx], dtype=float))
            for i, r in zip(idx, ratio, strict=True):
                s = shapes[i]
                extra = sum(
                    self.context[t] * q for t, q in kc.op_quantities(s, *self.bounds).items()
                )
                times[i] = kf.nominal_s(s) * math.exp(float(r)) + extra
        return times

    def layer_times(self, graph: Any, layers: Iterable[Any]) -> list[dict[str, float]]:
        """Per layer: kernel time (its nodes), module-call time (modules first entered there), total."""
        layers = list(layers)
        node_ids = [n for layer in layers for n in layer.nodes]
        nodes = [graph.node(n) for n in node_ids]
        times = dict(
            zip(node_ids, self.op_times([kf.from_node(graph, n) for n in nodes]), strict=True)
        )
        if self.fuse_activation:  # an activation right after a conv runs inside it
            for n in nodes:
                if n.op == "conv":
                    for c in graph.consumers(n.outputs[0]):
                        if (
                            kf.kernel_class(kf.from_node(graph, c)) == "elementwise"
                            and len(c.inputs) == 1
                        ):
                            times[c.id] = 0.0
        seen: set[str] = set()
        rows = []
        for layer in layers:
            parts = layer.scope.split(".") if layer.scope else []
            prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
            calls = len(prefixes - seen) + (1 if "#" in layer.name and layer.scope else 0)
            seen |= prefixes
            kernel = sum(times[n] for n in layer.nodes)
            module = calls * self.module_call_s
            rows.append({"kernel_s": kernel, "module_call_s": module, "latency_s": kernel + module})
        return rows

    def describe(self) -> dict[str, Any]:
        cal = self.calibration
        return {"file": self.path, "format": FORMAT, "threads": self.threads, "machine": self.doc.get("machine"),
                "runtime": cal.get("runtime"), "date": cal.get("date"), "quick": cal.get("quick"),
                "module_call_s": self.module_call_s, "view_s": self.view_s,
                "context": {**self.context, "bounds_macs_per_byte": list(self.bounds)},
                "classes": {k: v["points"] for k, v in cal["classes"].items()},
                "fusion": {k: v.get("fused") for k, v in cal.get("fusion", {}).items() if isinstance(v, dict)}}  # fmt: skip


def validate(doc: Any, path: Path | str) -> None:
    """AnalysisError (one line, naming the file) when ``doc`` is not a host-kernels file we can read."""
    if not isinstance(doc, Mapping):
        raise _bad(path, "not a JSON object")
    if doc.get("format") != FORMAT:
        raise _bad(path, f"format {doc.get('format')!r} is not {FORMAT!r}")
    cals = doc.get("calibrations")
    if not isinstance(cals, Mapping) or not cals:
        raise _bad(path, "field 'calibrations' must map thread counts to calibrations")
    for key, cal in cals.items():
        where = f"calibrations.{key}"
        if not str(key).isdigit() or int(key) <= 0:
            raise _bad(path, f"{where}: the key must be a thread count")
        if not isinstance(cal, Mapping):
            raise _bad(path, f"{where}: not an object")
        for field in ("module_call_s", "view_s"):
            v = cal.get(field)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0:
                raise _bad(path, f"{where}.{field} must be a number of seconds >= 0")
        classes = cal.get("classes")
        if not isinstance(classes, Mapping) or not classes:
            raise _bad(path, f"{where}.classes must map kernel classes to predictors")
        for klass, entry in classes.items():
            if klass not in kf.CLASSES:
                raise _bad(
                    path,
                    f"{where}.classes: unknown kernel class {klass!r} (known: {', '.join(kf.CLASSES)})",
                )
            if not isinstance(entry, Mapping) or "ensemble" not in entry or "points" not in entry:
                raise _bad(path, f"{where}.classes.{klass} needs 'points' and 'ensemble'")
            try:
                check_ensemble(entry["ensemble"], f"{where}.classes.{klass}.ensemble")
            except TreeFormatError as e:
                raise _bad(path, str(e)) from None
            if entry["ensemble"]["n_features"] != kf.N_FEATURES:
                raise _bad(path, f"{where}.classes.{klass}: {entry['ensemble']['n_features']} features, "
                                 f"this version reads {kf.N_FEATURES}")  # fmt: skip


def read(path: Path) -> dict[str, Any]:
    """The validated document of ``path``."""
    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise AnalysisError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise _bad(path, f"not JSON (line {e.lineno}: {e.msg})") from None
    validate(doc, path)
    return doc


def write(path: Path, doc: Mapping[str, Any]) -> None:
    validate(doc, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def merge(
    existing: Mapping[str, Any] | None, machine: Mapping[str, Any], calibration: Mapping[str, Any]
) -> dict[str, Any]:
    """A document with ``calibration`` added (replacing the same thread count); another machine's is dropped."""
    cals: dict[str, Any] = {}
    if existing and existing.get("machine") == machine:
        cals.update(existing.get("calibrations", {}))
    cals[str(calibration["threads"])] = calibration
    return {"format": FORMAT, "machine": dict(machine), "calibrations": dict(sorted(cals.items()))}
