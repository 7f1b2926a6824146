"""Crafted ``.pt2`` archives: the payload never runs, the CLI exits 1 with one line naming the problem.

Each case starts from a valid ``torch.export.save`` archive and plants a
payload that writes a marker file when it runs (unpickled, exec'd by FX
codegen, evaluated by sympy, compiled as guards...). The test runs the CLI
in-process and checks the marker is absent. ``test_the_payloads_are_real``
proves that the crafted files do run their payload under
``torch.export.load``, so a case cannot pass by being harmless.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import struct
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from analyzer.cli import main  # noqa: E402
from analyzer.plugins.frontends.torch import archive  # noqa: E402
from analyzer.plugins.frontends.torch.archive import pickle_imports  # noqa: E402
from analyzer.plugins.frontends.torch.export import load_program  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]
Edit = Callable[[str, bytes], bytes | None]


class Payload:
    """Unpickling it runs ``exec`` of code that writes ``marker``."""

    def __init__(self, marker: Path):
        self.code = f"open({str(marker)!r}, 'w').write('ran')"

    def __reduce__(self):
        return (exec, (self.code,))


def code(marker: Path) -> str:
    """The same payload as Python source, for the fields torch turns into code."""
    return f"__import__('builtins').open({str(marker)!r}, 'w').write('ran')"


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.w = torch.nn.Parameter(torch.randn(4, 5))
        self.offset = torch.ones(5)  # a plain attribute: a lifted tensor constant

    def forward(self, x):
        y = self.bn(self.conv(x)).mean((2, 3))
        return torch.tensordot(y, self.w, dims=1) + self.offset  # tensordot: decomposed on load


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pt2") / "m.pt2"
    ep = torch.export.export(Net().eval(), (torch.randn(1, 3, 8, 8),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.export.save(ep, path)
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "payload-ran"


def rewrite(src: Path, dst: Path, edit: Edit, extra: dict[str, bytes] | None = None) -> Path:
    """Copy ``src`` entry by entry through ``edit(name, data)`` (None drops it), then add ``extra``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def replace(suffix: str, data: bytes) -> Edit:
    return lambda name, old: data if name.endswith(suffix) else old


def edit_json(suffix: str, change: Callable[[dict], None]) -> Edit:
    def edit(name: str, data: bytes) -> bytes:
        if not name.endswith(suffix):
            return data
        doc = json.loads(data)
        change(doc)
        return json.dumps(doc).encode()

    return edit


def nodes(doc: dict) -> list[dict]:
    return doc["graph_module"]["graph"]["nodes"]


