"""Reading a ``.pt2`` archive (the zip ``torch.export.save`` writes) without running anything from it.

``torch.export.load`` unpickles parts of an archive with ``weights_only=False``
(sample inputs; weights and constants marked ``use_pickle``; legacy
``model.pt`` weight files; custom and opaque objects), loads AOTInductor
shared libraries, and trusts the program JSON (see ``program_json``): a
crafted file runs code. The frontend never calls it. This module opens the
zip itself:

- every entry name must sit under one root folder, without ``..``, absolute
  paths, backslashes, control characters or duplicates;
- only the entries ``torch.export.save`` writes are accepted; anything else
  (compiled AOTInductor code, pickled weights, custom objects, unknown
  files) is refused with a one-line message naming the entry;
- only small JSON documents are read (the program, the weights and
  constants configs), with bounded sizes: weight bytes are never read, the
  analysis needs shapes and dtypes only, taken from the configs;
- nothing is unpickled. The sample inputs (a ``torch.save`` pickle) are not
  needed, input shapes come from the graph signature; their pickle opcodes
  are scanned without being executed, and a pickle importing anything but
  tensor rebuilding (a tampered file) is refused.

Framework-free.
"""

from __future__ import annotations

import json
import pickletools
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError
from analyzer.core.zipnames import unsafe_entry_name
from analyzer.plugins.frontends.torch.program_json import PATH, UnsafeProgram, sanitize, words

MAX_ENTRIES = 200_000
MAX_JSON_BYTES = 512 * 2**20  # the program of a 70B-parameter LLM is tens of MB
MAX_PICKLE_BYTES = 64 * 2**20
MAX_SMALL = 64

PROGRAM = "models/model.json"
WEIGHTS_CONFIG = "data/weights/model_weights_config.json"
CONSTANTS_CONFIG = "data/constants/model_constants_config.json"
SAMPLE_INPUTS = "data/sample_inputs/model.pt"
MARKERS = (
    "archive_format",
    "archive_version",
    "byteorder",
    ".data/version",
    ".data/serialization_id",
)
PAYLOAD = re.compile(r"data/weights/weight_\d+|data/constants/tensor_\d+")
REFUSED = (  # (pattern of the entry's path under the root, why it is refused)
    (r"data/aotinductor/.*", "is AOTInductor compiled code (a shared library torch would load)"),
    (r"data/constants/(custom_obj|opaque_obj)_.*", "is a pickled custom object"),
    (r".*\.(pt|pth|pkl|pickle|bin|ckpt)", "is a pickle (an older or hand-made archive)"),
    (
        r"data/(executorch|mtia)(/.*)?|xl_model_weights/.*",
        "is a payload torch.export.save does not write",
    ),
)
# what a torch.save of example tensors imports (checked, never executed)
TENSOR_REBUILD = re.compile(
    r"torch\._utils\._rebuild_[a-z_0-9]+|collections\.OrderedDict|torch\.[A-Za-z0-9]*Storage"
    r"|torch\.(Size|device|dtype|float\d*|bfloat16|half|u?int\d+|bool|complex\d+|float8_\w+"
    r"|q?u?int\d+|strided|contiguous_format|channels_last(_3d)?)"
)
STRING_OPS = words(
    "STRING BINSTRING SHORT_BINSTRING UNICODE BINUNICODE SHORT_BINUNICODE BINUNICODE8"
)


# files that are pickles (or may hold pickled objects): refused by suffix, never opened
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".npy", ".npz")
EXPORT_HINT = (
    "save the model with torch.export.save(torch.export.export(model, example_inputs), "
    "'model.pt2') or analyze its code (analyzer analyze file.py:NAME --input-shape ...)"
)


def refuse_pickle_file(path: Path) -> None:
    """Pickle files can run arbitrary code when loaded: refuse them with the way out."""
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        raise AnalysisError(
            f"{path.name}: {suffix} files hold arrays (possibly pickled objects), not a model, "
            f"and are never loaded; {EXPORT_HINT}"
        )
    if suffix in PICKLE_SUFFIXES:
        raise AnalysisError(
            f"{path.name}: {suffix} files are pickles and are never loaded (they can run "
            f"arbitrary code); {EXPORT_HINT}"
        )


class UnsafeEntry(Exception):
    """An entry that would run code (or is not what torch writes): refused, never read."""


class BadEntry(Exception):
    """A missing, oversized or malformed entry: the archive is not readable."""


@dataclass(frozen=True)
class Pt2Contents:
    """What the analysis needs: the checked program and the payload configs (``fqn -> meta``)."""

    program: dict[str, Any]
    weights: dict[str, dict[str, Any]]
    constants: dict[str, dict[str, Any]]
    program_entry: str = PROGRAM  # the program's entry name, for messages


