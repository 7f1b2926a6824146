"""Saved Keras models: ``.keras`` archives and legacy ``.h5`` files, loaded without running their code.

A Keras file is a JSON config (which classes and functions to build, by
module and name) plus weights. Keras's ``safe_mode=True`` refuses Python
lambdas and imports only Keras packages; before Keras sees the file, the
config is also checked here, so that a refusal is one clear line and does
not depend on Keras's own checks alone:

- ``Lambda`` layers and serialized Python functions (``__lambda__``) are
  refused: their code is Python bytecode from the file; so are
  ``TorchModuleWrapper`` (a pickled torch module) and ``TFSMLayer`` (loads
  a TensorFlow SavedModel, a graph that can read and write files);
- an object whose ``module`` is outside Keras (``keras``, ``keras_hub``,
  ``keras_cv``, ``keras_nlp``) is refused: naming ``os.system`` in a config
  must not even import it; a function must come from Keras's modeling
  namespaces (``keras.activations``, ``keras.ops``, ``keras.losses``...),
  not from ``keras.utils``, ``keras.config`` or ``keras.saving``;
- a ``.keras`` archive must be a zip with safe entry names (no ``..``,
  absolute paths or control characters), a ``config.json`` of bounded size,
  and no entry that inflates more than a zip bomb would.

Then ``keras.saving.load_model(path, safe_mode=True, compile=False)``
builds the model (no optimizer or loss rebuilt). Keras 3 reads legacy
``.h5`` full-model files (config + weights); ``.weights.h5`` files hold
weights only and cannot be analyzed. Custom classes must be registered
(``keras.saving.register_keras_serializable``) in the process, for example
by importing the module defining them.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError
from analyzer.core.zipnames import unsafe_entry_name

KERAS_PACKAGES = ("keras", "keras_hub", "keras_cv", "keras_nlp")
MODELING_NAMESPACES = frozenset(
    {"activations", "ops", "losses", "metrics", "initializers", "regularizers", "constraints"}
)
CODE_LAYERS = {  # built-in layers whose config carries or loads code
    "Lambda": "whose Python code is never loaded",
    "TorchModuleWrapper": "whose torch module is a pickle and is never loaded",
    "TFSMLayer": "which loads a TensorFlow SavedModel from a path and is never loaded",
}
MAX_CONFIG_BYTES = 64 * 2**20
MAX_EXPANSION = 100  # a larger inflate ratio on a large entry is a zip bomb
BOMB_FLOOR = 256 * 2**20
MAX_MESSAGE = 300
REFUSED = "(model files never run code)"
EXPORT_HINT = (
    "rebuild the model from built-in layers, or analyze its code (analyzer analyze file.py:NAME)"
)


def load(path: Path) -> Any:
    if not path.is_file():
        raise AnalysisError(f"no such file: {path}")
    if path.name.endswith(".weights.h5"):
        raise AnalysisError(
            f"{path}: a weights-only file has no architecture to analyze; save the model with model.save()"
        )
    config = _keras_config(path) if path.suffix.lower() == ".keras" else _h5_config(path)
    check_config(config, path)
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as e:
        cause = _root_cause(e)  # Keras wraps the real reason ("Could not locate class 'X'")
        raise AnalysisError(
            f"{path}: Keras could not load it: {type(cause).__name__}: {first_sentences(str(cause))}"
        ) from None


def _root_cause(e: BaseException) -> BaseException:
    seen = {id(e)}
    while (nxt := e.__cause__ or e.__context__) is not None and id(nxt) not in seen and str(nxt):
        seen.add(id(nxt))
        e = nxt
    return e


def check_config(config: Any, path: Path) -> None:
    """Refuse code-bearing objects anywhere in a model config (nested models included)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        cls, module = node.get("class_name"), node.get("module")
        if cls in CODE_LAYERS:
            config = node.get("config")
            name = config.get("name", "?") if isinstance(config, dict) else "?"
            raise AnalysisError(
                f"{path}: refused, layer {str(name)[:60]!r} is a {cls} layer, {CODE_LAYERS[cls]} "
                f"{REFUSED}; {EXPORT_HINT}"
            )
        if cls == "__lambda__":
            raise AnalysisError(
                f"{path}: refused, the config holds a Python lambda {REFUSED}; {EXPORT_HINT}"
            )
        if cls == "function" and not _modeling_function(module):
            raise AnalysisError(
                f"{path}: refused, the config names function {str(module)[:60]}."
                f"{str(node.get('config'))[:60]}, which is not a modeling function {REFUSED}"
            )
        if (
            isinstance(module, str)
            and module != "builtins"
            and module.split(".")[0] not in KERAS_PACKAGES
        ):
            raise AnalysisError(
                f"{path}: refused, the config names {module[:60]}.{str(cls)[:60]}, a Python "
                f"object outside Keras {REFUSED}; {EXPORT_HINT}"
            )