def torch_save_zip(obj_pickle: bytes) -> bytes:
    """A ``torch.save``-shaped zip whose ``data.pkl`` is ``obj_pickle``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", obj_pickle)
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


def run_cli(path: Path, capsys) -> tuple[int, str]:
    rc = main(["analyze", str(path)])
    return rc, capsys.readouterr().err


def assert_refused(path: Path, marker: Path, capsys, *patterns: str) -> str:
    rc, err = run_cli(path, capsys)
    assert not marker.exists(), "the payload ran"
    assert rc == 1, err
    assert err.count("\n") == 1 and err.startswith("analyzer: error: "), err
    assert path.name in err, err
    for p in patterns:
        assert p in err, (p, err)
    return err


def set_weight_pickled(doc: dict) -> None:
    doc["config"]["conv.bias"]["use_pickle"] = True


def set_constant_pickled(doc: dict) -> None:
    next(iter(doc["config"].values()))["use_pickle"] = True


def weight_path(clean: Path, fqn: str) -> str:
    with zipfile.ZipFile(clean) as z:
        cfg = json.loads(z.read("m/data/weights/model_weights_config.json"))
    return "m/data/weights/" + cfg["config"][fqn]["path_name"]


# ---- the crafted archives -------------------------------------------------------------

PICKLE_CASES: dict[str, Callable[[Path, Path, bytes], tuple[Edit, dict[str, bytes]]]] = {
    # sample inputs: torch.export.load unpickles them with weights_only=False
    "sample_inputs_pickle": lambda c, m, p: (replace("sample_inputs/model.pt", p), {}),
    "sample_inputs_torch_save_zip": lambda c, m, p: (
        replace("sample_inputs/model.pt", torch_save_zip(p)),
        {},
    ),
    # weights and constants flagged use_pickle, with the payload in their entry
    "use_pickle_weight": lambda c, m, p: (
        lambda n, d: (
            p
            if n == weight_path(c, "conv.bias")
            else edit_json("weights_config.json", set_weight_pickled)(n, d)
        ),
        {},
    ),
    "use_pickle_constant": lambda c, m, p: (
        lambda n, d: (
            p
            if n.endswith("constants/tensor_0")
            else edit_json("constants_config.json", set_constant_pickled)(n, d)
        ),
        {},
    ),
    # custom / opaque objects: torch._C._pickle_load_obj / pickle.loads
    "custom_obj_constant": lambda c, m, p: (
        edit_json(
            "constants_config.json",
            lambda d: d["config"].update(
                obj={
                    "path_name": "custom_obj_0",
                    "is_param": False,
                    "use_pickle": False,
                    "tensor_meta": None,
                }
            ),
        ),
        {"m/data/constants/custom_obj_0": p},
    ),
    "opaque_obj_entry": lambda c, m, p: (lambda n, d: d, {"m/data/constants/opaque_obj_0": p}),
    # legacy weight files (bytes torch.load's), extra pickles under any name
    "legacy_weights_pt": lambda c, m, p: (lambda n, d: d, {"m/data/weights/model.pt": p}),
    "extra_pickle_entry": lambda c, m, p: (lambda n, d: d, {"m/data/evil.pkl": p}),
    "unlisted_weight_entry": lambda c, m, p: (lambda n, d: d, {"m/data/weights/weight_99": p}),
    "unlisted_constant_entry": lambda c, m, p: (lambda n, d: d, {"m/data/constants/tensor_7": p}),
    "pickle_named_json": lambda c, m, p: (replace("models/model.json", p), {}),
    "pickle_named_weights_config": lambda c, m, p: (replace("weights_config.json", p), {}),
    "second_program_sample_inputs": lambda c, m, p: (
        lambda n, d: d,
        {"m/data/sample_inputs/other.pt": p},
    ),
    # compiled code that torch would dlopen
    "aotinductor_library": lambda c, m, p: (
        lambda n, d: d,
        {"m/data/aotinductor/model/model.so": b"\x7fELF" + p},
    ),
    "unknown_entry": lambda c, m, p: (lambda n, d: d, {"m/data/weights/weight_0.bak": p}),
}


@pytest.mark.parametrize("case", sorted(PICKLE_CASES))
def test_pickle_payloads_never_run(case, clean, marker, tmp_path, capsys):
    payload = pickle.dumps(Payload(marker))
    edit, extra = PICKLE_CASES[case](clean, marker, payload)
    path = rewrite(clean, tmp_path / f"{case}.pt2", edit, extra)
    err = assert_refused(path, marker, capsys)
    assert "refused" in err or "not JSON" in err, err
    assert "Traceback" not in err


def rename_input(marker: Path) -> Edit:
    """A placeholder named ``x=<code>`` becomes a default argument of the generated forward()."""
    evil = f"x={code(marker)}"
    return lambda n, d: (
        d.replace(b'"x"', json.dumps(evil).encode()) if n.endswith("model.json") else d
    )


def set_first_node(field: str, value: object) -> Callable[[dict], None]:
    return lambda doc: nodes(doc)[0].__setitem__(field, value)


def set_first_output_name(value: str) -> Callable[[dict], None]:
    return lambda doc: nodes(doc)[0]["outputs"][0]["as_tensor"].__setitem__("name", value)


def symbolic_size(expr: str) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        meta = next(iter(doc["graph_module"]["graph"]["tensor_values"].values()))
        meta["sizes"][0] = {"as_expr": {"expr_str": expr, "hint": None}}

    return change


CODE_CASES: dict[str, Callable[[Path], Edit]] = {
    "placeholder_name_default_argument": rename_input,
    "node_name_with_newline": lambda m: edit_json(
        "model.json", set_first_output_name(f"conv2d\n{code(m)}\n")
    ),
    "op_target_load_library": lambda m: edit_json(
        "model.json", set_first_node("target", "torch.ops.load_library")
    ),
    "op_target_builtins_exec": lambda m: edit_json(
        "model.json", set_first_node("target", "builtins.exec")
    ),
    "op_target_operator_methodcaller": lambda m: edit_json(
        "model.json", set_first_node("target", "_operator.methodcaller")
    ),
    "op_target_dunder": lambda m: edit_json(
        "model.json", set_first_node("target", "torch.ops.aten.__class__")
    ),
    "op_target_not_an_operator": lambda m: edit_json(
        "model.json", set_first_node("target", "torch.ops.aten.name")
    ),
    "sympy_expression": lambda m: edit_json("model.json", symbolic_size(code(m))),
    "sympy_expression_attribute": lambda m: edit_json(
        "model.json", symbolic_size("Symbol('s0').__class__")
    ),
    "parameter_path_with_quote": lambda m: edit_json(
        "model.json",
        lambda d: d["graph_module"]["signature"]["input_specs"][0]["parameter"].__setitem__(
            "parameter_name", f'conv"){code(m)}#'
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CODE_CASES))
def test_code_injected_through_the_program_json_never_runs(case, clean, marker, tmp_path, capsys):
    path = rewrite(clean, tmp_path / f"{case}.pt2", CODE_CASES[case](marker))
    err = assert_refused(path, marker, capsys, "refused", "model.json")
    assert "Traceback" not in err


def defaultdict_spec(module: str) -> str:
    """An output pytree spec whose defaultdict factory lives in ``module`` (torch imports it)."""
    node = {
        "type": "collections.defaultdict",
        "context": {
            "default_factory_module": module,
            "default_factory_name": "factory",
            "dict_context": [],
        },
        "children_spec": [],
    }
    return json.dumps([1, node])


def test_a_pytree_spec_importing_a_module_is_refused(clean, marker, tmp_path, capsys, monkeypatch):
    """A helper module shipped beside the file (the CLI's directory is on sys.path) is never imported."""
    helper = tmp_path / "helper_beside_the_file.py"
    helper.write_text(f"{code(marker)}\nfactory = list\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def change(doc: dict) -> None:
        doc["graph_module"]["module_call_graph"][0]["signature"]["out_spec"] = defaultdict_spec(
            helper.stem
        )

    path = rewrite(clean, tmp_path / "spec.pt2", edit_json("model.json", change))
    assert_refused(path, marker, capsys, "refused", "defaultdict factory")
    sys.modules.pop(helper.stem, None)
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        torch.export.load(path)
    assert marker.exists(), "torch.export.load did not import the helper: the case proves nothing"
    sys.modules.pop(helper.stem, None)


def test_fields_that_reach_generated_code_are_dropped(clean, marker, tmp_path, capsys):
    """Guards code (exec'd by ExportedProgram.module() while decomposing) and stack traces
    (copied into generated code as comments; a carriage return ends a comment) are dropped:
    the program still analyzes, with the clean file's numbers."""

    def change(doc: dict) -> None:
        doc["guards_code"] = [f"{code(marker)} or True"]
        for n in nodes(doc):
            n["metadata"]["stack_trace"] = (
                f'File "a.py", line 1, in f\n    x\r{code(marker)}\rdef _g():'
            )
            n["metadata"]["custom"] = json.dumps({"k": "\r" + code(marker)})
        doc["graph_module"]["metadata"]["custom"] = "{}"

    path = rewrite(clean, tmp_path / "dropped.pt2", edit_json("model.json", change))
    assert main(["analyze", str(clean), "--format", "json"]) == 0
    reference = json.loads(capsys.readouterr().out)["totals"]
    assert main(["analyze", str(path), "--format", "json"]) == 0
    out = capsys.readouterr()
    assert not marker.exists()
    assert json.loads(out.out)["totals"] == reference
    assert reference["macs"] == 3 * 9 * 4 * 6 * 6 + 4 * 5  # conv + tensordot, by hand


# ---- structure: names, sizes, corrupt zips ----------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "m/../../evil.py",
        "/etc/evil",
        "m/data/../../evil",
        "m\\..\\evil",
        "C:/evil",
        "m/data/\x00evil",
        "m/data/\x01evil",
        "m//evil",
    ],
)
def test_path_traversal_names_are_refused(name, clean, marker, tmp_path, capsys):
    path = rewrite(
        clean, tmp_path / "traversal.pt2", lambda n, d: d, {name: pickle.dumps(Payload(marker))}
    )
    err = assert_refused(path, marker, capsys)
    assert "unsafe name" in err or "one root folder" in err or "folder with content" in err


