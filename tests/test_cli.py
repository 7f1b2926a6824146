"""python -m analyzer: commands, formats, exit codes, one-line errors, no framework needed."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import analyzer
from analyzer import zoo
from analyzer.cli import main

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "jaxlib", "flax", "equinox")

BLOCK_FRAMEWORKS = textwrap.dedent(
    f"""
    import sys
    BLOCKED = {FRAMEWORKS!r}

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked for this test")
            return None

    sys.meta_path.insert(0, Blocker())
    from analyzer.cli import main
    code = main(sys.argv[1:])
    leaked = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
    assert not leaked, leaked
    sys.exit(code)
    """
)


def run_without_frameworks(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh process where importing any framework fails (an import is process-wide)."""
    cmd = [sys.executable, "-c", BLOCK_FRAMEWORKS, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _descriptor_2_restored():
    """main() runs in-process here: the muting of fd 2 (cli_quiet.py) must end with the command."""
    before = os.fstat(2)
    yield
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino), "main() left fd 2 muted"


@pytest.fixture(scope="module")
def saved_graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "alexnet.json"
    analyzer.save_graph(zoo.alexnet(), path)
    return path


def test_help_without_any_framework():
    r = run_without_frameworks("--help")
    assert r.returncode == 0, r.stderr
    assert "analyze" in r.stdout and "compare" in r.stdout


def test_analyze_saved_graph_as_json_without_any_framework(saved_graph):
    r = run_without_frameworks("analyze", str(saved_graph), "--format", "json", "--no-bias")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["totals"]["params"] == 60_954_656
    assert doc["totals"]["macs"] == 724_406_816


def test_module_spec_table(capsys):
    assert main(["analyze", "analyzer.zoo:alexnet", "--no-bias"]) == 0
    out = capsys.readouterr().out
    assert "60,954,656" in out and "724,406,816" in out and "conv1" in out


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_formats_and_output_file(tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "--format", fmt, "--output", str(out)]) == 0
    text = out.read_text()
    if fmt == "json":
        assert json.loads(text)["model"]["name"] == "tiny_cnn"
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows[-1]["name"] == "TOTAL" and rows[0]["name"] == "conv1"
        assert int(rows[-1]["macs"]) == sum(int(r["macs"]) for r in rows[:-1])
    elif fmt == "markdown":
        assert "| conv1 | conv |" in text
    else:
        assert "conv1" in text


