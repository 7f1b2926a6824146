"""Regression trees as plain data: export a fitted scikit-learn ensemble, evaluate it with numpy.

The host's kernel-level calibration must never execute code when it is read
back (a pickle would), so a fitted ``GradientBoostingRegressor`` is stored
as JSON-able lists: per tree, the split ``feature`` and ``threshold`` of each
node, its ``left``/``right`` children (-1 at a leaf) and its ``value``.
``predict`` walks all nodes of all trees at once with numpy and reproduces
scikit-learn's prediction bit for bit: scikit-learn compares float32
features against float64 thresholds and adds ``learning_rate x leaf value``
tree after tree to the initial constant, and so does this module.
Predicting needs numpy only; fitting needs scikit-learn (``analyzer[latency]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

ENSEMBLE_KEYS = ("init", "learning_rate", "n_features", "trees")
TREE_KEYS = ("feature", "threshold", "left", "right", "value")


class TreeFormatError(ValueError):
    """The stored ensemble is not a well-formed tree list (the message names what is wrong)."""


def export_gbr(model: Any) -> dict[str, Any]:
    """A fitted ``sklearn.ensemble.GradientBoostingRegressor`` (squared error) as plain data."""
    init = model.init_
    constant = 0.0 if init == "zero" else float(np.asarray(init.constant_).reshape(-1)[0])
    trees = []
    for est in model.estimators_[:, 0]:
        t = est.tree_
        trees.append({
            "feature": [int(f) for f in t.feature],
            "threshold": [float(x) for x in t.threshold],
            "left": [int(c) for c in t.children_left],
            "right": [int(c) for c in t.children_right],
            "value": [float(v) for v in t.value[:, 0, 0]],
        })  # fmt: skip
    return {"init": constant, "learning_rate": float(model.learning_rate),
            "n_features": int(model.n_features_in_), "trees": trees}  # fmt: skip


def check_ensemble(doc: Any, where: str) -> None:
    """Raise TreeFormatError naming the first problem of ``doc`` (an exported ensemble)."""
    if not isinstance(doc, Mapping) or any(k not in doc for k in ENSEMBLE_KEYS):
        raise TreeFormatError(f"{where}: an ensemble needs the keys {', '.join(ENSEMBLE_KEYS)}")
    nf = doc["n_features"]
    if isinstance(nf, bool) or not isinstance(nf, int) or nf <= 0:
        raise TreeFormatError(f"{where}: n_features must be a positive integer")
    for key in ("init", "learning_rate"):
        if isinstance(doc[key], bool) or not isinstance(doc[key], int | float):
            raise TreeFormatError(f"{where}: {key} must be a number")
    if not isinstance(doc["trees"], Sequence) or not doc["trees"]:
        raise TreeFormatError(f"{where}: trees must be a non-empty list")
    for i, t in enumerate(doc["trees"]):
        if not isinstance(t, Mapping) or any(k not in t for k in TREE_KEYS):
            raise TreeFormatError(f"{where}: tree {i} needs the keys {', '.join(TREE_KEYS)}")
        n = len(t["feature"])
        if n == 0 or any(len(t[k]) != n for k in TREE_KEYS):
            raise TreeFormatError(
                f"{where}: tree {i}: its lists must be non-empty and of one length"
            )
        left, right, feat = (np.asarray(t[k]) for k in ("left", "right", "feature"))
        if left.dtype.kind != "i" or right.dtype.kind != "i" or feat.dtype.kind != "i":
            raise TreeFormatError(f"{where}: tree {i}: feature, left and right must be integers")
        inner = left >= 0
        if (inner != (right >= 0)).any():
            raise TreeFormatError(f"{where}: tree {i}: a node has one child only")
        idx = np.arange(n)
        if (left[inner] <= idx[inner]).any() or (right[inner] <= idx[inner]).any() or (left >= n).any() or (
                right >= n).any():  # fmt: skip
            raise TreeFormatError(
                f"{where}: tree {i}: children must come after their parent, inside the tree"
            )
        if ((feat[inner] < 0) | (feat[inner] >= nf)).any():
            raise TreeFormatError(f"{where}: tree {i}: a split names a feature outside 0..{nf - 1}")
        values = np.asarray(t["value"], dtype=float)
        if (
            not np.isfinite(values).all()
            or not np.isfinite(np.asarray(t["threshold"], dtype=float)[inner]).all()
        ):
            raise TreeFormatError(
                f"{where}: tree {i}: values and thresholds must be finite numbers"
            )


class Ensemble:
    """An exported ensemble, as arrays, ready to predict."""

    def __init__(self, doc: Mapping[str, Any]):
        self.init = float(doc["init"])
        self.learning_rate = float(doc["learning_rate"])
        self.n_features = int(doc["n_features"])
        self.trees = [tuple(np.asarray(t[k], dtype=dt) for k, dt in
                            zip(TREE_KEYS, (np.int64, np.float64, np.int64, np.int64, np.float64), strict=True))
                      for t in doc["trees"]]  # fmt: skip

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``x`` (n, n_features), identical to scikit-learn's."""
        x = np.asarray(x, dtype=np.float32).astype(np.float64)  # scikit-learn's trees read float32
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        rows = np.arange(len(x))
        out = np.full(len(x), self.init)
        for feature, threshold, left, right, value in self.trees:
            node = np.zeros(len(x), dtype=np.int64)
            while True:
                inner = left[node] >= 0
                if not inner.any():
                    break
                go_left = x[rows, np.where(inner, feature[node], 0)] <= threshold[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            out += self.learning_rate * value[node]
        return out
