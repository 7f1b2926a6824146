"""docs/user-guide.md shows the tool's real output: each block is regenerated here and compared.

Every ``<!-- guide:NAME:begin -->`` block of the guide is produced by one entry below:
a command run in-process through ``analyzer.cli.main`` from the repository root (the
shell pipe the guide shows, ``| head -n 12`` and the like, is done here in Python), or
a Python session run statement by statement as the REPL would. A block that differs
from the tool's output fails the test; ``ANALYZER_UPDATE_DOCS=1`` rewrites it instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.core.devices import ENV_VAR
from tests.docs.doc_blocks import block_names, check_block, fenced

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "user-guide.md"
PREFIX = "guide:"


def head(n: int) -> Callable[[str], str]:
    return lambda out: "".join(out.splitlines(keepends=True)[:n])


def from_line(start: str) -> Callable[[str], str]:
    """``sed -n '/^START/,$p'``: the output from the first line starting with ``start``."""

    def keep(out: str) -> str:
        lines = out.splitlines(keepends=True)
        first = next(i for i, line in enumerate(lines) if line.startswith(start))
        return "".join(lines[first:])

    return keep


def json_key(key: str) -> Callable[[str], str]:
    return lambda out: json.dumps(json.loads(out)[key], indent=2) + "\n"


@dataclass
class Command:
    """``python -m analyzer ARGS`` [``| PIPE``]; ``keep`` does in Python what the pipe does."""

    name: str
    args: str
    pipe: str = ""
    keep: Callable[[str], str] = str
    needs: tuple[str, ...] = ()  # modules the command imports (the block is skipped without them)
    # a second shell command, reading the files the first wrote
    then: tuple[str, Callable[[Path], str]] | None = None


ZOO = "analyzer.zoo"
COMMANDS = [
    Command("analyze", f"analyze {ZOO}:tiny_cnn"),
    Command("columns", f"analyze {ZOO}:tiny_cnn --columns compute", "head -n 15", head(15)),
    Command(
        "depth",
        f"analyze {ZOO}:mobilenet_v2 --depth 1 --columns params,macs,live_activations",
        "head -n 10",
        head(10),
    ),
    Command(
        "device",
        f"analyze {ZOO}:tiny_cnn -d stm32f746 -d raspberry-pi-4 --weight-bits 8 --activation-bits 8",
        "sed -n '/^Hardware/,$p'",
        from_line("Hardware"),
    ),
    Command(
        "json",
        f"analyze {ZOO}:tiny_cnn -f json",
        "python -c \"import json, sys; print(json.dumps(json.load(sys.stdin)['totals'], indent=2))\"",
        json_key("totals"),
    ),
    Command("csv", f"analyze {ZOO}:tiny_cnn -f csv --columns params,macs", "head -n 4", head(4)),
    Command(
        "markdown",
        f"analyze {ZOO}:tiny_cnn -f markdown --columns params,macs",
        "head -n 9",
        head(9),
    ),
    Command(
        "html",
        f"analyze {ZOO}:tiny_cnn -d stm32f746 -f html -o tiny_cnn.html",
        then=(
            "grep -o '<title>[^<]*</title>' tiny_cnn.html | head -n 1",
            lambda d: (
                re.findall("<title>[^<]*</title>", (d / "tiny_cnn.html").read_text())[0] + "\n"
            ),
        ),
    ),
    Command(
        "plot",
        f"analyze {ZOO}:tiny_cnn -d stm32f746 -d raspberry-pi-4 --plot plots -o report.txt",
        needs=("matplotlib",),
        then=(
            "ls plots",
            lambda d: "".join(p.name + "\n" for p in sorted((d / "plots").iterdir())),
        ),
    ),
    Command(
        "compare",
        f"compare {ZOO}:alexnet examples/alexnet.py:torch_model --no-bias --columns params,macs "
        "-d stm32f746",
        "sed -n '/^Layers/,$p'",
        from_line("Layers"),
        needs=("torch",),
    ),
    Command("devices", "devices", "head -n 8", head(8)),
    Command("devices-show", "devices show stm32f746"),
    Command("plugins", "plugins"),
]


def _repo_paths(text: str) -> str:
    """Absolute paths into this checkout differ between machines: shown from the repository root."""
    return text.replace(str(ROOT) + os.sep, "")


@pytest.fixture
def repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    # no user devices (a calibrated host), built-in plugins only (no installed third-party ones)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("ANALYZER_BLOCK_PLUGINS", raising=False)
    monkeypatch.setenv("ANALYZER_LOAD_PLUGINS", "")
    return tmp_path


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.name for c in COMMANDS])
def test_command_output_is_the_tools(
    cmd: Command, repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in cmd.needs:
        pytest.importorskip(module)
    argv = shlex.split(cmd.args)
    if cmd.then:  # writes files: run where they can go, with the repository's paths still valid
        monkeypatch.chdir(repo)
        argv = [a if not a.startswith("examples/") else str(ROOT / a) for a in argv]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == "", err
    shown = f"python -m analyzer {cmd.args}" + (f" | {cmd.pipe}" if cmd.pipe else "")
    text = f"$ {shown}\n" + _repo_paths(cmd.keep(out))
    if cmd.then:
        text += f"$ {cmd.then[0]}\n" + cmd.then[1](repo)
    check_block(DOC, PREFIX + cmd.name, fenced(text))


# Python sessions: each line is run as the REPL runs it (an expression's repr is printed).
SESSIONS = {
    "api-analyze": (
        (),
        """\