def read_pt2(path: Path) -> Pt2Contents:
    """Open ``path`` and return its checked contents; one-line ``AnalysisError`` otherwise."""
    try:
        with zipfile.ZipFile(path) as zf:
            entries = _entries(zf)
            return _contents(zf, entries)
    except UnsafeEntry as e:
        raise AnalysisError(f"{path}: refused, {e} (nothing from the file was run)") from None
    except (BadEntry, zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise AnalysisError(f"{path}: not a readable torch.export archive: {e}") from None
    except (OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise AnalysisError(
            f"{path}: not a readable torch.export archive ({type(e).__name__}: {first})"
        ) from None


def _entries(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Entries by path under the archive's single root folder, names checked."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise BadEntry(f"{len(infos)} entries (more than {MAX_ENTRIES})")
    roots = {i.filename.partition("/")[0] for i in infos}
    if len(roots) != 1 or not all("/" in i.filename for i in infos):
        legacy = [i.filename for i in infos if i.filename.startswith("serialized_")]
        if legacy:  # torch<2.8: serialized_exported_program.json + pickled serialized_*.pt
            pickled = [n for n in legacy if n.endswith(".pt")] or legacy
            raise UnsafeEntry(
                f"entry '{pickled[0][:80]}': the torch<2.8 archive format pickles its "
                "weights; re-save the program with torch.export.save"
            )
        raise BadEntry("entries are not under one root folder (not written by torch.export.save)")
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        _check_name(name)
        rel = name.partition("/")[2]
        if rel in entries:
            raise UnsafeEntry(f"entry '{name}' appears twice")
        if info.flag_bits & 0x1:
            raise BadEntry(f"entry '{name}' is encrypted")
        if info.is_dir() and info.file_size:
            raise UnsafeEntry(f"entry '{name}' is a folder with content")
        if not info.is_dir():
            for pattern, why in REFUSED:
                if re.fullmatch(pattern, rel) and rel != SAMPLE_INPUTS:
                    raise UnsafeEntry(f"entry '{name}' {why}")
            if not _expected(rel):
                raise UnsafeEntry(f"entry '{name}' is not one torch.export.save writes")
        entries[rel] = info
    return entries


def _check_name(name: str) -> None:
    if unsafe_entry_name(name):
        raise UnsafeEntry(
            f"entry {name[:80]!r} has an unsafe name (path traversal or odd characters)"
        )


def _expected(rel: str) -> bool:
    return (
        rel in MARKERS
        or rel in (PROGRAM, WEIGHTS_CONFIG, CONSTANTS_CONFIG, SAMPLE_INPUTS)
        or PAYLOAD.fullmatch(rel) is not None
        or (rel.startswith("extra/") and rel != "extra/")  # user extra files: never read
    )


def _contents(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> Pt2Contents:
    for rel, value in (("archive_format", "pt2"), ("archive_version", "0")):
        if rel not in entries:
            raise BadEntry(f"no '{rel}' entry (not written by torch.export.save)")
        found = _read(zf, entries[rel], MAX_SMALL).decode("utf-8", "replace").strip()
        if found != value:
            raise BadEntry(f"entry '{entries[rel].filename}' is {found[:20]!r}, expected {value!r}")
    if SAMPLE_INPUTS in entries:
        _check_sample_inputs(zf, entries[SAMPLE_INPUTS])
    program = _json(zf, entries, PROGRAM)
    try:
        program = sanitize(program)
    except UnsafeProgram as e:
        raise UnsafeEntry(f"entry '{entries[PROGRAM].filename}': {e}") from None
    weights = _payloads(_json(zf, entries, WEIGHTS_CONFIG), "weight", entries, WEIGHTS_CONFIG)
    if CONSTANTS_CONFIG in entries:
        constants = _payloads(
            _json(zf, entries, CONSTANTS_CONFIG), "tensor", entries, CONSTANTS_CONFIG
        )
    else:
        constants = {}
        stray = next((i for r, i in entries.items() if r.startswith("data/constants/")), None)
        if stray is not None:
            raise UnsafeEntry(f"entry '{stray.filename}' is not listed in any constants config")
    return Pt2Contents(program, weights, constants, entries[PROGRAM].filename)


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most ``limit`` bytes, whatever the entry declares (a zip bomb stops here)."""
    if info.file_size > limit:
        raise BadEntry(f"entry '{info.filename}' declares {info.file_size} bytes (limit {limit})")
    with zf.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise BadEntry(f"entry '{info.filename}' is larger than it declares")
    return data


def _json(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], rel: str) -> Any:
    info = entries.get(rel)
    if info is None:
        raise BadEntry(f"no '{rel}' entry")
    try:
        return json.loads(_read(zf, info, MAX_JSON_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadEntry(f"entry '{info.filename}' is not JSON") from None


def _payloads(
    doc: Any, prefix: str, entries: dict[str, zipfile.ZipInfo], rel: str
) -> dict[str, dict[str, Any]]:
    """``fqn -> PayloadMeta`` dicts of a weights/constants config, each backed by a raw tensor entry."""
    config = doc.get("config") if isinstance(doc, dict) else None
    name = entries[rel].filename
    if not isinstance(config, dict):
        raise BadEntry(f"entry '{name}' has no 'config' mapping")
    folder = rel.rpartition("/")[0] + "/"
    listed = {meta.get("path_name") for meta in config.values() if isinstance(meta, dict)}
    for rel_entry, info in entries.items():  # a payload nobody points at is a smuggled file
        unlisted = rel_entry.removeprefix(folder) not in listed
        if rel_entry.startswith(folder) and PAYLOAD.fullmatch(rel_entry) and unlisted:
            raise UnsafeEntry(f"entry '{info.filename}' is not listed in '{name}'")
    for fqn, meta in config.items():
        if not isinstance(meta, dict) or not isinstance(meta.get("path_name"), str):
            raise BadEntry(f"entry '{name}': {fqn[:60]!r} has no path_name")
        path_name = meta["path_name"]
        if meta.get("use_pickle") is not False:
            raise UnsafeEntry(
                f"entry '{name}': {fqn[:60]!r} is stored as a pickle ({folder}{path_name[:40]})"
            )
        if re.match(r"(custom_obj|opaque_obj)_", path_name):
            raise UnsafeEntry(f"entry '{name}': {fqn[:60]!r} is a pickled custom object")
        if not re.fullmatch(rf"{prefix}_\d+", path_name) or folder + path_name not in entries:
            raise BadEntry(f"entry '{name}': {fqn[:60]!r} points at a missing entry")
        if not PATH.fullmatch(fqn):
            raise UnsafeEntry(f"entry '{name}': {fqn[:60]!r} is not a module path")
    return config


def _check_sample_inputs(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """torch.save's zip of example tensors: its pickle may only rebuild tensors."""
    with zf.open(info) as f:
        magic = f.read(4)
    if not magic.startswith(b"PK"):  # a bare pickle stream
        _check_pickle(_read(zf, info, MAX_PICKLE_BYTES), info.filename)
        return
    with zf.open(info) as f, zipfile.ZipFile(f) as inner:
        infos = inner.infolist()
        if len(infos) > MAX_ENTRIES:
            raise BadEntry(f"entry '{info.filename}' holds {len(infos)} entries")
        for i in infos:
            if i.filename.endswith(".pkl"):
                _check_pickle(_read(inner, i, MAX_PICKLE_BYTES), f"{info.filename}:{i.filename}")


def _check_pickle(data: bytes, where: str) -> None:
    try:
        imports = pickle_imports(data)
    except ValueError as e:
        raise UnsafeEntry(f"entry '{where}' is a pickle this analyzer cannot vet ({e})") from None
    for name in imports:
        if not TENSOR_REBUILD.fullmatch(name):
            raise UnsafeEntry(f"entry '{where}' is a pickle that would import and call {name[:80]}")


def pickle_imports(data: bytes) -> list[str]:
    """``module.name`` of every global a pickle would import, read from its opcodes (nothing runs).

    ``STACK_GLOBAL`` takes its two names from the stack: only names pushed
    as string literals (possibly through the memo) are followed; anything
    else raises ``ValueError``, as do ``EXT*`` opcodes (imports by number).
    """
    imports: list[str] = []
    memo: dict[int, str | None] = {}
    recent: list[str | None] = []  # values pushed by the last opcodes that pushed one
    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name in ("GLOBAL", "INST"):
            imports.append(str(arg).replace(" ", ".", 1))
            recent.append(None)
        elif name == "STACK_GLOBAL":
            if len(recent) < 2 or recent[-1] is None or recent[-2] is None:
                raise ValueError("an import whose name is computed")
            imports.append(f"{recent[-2]}.{recent[-1]}")
            recent[-2:] = [None]
        elif name.startswith("EXT"):
            raise ValueError("an import through the extension registry")
        elif name in STRING_OPS:
            recent.append(arg if isinstance(arg, str) else bytes(arg).decode("latin-1"))
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = recent[-1] if recent else None
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(int(arg)))
        else:
            recent.append(None)
        del recent[:-2]
    return imports