def _modeling_function(module: Any) -> bool:
    """Functions in a config may come from Keras's modeling namespaces only (not keras.utils...)."""
    if module is None or module in ("builtins", "keras"):
        return True
    if not isinstance(module, str):
        return False
    package, _, rest = module.partition(".")
    if package != "keras":
        return package in KERAS_PACKAGES  # keras_hub...: resolved through Keras's registry only
    return rest.removeprefix("src.").split(".")[0] in MODELING_NAMESPACES


def first_sentences(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` as one line of whole sentences, about ``limit`` characters at most.

    Keras puts the reason on the lines after an introduction ending in ":"
    ("Example error message for object <Dense>:"), then whole configs and
    weight values: the lines are joined, sentences are kept while they fit,
    and a first sentence longer than ``limit`` is cut at a word boundary.
    """
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    out = shorten(sentences[0], limit)
    for s in sentences[1:]:
        if len(out) + 1 + len(s) > limit:
            break
        out += " " + s
    return out


def shorten(text: str, limit: int) -> str:
    """``text`` cut at the last word boundary before ``limit`` characters, marked with "..."."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    head, space, _ = cut.rpartition(" ")
    return (head.rstrip(" ,;:") if space and head else cut) + "..."


def _keras_config(path: Path) -> Any:
    hint = "save the model with model.save('model.keras')"
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            for info in infos:
                _check_entry(info, path)
            if len({i.filename for i in infos}) != len(infos):
                raise AnalysisError(f"{path}: refused, an entry appears twice in the archive")
            if "config.json" not in zf.namelist():
                raise AnalysisError(f"{path}: not a Keras model archive (no config.json); {hint}")
            info = zf.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise AnalysisError(
                    f"{path}: config.json declares {info.file_size} bytes (too large)"
                )
            with zf.open(info) as f:
                data = f.read(MAX_CONFIG_BYTES + 1)
    except zipfile.BadZipFile as e:
        raise AnalysisError(
            f"{path}: not a Keras model archive ({e}: truncated or not a zip); {hint}"
        ) from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as e:
        raise AnalysisError(
            f"{path}: not a readable Keras archive ({type(e).__name__}: {first_sentences(str(e))})"
        ) from None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AnalysisError(
            f"{path}: config.json in the archive is not JSON (corrupt file); {hint}"
        ) from None


def _check_entry(info: zipfile.ZipInfo, path: Path) -> None:
    name = info.filename
    if unsafe_entry_name(name):
        raise AnalysisError(
            f"{path}: refused, entry {name[:80]!r} has an unsafe name (path traversal or odd characters)"
        )
    if info.file_size > BOMB_FLOOR and info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
        raise AnalysisError(
            f"{path}: refused, entry {name[:80]!r} would inflate {info.compress_size} bytes to "
            f"{info.file_size} (a zip bomb)"
        )


def _h5_config(path: Path) -> Any:
    import h5py  # installed with Keras

    if not h5py.is_hdf5(path):
        raise AnalysisError(
            f"{path}: not an HDF5 file (corrupt, or not saved by Keras); save the model with model.save('model.keras')"
        )
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except Exception as e:
        raise AnalysisError(
            f"{path}: not a readable HDF5 file ({type(e).__name__}: {first_sentences(str(e))})"
        ) from None
    if raw is None:
        raise AnalysisError(
            f"{path}: the HDF5 file holds no model config (weights only?); save the model with model.save('model.keras')"
        )
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        if len(text) > MAX_CONFIG_BYTES:
            raise ValueError("too large")
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AnalysisError(
            f"{path}: the model config in the HDF5 file is not JSON (corrupt file)"
        ) from None