def test_duplicate_entries_are_refused(clean, marker, tmp_path, capsys):
    path = tmp_path / "dup.pt2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        rewrite(clean, path, lambda n, d: d, {"m/models/model.json": pickle.dumps(Payload(marker))})
    assert_refused(path, marker, capsys, "appears twice")


def patch_declared_size(path: Path, entry: str, size: int) -> None:
    """Rewrite the central directory's uncompressed size of ``entry`` (a lying header)."""
    data = bytearray(path.read_bytes())
    target = entry.encode()
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + name_len]) == target:
            struct.pack_into("<I", data, pos + 24, size)
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    else:
        raise AssertionError(f"{entry} not found")
    path.write_bytes(bytes(data))


def test_huge_declared_sizes_are_refused_before_reading(clean, marker, tmp_path, capsys):
    path = rewrite(clean, tmp_path / "bomb.pt2", lambda n, d: d)
    patch_declared_size(path, "m/models/model.json", 0xFFFFFFF0)
    assert_refused(path, marker, capsys, "declares 4294967280 bytes")


def test_a_deflate_bomb_is_cut_at_the_limit(clean, marker, tmp_path, capsys, monkeypatch):
    """A JSON entry that inflates past the limit (here lowered to 1 MiB) is refused."""
    monkeypatch.setattr(archive, "MAX_JSON_BYTES", 2**20)
    path = tmp_path / "deflate.pt2"
    with zipfile.ZipFile(clean) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("model.json"):
                data = data + b" " * (
                    8 * 2**20
                )  # still valid JSON, 8 MiB of padding, ~8 KB deflated
            zout.writestr(info.filename, data)
    assert path.stat().st_size < 200_000
    assert_refused(path, marker, capsys, "model.json", "limit")
    patch_declared_size(path, "m/models/model.json", 1000)  # a header that lies low
    assert_refused(path, marker, capsys, "not a readable torch.export archive")


