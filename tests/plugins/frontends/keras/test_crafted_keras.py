"""Crafted Keras files: code in a config never runs, bad files are one line naming the problem.

A payload writes a marker file when it runs. ``test_the_lambda_payload_is_real``
loads the crafted file with ``safe_mode=False`` and sees the marker, so the
refusals below are tested against a real attack.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from keras import layers  # noqa: E402

from analyzer.cli import main  # noqa: E402
from analyzer.plugins.frontends.keras.saved import first_sentences  # noqa: E402

pytestmark = pytest.mark.keras


def small() -> keras.Model:
    x = inp = keras.Input((4,), name="x")
    x = layers.Dense(3, activation="relu", name="fc1")(x)
    return keras.Model(inp, layers.Dense(2, name="fc2")(x), name="small")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("keras") / "small.keras"
    small().save(path)
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "payload-ran"


def lambda_model(marker: Path) -> keras.Model:
    """A Lambda layer whose function writes ``marker`` when the layer is called (on load, too)."""
    inp = keras.Input((4,), name="x")
    # the path is a constant of the lambda's code (Keras serializes bytecode, not closures)
    fn = eval(f"lambda t: (open({str(marker)!r}, 'w').write('ran'), t)[1]")  # noqa: S307
    payload = layers.Lambda(fn, name="double")
    return keras.Model(inp, payload(inp))


def rewrite_config(src: Path, dst: Path, change: Callable[[dict], None]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "config.json":
                doc = json.loads(data)
                change(doc)
                data = json.dumps(doc).encode()
            zout.writestr(info.filename, data)
    return dst


def layer(doc: dict, name: str) -> dict:
    return next(lay for lay in doc["config"]["layers"] if lay["config"]["name"] == name)


def assert_refused(path: Path, marker: Path, capsys, *patterns: str) -> str:
    rc = main(["analyze", str(path)])
    err = capsys.readouterr().err
    assert not marker.exists(), "the payload ran"
    assert rc == 1, err
    assert err.count("\n") == 1 and err.startswith("analyzer: error: "), err
    assert path.name in err and "Traceback" not in err, err
    for p in patterns:
        assert p in err, (p, err)
    return err


def test_a_lambda_layer_is_refused(marker, tmp_path, capsys):
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"lambda{suffix}"
        lambda_model(marker).save(path)
        marker.unlink(missing_ok=True)  # building the model above called the layer
        assert_refused(path, marker, capsys, "refused", "'double' is a Lambda layer")


def test_the_lambda_payload_is_real(marker, tmp_path):
    path = tmp_path / "lambda.keras"
    lambda_model(marker).save(path)
    marker.unlink()
    keras.saving.load_model(path, safe_mode=False, compile=False)
    assert marker.exists(), "Keras did not run the lambda: the refusal test would prove nothing"


def as_object(module: str, name: str, kind: str = "function") -> dict:
    return {"module": module, "class_name": kind, "config": name, "registered_name": name}


MALICIOUS: dict[str, Callable[[dict, Path], None]] = {
    # an activation naming os.system: Keras would import os to look it up
    "activation_os_system": lambda d, m: layer(d, "fc1")["config"].__setitem__(
        "activation", as_object("os", "system")
    ),
    # a layer whose class is subprocess.Popen, with its arguments in the config
    "layer_subprocess_popen": lambda d, m: d["config"]["layers"].__setitem__(
        1,
        {
            "module": "subprocess",
            "class_name": "Popen",
            "config": {"args": ["touch", str(m)], "name": "fc1"},
            "registered_name": None,
        },
    ),
    # an initializer from builtins' exec, nested deep in a layer's config
    "initializer_builtins_exec": lambda d, m: layer(d, "fc2")["config"].__setitem__(
        "kernel_initializer",
        {
            "module": "importlib",
            "class_name": "import_module",
            "config": {"name": "os"},
            "registered_name": None,
        },
    ),
    # a serialized Python lambda (marshal'd bytecode) as an activation
    "python_lambda_activation": lambda d, m: layer(d, "fc1")["config"].__setitem__(
        "activation", {"class_name": "__lambda__", "config": {"value": ["AAAA", None, None]}}
    ),
    # a Lambda layer calling a Keras function by name: no bytecode, still a Lambda
    "lambda_with_named_function": lambda d, m: d["config"]["layers"].__setitem__(
        2,
        {
            "module": "keras.layers",
            "class_name": "Lambda",
            "config": {"name": "fc1", "function": as_object("keras.activations", "relu")},
            "registered_name": None,
        },
    ),
    # Keras's own non-modeling functions: switching safe mode off, downloading a file
    "activation_enable_unsafe_deserialization": lambda d, m: layer(d, "fc1")["config"].__setitem__(
        "activation", as_object("keras.config", "enable_unsafe_deserialization")
    ),
    "activation_get_file": lambda d, m: layer(d, "fc1")["config"].__setitem__(
        "activation", as_object("keras.src.utils.file_utils", "get_file")
    ),
    # a pickled torch module (Keras would torch.load it) and a SavedModel loaded from a path
    "torch_module_wrapper": lambda d, m: d["config"]["layers"].__setitem__(
        2,
        {
            "module": "keras.layers",
            "class_name": "TorchModuleWrapper",
            "config": {"name": "fc1", "module": "gASVAAAAAAAAAAAu"},
            "registered_name": None,
        },
    ),
    "tfsm_layer": lambda d, m: d["config"]["layers"].__setitem__(
        2,
        {
            "module": "keras.layers",
            "class_name": "TFSMLayer",
            "config": {"name": "fc1", "filepath": str(m.parent)},
            "registered_name": None,
        },
    ),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_configs_naming_code_are_refused(case, clean, marker, tmp_path, capsys):
    path = rewrite_config(clean, tmp_path / f"{case}.keras", lambda d: MALICIOUS[case](d, marker))
    assert_refused(path, marker, capsys, "refused", "model files never run code")


def test_modeling_functions_still_load(clean, tmp_path, capsys):
    def change(d: dict) -> None:
        layer(d, "fc1")["config"]["activation"] = as_object("keras.activations", "relu")

    path = rewrite_config(clean, tmp_path / "relu.keras", change)
    assert main(["analyze", str(path)]) == 0, capsys.readouterr().err


def test_a_config_pointing_outside_keras_is_named(clean, marker, tmp_path, capsys):
    path = rewrite_config(
        clean, tmp_path / "os.keras", lambda d: MALICIOUS["activation_os_system"](d, marker)
    )
    assert_refused(path, marker, capsys, "os.system")


def patch_declared_size(path: Path, entry: str, size: int) -> None:
    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + name_len]) == entry.encode():
            struct.pack_into("<I", data, pos + 24, size)
            path.write_bytes(bytes(data))
            return
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(entry)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("junk", "not a Keras model archive"),
        ("truncated", "not a Keras model archive"),
        ("empty", "not a Keras model archive"),
        ("no_config", "no config.json"),
        ("config_not_json", "config.json in the archive is not JSON"),
        ("traversal", "unsafe name"),
        ("bomb", "zip bomb"),
        ("duplicate", "appears twice"),
    ],
)
def test_corrupt_keras_archives_say_what_is_wrong(damage, message, clean, marker, tmp_path, capsys):
    path = tmp_path / f"{damage}.keras"
    data = clean.read_bytes()
    if damage == "junk":
        path.write_text("not a zip")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        with zipfile.ZipFile(clean) as zin, zipfile.ZipFile(path, "w") as zout:
            for info in zin.infolist():
                body = zin.read(info.filename)
                if damage == "no_config" and info.filename == "config.json":
                    continue
                if damage == "config_not_json" and info.filename == "config.json":
                    body = b"\x80\x04K\x01."  # a pickle
                zout.writestr(info.filename, body)
            if damage == "duplicate":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
                    zout.writestr("config.json", b"{}")
            if damage == "traversal":
                zout.writestr("../../evil.py", b"print('x')")
        if damage == "bomb":
            patch_declared_size(path, "model.weights.h5", 2**31)
    err = assert_refused(path, marker, capsys, message)
    assert "File not found" not in err


def test_corrupt_h5_files_say_what_is_wrong(marker, tmp_path, capsys):
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    assert_refused(junk, marker, capsys, "not an HDF5 file")
    import h5py

    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.attrs["something"] = 1
    assert_refused(empty, marker, capsys, "no model config")


def test_keras_errors_are_whole_sentences(clean, marker, tmp_path, capsys):
    """An unregistered custom class: Keras appends the whole config to its message."""

    def change(doc: dict) -> None:
        fc1 = layer(doc, "fc1")
        fc1.update(module=None, class_name="Custom", registered_name="MyPackage>Custom")

    path = rewrite_config(clean, tmp_path / "custom.keras", change)
    err = assert_refused(path, marker, capsys, "Keras could not load it", "Custom")
    assert err.rstrip().endswith("."), err
    assert "Full object config" not in err


def test_a_config_contradicting_its_weights_gives_keras_reason(clean, marker, tmp_path, capsys):
    """Keras's message is an introduction ending in ':' and the reason on the next lines."""

    def change(doc: dict) -> None:
        layer(doc, "fc2")["config"]["units"] = 300_000

    path = rewrite_config(clean, tmp_path / "mismatch.keras", change)
    err = assert_refused(path, marker, capsys, "Keras could not load it", "fc2")
    assert "must match" in err and "300000" in err, err  # the reason, not only the introduction
    assert err.rstrip().endswith("."), err
    assert len(err) < 500, err  # no weight values


def test_first_sentences():
    long = "First one. Second one! " + "x" * 400 + ". Last."
    assert first_sentences(long) == "First one. Second one!"
    assert first_sentences("short, no period") == "short, no period"
    assert first_sentences("line one.\nline two.") == "line one. line two."  # one line
    assert first_sentences("Error for <Dense>:\n\nShapes must match. " + "v " * 400) == (
        "Error for <Dense>: Shapes must match."
    )
    words = first_sentences("word " * 100, limit=42)  # one long sentence: cut between words
    assert words == "word " * 6 + "word..." and len(words) <= 42
    assert first_sentences("A" * 500, limit=100) == "A" * 97 + "..."  # no word boundary


def test_clean_files_still_load(clean, tmp_path, capsys):
    h5 = tmp_path / "small.h5"
    small().save(h5)
    for path in (clean, h5):
        assert main(["analyze", str(path), "--format", "json"]) == 0
        totals = json.loads(capsys.readouterr().out)["totals"]
        assert totals["params"] == 4 * 3 + 3 + 3 * 2 + 2
