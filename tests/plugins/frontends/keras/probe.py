"""Subprocess helper for the backend tests (the Keras backend is fixed per process).

``KERAS_BACKEND=jax python probe.py`` prints the IR of every model in
``keras_models`` as one JSON document (the ``keras_backend`` meta entry
removed), for comparison across backends. Models are built in a
``keras.StatelessScope`` that never initialises their variables: random
initialisation is slow under JAX and the IR needs shapes only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def graphs() -> None:
    import keras
    from keras_models import INPUTS, MODELS

    from analyzer.core.serialize import graph_to_dict
    from analyzer.plugins.frontends.keras import KerasFrontend

    fe = KerasFrontend()
    out = {}
    for name, build in MODELS.items():
        with keras.StatelessScope(initialize_variables=False):  # also when a call builds it
            doc = graph_to_dict(fe.to_graph(build(), INPUTS.get(name)))
        doc["meta"].pop("keras_backend")
        out[name] = doc
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    graphs()