def test_huge_declared_tensor_shapes_cost_nothing(clean, marker, tmp_path, capsys):
    def change(doc: dict) -> None:
        doc["config"]["w"]["tensor_meta"]["sizes"] = [{"as_int": 2**60}, {"as_int": 5}]

    path = rewrite(clean, tmp_path / "shape.pt2", edit_json("weights_config.json", change))
    assert_refused(path, marker, capsys, "not a readable torch.export archive")


def set_sizes(meta: dict, sizes: list[int]) -> None:
    meta["sizes"] = [{"as_int": d} for d in sizes]
    strides, step = [], 1
    for d in reversed(sizes):  # contiguous strides, so only the sizes contradict the graph
        strides.insert(0, {"as_int": step})
        step *= d
    meta["strides"] = strides


def weight_sizes(fqn: str, sizes: list[int]) -> Edit:
    return edit_json(
        "weights_config.json", lambda doc: set_sizes(doc["config"][fqn]["tensor_meta"], sizes)
    )


def input_sizes(name: str, sizes: list[int]) -> Edit:
    return edit_json(
        "models/model.json",
        lambda doc: set_sizes(doc["graph_module"]["graph"]["tensor_values"][name], sizes),
    )


@pytest.mark.parametrize(
    "fqn, sizes",
    [("bn.weight", [400_000]), ("w", [40_000, 50_000]), ("conv.weight", [4, 3, 5, 5])],
)
def test_weight_sizes_that_contradict_the_graph_are_refused(
    fqn, sizes, clean, marker, tmp_path, capsys
):
    """The weights config and the program state each weight's shape: they must agree."""
    path = rewrite(clean, tmp_path / "weights.pt2", weight_sizes(fqn, sizes))
    assert_refused(path, marker, capsys, f"weight {fqn!r} is declared {sizes}", "in the graph")


