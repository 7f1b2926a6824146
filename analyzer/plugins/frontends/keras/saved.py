"""Saved Keras models: ``.keras`` archives and legacy ``.h5`` files.

Both load through ``keras.saving.load_model(path, safe_mode=True,
compile=False)``: safe mode refuses to deserialize Python lambdas (the only
arbitrary code a Keras file can carry) and no optimizer or loss is rebuilt.
A ``.keras`` archive holds a JSON config plus weights (no pickle). Keras 3
reads legacy ``.h5`` full-model files (config + weights); ``.weights.h5``
files hold weights only and cannot be analyzed. Custom classes must be
registered (``keras.saving.register_keras_serializable``) in the process,
for example by importing the module defining them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError


def load(path: Path) -> Any:
    if not path.is_file():
        raise AnalysisError(f"no such file: {path}")
    if path.name.endswith(".weights.h5"):
        raise AnalysisError(
            f"{path}: a weights-only file has no architecture to analyze; save the model with model.save()"
        )
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise AnalysisError(
            f"{path}: Keras could not load it: {type(e).__name__}: {first[:200]}"
        ) from None