import analyzer
from analyzer import zoo
report = analyzer.analyze(zoo.tiny_cnn(), devices=["stm32f746"])
report
report.totals["params"], report.totals["macs"], report.totals["peak_live_activation_bytes"]
report.layer("pw2").macs, report.layer("pw2").op
report.quantities["macs"]["unit"], report.quantities["macs"]["convention"]
hw = report.hardware[0]
hw.device, hw.bound, hw.fits, round(hw.latency_s * 1e3, 3)
sorted(report.to_dict())
report.to_json() == json.dumps(report.to_dict(), indent=2)
report._repr_html_()[:26]""",
    ),
    "api-options": (
        (),
        """\
lecture = analyzer.analyze(zoo.alexnet(), bias=False)
lecture.totals["params"], lecture.totals["macs"], lecture.totals["model_size_bytes"]
int8 = analyzer.analyze(zoo.alexnet(), weight_bits=8)
int8.totals["model_size_bytes"]""",
    ),
    "api-dataframe": (
        ("pandas",),
        """\
df = report.to_dataframe()
df[["name", "op", "params", "macs", "stm32f746.latency_s"]].head(4)
int(df["macs"].sum()) == report.totals["macs"]""",
    ),
    "api-compare": (
        (),
        """\
c = analyzer.compare([analyzer.analyze(zoo.alexnet()), lecture], labels=["bias", "no bias"])
c
[(row["quantity"], row["values"]) for row in c.totals() if not row["equal"]][:3]""",
    ),
    "api-sweep": (
        (),
        """\
from analyzer.sweep import sweep
plan = {"devices": ["stm32f746"], "weight_bits": [8], "activation_bits": [8], "model": {"factory": "analyzer.zoo:mobilenet_v2"}, "grid": {"width": [0.35, 0.5], "resolution": [96, 128], "num_classes": [2]}}
result = sweep(plan, workers=1, progress=False)
result
[(r["width"], r["resolution"], round(r["latency_s"] * 1e3, 1)) for r in result.fronts["stm32f746"]]""",
    ),
}


def run_session(source: str, namespace: dict[str, object]) -> str:
    out = []
    for line in source.splitlines():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(line, "<user-guide>", "single"), namespace)  # noqa: S102 - the guide's own code
        out.append(f">>> {line}\n{buf.getvalue()}")
    return "".join(out)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every session in order in one namespace, as in one REPL (later ones use earlier names)."""
    namespace: dict[str, object] = {"json": json}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        mp.delenv(ENV_VAR, raising=False)
        mp.setenv("ANALYZER_LOAD_PLUGINS", "")
        out = {}
        for name, (needs, source) in SESSIONS.items():
            if all(importlib.util.find_spec(m) for m in needs):
                out[name] = run_session(source, namespace)
        return out


@pytest.mark.parametrize("name", list(SESSIONS))
def test_python_session_is_the_tools(name: str, sessions: dict[str, str]) -> None:
    if name not in sessions:
        pytest.skip(f"needs {', '.join(SESSIONS[name][0])}")
    check_block(DOC, PREFIX + name, fenced(sessions[name], lang="python"))


def test_every_guide_block_is_checked() -> None:
    """No block in the guide is left unchecked (a renamed entry would leave a stale block behind)."""
    documented = set(block_names(DOC.read_text(), PREFIX))
    checked = {PREFIX + c.name for c in COMMANDS} | {PREFIX + n for n in SESSIONS}
    assert documented == checked, documented ^ checked


def test_guide_names_only_files_that_exist() -> None:
    """Every repository path the guide links to is there."""
    text = DOC.read_text()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (DOC.parent / target).exists(), target