@pytest.fixture(scope="module")
def linear(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pt2") / "linear.pt2"
    ep = torch.export.export(torch.nn.Linear(4, 2), (torch.randn(1, 4),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.export.save(ep, path)
    return path


def test_input_sizes_that_contradict_the_graph_are_refused(linear, marker, tmp_path, capsys):
    """An input of 7 features feeding Linear(4, 2): the strict check of file graphs (as for IR JSON)."""
    path = rewrite(linear, tmp_path / "input.pt2", input_sizes("input", [1, 7]))
    err = assert_refused(path, marker, capsys, "invalid graph", "weight")
    assert "(2, 4)" in err, err
    assert main(["analyze", str(linear)]) == 0  # the unedited archive is fine


def test_too_many_entries_are_refused(clean, marker, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(archive, "MAX_ENTRIES", 5)
    assert_refused(clean, marker, capsys, "entries")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "no_program", "bad_version"])
def test_corrupt_archives_are_one_line(damage, clean, marker, tmp_path, capsys):
    path = tmp_path / f"{damage}.pt2"
    data = clean.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(bytes(range(256)) * 40)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "no_program":
        rewrite(clean, path, lambda n, d: None if n.endswith("model.json") else d)
    else:
        rewrite(clean, path, replace("archive_version", b"7"))
    assert_refused(path, marker, capsys, "not a readable torch.export archive")


def test_the_old_archive_format_with_pickled_weights_is_refused(marker, tmp_path, capsys):
    path = tmp_path / "old.pt2"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("version", b"8.0")
        z.writestr("serialized_exported_program.json", b"{}")
        z.writestr("serialized_state_dict.pt", pickle.dumps(Payload(marker)))
    assert_refused(path, marker, capsys, "refused", "re-save")


# ---- pickle files, the clean archive, the scanner, the real process ----------------------


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin"])
def test_pickle_files_are_refused_by_the_cli(suffix, marker, tmp_path, capsys):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(pickle.dumps(Payload(marker)))
    assert_refused(path, marker, capsys, "never loaded", "torch.export.save")


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".ckpt", ".npy", ".npz"])
def test_other_pickle_suffixes_are_refused(suffix, marker, tmp_path, capsys):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(pickle.dumps(Payload(marker)))
    assert_refused(path, marker, capsys, "never loaded", "torch.export.save")


class Cond(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)

    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda t: self.a(t), lambda t: self.b(t), (x,))


def test_programs_with_subgraphs_load(tmp_path):
    """torch.cond: subgraph arguments, positional (unnamed) HOP arguments pass the checks."""
    path = tmp_path / "cond.pt2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.export.save(torch.export.export(Cond(), (torch.randn(2, 8),)), path)
    ep = load_program(path)
    targets = [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]
    assert "cond" in " ".join(targets)


def test_the_clean_archive_and_extra_files_load(clean, tmp_path, capsys):
    path = rewrite(clean, tmp_path / "extra.pt2", lambda n, d: d, {"m/extra/notes.txt": b"hello"})
    assert main(["analyze", str(path), "--format", "json"]) == 0
    out = capsys.readouterr()
    assert out.err == ""  # loading is quiet: no torch warnings or log lines
    doc = json.loads(out.out)
    assert doc["model"]["capture"] == "torch.export"
    assert doc["totals"]["params"] == 4 * 3 * 9 + 4 + 4 + 4 + 4 * 5