def test_depth_rollup(capsys):
    assert main(["analyze", "analyzer.zoo:resnet50", "--depth", "1", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["path"] for r in rows[:5]] == ["conv1", "bn1", "relu", "maxpool", "layer1"]


def test_compare(capsys):
    assert main(["compare", "analyzer.zoo:alexnet", "analyzer.zoo:vgg16", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    macs = next(r for r in doc["totals"] if r["quantity"] == "macs")
    assert macs["values"] == [724_406_816, 15_470_264_320]


def test_conventions_flags(capsys):
    assert main(["analyze", "analyzer.zoo:alexnet", "--no-bias", "--weight-bits", "8", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["model_size_bytes"] == 60_954_656
    assert main(["analyze", "analyzer.zoo:alexnet", "--no-bias", "--layer-bits", "fc*=4", "--format", "json"]) == 0
    fc = 37_748_736 + 16_777_216 + 4_096_000
    conv = 60_954_656 - fc
    assert json.loads(capsys.readouterr().out)["totals"]["model_size_bytes"] == conv * 4 + fc // 2


def test_layer_bits_file(tmp_path, capsys):
    bits = tmp_path / "bits.toml"
    bits.write_text('[layer_bits]\n"fc*" = 8\n"conv*" = 8\n')
    assert main(["analyze", "analyzer.zoo:alexnet", "--no-bias", "--layer-bits", str(bits), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["model_size_bytes"] == 60_954_656


def test_plugins_command(capsys):
    assert main(["plugins", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert any(p["name"] == "metrics.compute" for p in doc["plugins"])
    assert main(["--block-plugin", "metrics.traffic", "plugins", "--format", "json"]) == 0
    assert "metrics.traffic" in json.loads(capsys.readouterr().out)["blocked"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["analyze", "nonexistent_file.py:model"], 1, "no such file: nonexistent_file.py"),
        (["analyze", "analyzer.zoo:nothing_here"], 1, "analyzer.zoo has no attribute 'nothing_here'"),
        (["analyze", "analyzer.core.report:SCHEMA"], 1, "is not a model: no frontend accepts a builtins.str"),
        (["analyze", "analyzer.zoo:MODELS"], 2, "unknown key 'alexnet'"),
        (["analyze", "justaword"], 2, "bad SPEC 'justaword'"),
        (["analyze", "analyzer.zoo:alexnet", "--format", "yaml"], 2, "unknown format 'yaml'"),
        (["analyze", "analyzer.zoo:alexnet", "--device", "abacus"], 2, "unknown device 'abacus'"),
        (["analyze", "analyzer.zoo:alexnet", "--input-shape", "1,x,3"], 2, "bad shape '1,x,3'"),
        (["analyze", "analyzer.zoo:alexnet", "--input-shape", "1,3:float7"], 2, "unknown dtype 'float7'"),
        (["analyze", "analyzer.zoo:alexnet", "--layer-bits", "fc"], 2, "expected PATTERN=BITS"),
        (["analyze", "analyzer.zoo:alexnet", "--bogus"], 2, "unrecognized arguments: --bogus"),
        (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
        (["devices", "show"], 2, "give a device NAME"),
    ],
)
def test_errors_are_one_line_with_exit_code(args, code, message, capsys):
    # in-process: the entry points themselves run in a subprocess once each
    # (test_console_script_runs below, tests/test_bad_input.py::test_entry_point_bad_spec_is_one_line_and_exit_2)
    assert main(args) == code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("analyzer: error: ")
    assert message in lines[0]
    assert "Traceback" not in captured.err


def test_an_error_in_process_leaves_descriptor_2_writable(capfd):
    """The native-noise muting ends with the command, also when it fails (what a caller writes next shows)."""
    assert main(["analyze", "analyzer.zoo:nothing_here"]) == 1
    os.write(2, b"after the command\n")
    err = capfd.readouterr().err
    assert err.endswith("after the command\n") and "has no attribute 'nothing_here'" in err


def test_debug_shows_the_traceback(capsys):
    assert main(["--debug", "analyze", "analyzer.zoo:nothing_here"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("has no attribute 'nothing_here'")


def test_strict_exit_code(tmp_path, capsys):
    b = analyzer.GraphBuilder()
    x = b.input("x", (1, 4))
    b.op("unknown", [x], (1, 4), name="odd", source_op="frob")
    path = tmp_path / "odd.json"
    analyzer.save_graph(b.build(), path)
    assert main(["analyze", str(path)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(path), "--strict"]) == 1
    assert "unsupported op(s) under --strict: frob x1" in capsys.readouterr().err


def test_console_script_runs():
    """The ``analyzer`` script (the one subprocess test of that entry point): an error is one line, exit 2."""
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "analyzer"]
    assert ep.value == "analyzer.cli:main"
    script = shutil.which("analyzer", path=os.path.dirname(sys.executable)) or shutil.which("analyzer")
    if script is None:
        pytest.skip("the analyzer script is not installed (pip install -e .)")
    r = subprocess.run([script, "analyze", "justaword"], capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("analyzer: error: bad SPEC 'justaword'") and r.stderr.count("\n") == 1


def test_version_is_the_package_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as e:
        from analyzer.cli import build_parser

        build_parser().parse_args(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"analyzer {version('analyzer')}"


@pytest.mark.parametrize("command", ["devices", "plugins"])
def test_help_offers_only_the_formats_that_work(command, capsys):
    from analyzer.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices[command]
    (fmt,) = [a for a in sub._actions if "--format" in a.option_strings]
    offered = fmt.metavar.strip("{}").split(",")
    assert "csv" not in offered and "markdown" not in offered
    assert all(word in fmt.help for word in offered)
    extra = ["show", "t4"] if command == "devices" else []
    for f in offered:  # every format offered renders ...
        assert main([command, *extra, "--format", f]) == 0
        out = capsys.readouterr().out
        assert out.strip()
        if f == "json":
            json.loads(out)
    for f in ("csv", "markdown"):  # ... and the ones left out are refused with the offered ones named
        assert main([command, *extra, "--format", f]) == 2
        assert f"format '{f}' not available ({' or '.join(offered)})" in capsys.readouterr().err