def test_the_payloads_are_real(clean, marker, tmp_path):
    """torch.export.load runs these crafted files' payloads: the cases above test real attacks."""
    payload = pickle.dumps(Payload(marker))
    assert pickle_imports(payload) == ["builtins.exec"]
    crafted = {
        "sample": rewrite(clean, tmp_path / "s.pt2", replace("sample_inputs/model.pt", payload)),
        "weight": rewrite(
            clean, tmp_path / "w.pt2", PICKLE_CASES["use_pickle_weight"](clean, marker, payload)[0]
        ),
        "name": rewrite(clean, tmp_path / "n.pt2", rename_input(marker)),
    }
    for name, path in crafted.items():
        marker.unlink(missing_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.suppress(Exception):  # the payload runs before torch sees a problem
                torch.export.load(path)
        assert marker.exists(), f"{name}: torch.export.load did not run the payload"


def test_the_pickle_scanner_reads_imports_without_running_them(tmp_path):
    buf = io.BytesIO()
    torch.save(((torch.zeros(2),), {}), buf)
    with zipfile.ZipFile(buf) as z:
        names = pickle_imports(z.read(next(n for n in z.namelist() if n.endswith("data.pkl"))))
    assert "torch._utils._rebuild_tensor_v2" in names
    assert all(archive.TENSOR_REBUILD.fullmatch(n) for n in names)
    computed = b"\x80\x04\x8c\x02os\x94\x8c\x06sys\x00m\x94\x85\x94R\x93."  # STACK_GLOBAL from a computed value
    with pytest.raises(ValueError):
        pickle_imports(computed)
    with pytest.raises(ValueError):
        pickle_imports(b"\x80\x02\x82\x01.")  # EXT1: an import by registry number


def test_a_real_process_refuses_a_crafted_file(clean, marker, tmp_path):
    path = rewrite(
        clean,
        tmp_path / "evil.pt2",
        replace("sample_inputs/model.pt", pickle.dumps(Payload(marker))),
    )
    result = subprocess.run(
        [sys.executable, "-m", "analyzer", "analyze", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert not marker.exists()
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "sample_inputs/model.pt" in result.stderr, (
        result.stderr
    )
    assert result.stdout == ""


# ---- random mutations of the program JSON -----------------------------------------------


def leaves(doc: object, path: tuple = ()) -> list[tuple]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in leaves(v, (*path, k))] + [path]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in leaves(v, (*path, i))] + [path]
    return [path]


def mutate(doc: dict, rng, marker: Path) -> None:
    """Replace one value anywhere in ``doc`` by something hostile or malformed."""
    path = rng.choice([p for p in leaves(doc) if p])
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    values = [
        code(marker), f"x={code(marker)}", f"a\r{code(marker)}", "Symbol('s0').__init__", "",
        "torch.ops.aten.__dict__", "../../evil", None, -1, 2**70, 1.5, True, [], {}, ["x"],
        {"as_tensor": {"name": code(marker)}}, "s0", "torch.ops.aten.add.Tensor",
    ]  # fmt: skip
    parent[path[-1]] = rng.choice(values)


def test_random_mutations_of_the_program_never_run_code(clean, marker, tmp_path, capsys):
    import random

    with zipfile.ZipFile(clean) as z:
        original = z.read("m/models/model.json")
    rng = random.Random(15)
    outcomes = []
    for i in range(40):
        doc = json.loads(original)
        for _ in range(rng.randint(1, 3)):
            mutate(doc, rng, marker)
        path = rewrite(
            clean, tmp_path / f"mut{i}.pt2", replace("models/model.json", json.dumps(doc).encode())
        )
        rc = main(["analyze", str(path), "--format", "json"])
        err = capsys.readouterr().err
        assert not marker.exists(), f"mutation {i}: the payload ran"
        assert rc in (0, 1) and err.count("\n") <= 1 and "Traceback" not in err, (i, rc, err)
        assert "internal error" not in err, (i, err)
        outcomes.append(rc)
    assert outcomes.count(1) >= 10  # most mutations are refused or unreadable
