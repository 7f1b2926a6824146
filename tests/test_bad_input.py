"""Every bad input a user can hit: its exact exit code and a pattern of its one-line message.

Each row runs ``analyzer.cli.main`` in-process. An error row expects exactly one stderr
line ``analyzer: error: ...`` matching the pattern; a warning row expects exit 0 and a
line ``analyzer: warning: ...`` (and nothing else on stderr). docs/errors.md lists the same
failures; ``test_every_documented_exit_code_is_tested`` keeps the two together. Two
subprocess tests cover the real entry point (``python -m analyzer``), one of them with a
Keras model to prove TensorFlow's log lines stay off stderr.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from analyzer import GraphBuilder
from analyzer.cli import main
from analyzer.core.devices import ENV_VAR
from analyzer.core.serialize import graph_to_dict
from tests.core.test_devices import MINIMAL as MINIMAL_DEVICE  # the smallest valid device file

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


MODELS_PY = textwrap.dedent(
    """
    from analyzer import zoo

    not_a_model = 3

    def needs_args(width):
        return zoo.tiny_cnn()

    class NeedsArgs:
        def __init__(self, width):
            self.width = width

    def explodes():
        raise ValueError("no luck")
    """
)


def small_graph_doc() -> dict:
    b = GraphBuilder("small")
    x = b.input("x", (1, 3, 8, 8))
    y = b.conv(x, 4, 3, padding=1, name="conv")
    y = b.relu(y, name="relu")
    y = b.flatten(y, name="flat")
    return graph_to_dict(b.build(b.linear(y, 10, name="fc")))


def _node(doc: dict, node_id: str) -> dict:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def _tensor(doc: dict, name: str) -> dict:
    return next(t for t in doc["tensors"] + doc["params"] if t["name"] == name)


# Saved graphs that must be refused on load: name -> edit of a valid document.
CRAFTED_GRAPHS = {
    "huge_batch": lambda d: _tensor(d, "x").update(shape=[10**15, 3, 8, 8]),
    "contradiction": lambda d: _tensor(d, "x").update(shape=[10**6, 3, 8, 8]),
    "bad_attr": lambda d: _node(d, "conv")["attrs"].update(kernel_size="three"),
    "missing_attr": lambda d: _node(d, "conv")["attrs"].pop("in_channels"),
    "weight": lambda d: _tensor(d, "conv.weight").update(shape=[4, 3, 5, 5]),
    "dtype": lambda d: _tensor(d, "x").update(dtype="float33"),
    "unresolved": lambda d: _node(d, "relu").update(inputs=["ghost"]),
    "cycle": lambda d: _node(d, "relu").update(inputs=["flat"]),
    "batch0": lambda d: [_tensor(d, t)["shape"].__setitem__(0, 0) for t in ("x", "conv", "relu", "flat", "fc")],
    "negative": lambda d: _tensor(d, "relu").update(shape=[1, -4, 8, 8]),
    "elements": lambda d: _tensor(d, "x").update(shape=[2**25, 2**25]),
    "repeat0": lambda d: _node(d, "relu")["attrs"].update(repeat=0),
    "rnn_cell": lambda d: _node(d, "relu").update(op="rnn", attrs={"cell": "transformer"}),
    "unknown_op": lambda d: _node(d, "relu").update(op="mystery"),  # loads; --strict refuses it
    "no_schema": lambda d: d.update(schema="other/2"),
    "no_nodes": lambda d: d.pop("nodes"),
}


@dataclass
class Case:
    id: str
    argv: list[str]
    code: int
    pattern: str  # a regex searched in the message after "analyzer: error: " / "analyzer: warning: "
    warning: bool = False
    env: dict[str, str] = field(default_factory=dict)
    hide: tuple[str, ...] = ()  # modules made unimportable (a framework that is not installed)


ZOO = "analyzer.zoo:alexnet"
CASES = [
    # --- the command line (exit 2) ---
    Case("unknown-command", ["frobnicate"], 2, r"invalid choice: 'frobnicate'"),
    Case("unknown-option", ["analyze", ZOO, "--nope"], 2, r"unrecognized arguments: --nope"),
    Case("bad-spec-syntax", ["analyze", "justaname"], 2, r"bad SPEC 'justaname'"),
    Case("spec-python-file-without-name", ["analyze", "{models}"], 2, r"models\.py is Python code: name the model in it"),
    Case("spec-directory", ["analyze", "{dir}"], 2, r"is a directory: give a model file"),
    Case("bad-input-shape", ["analyze", ZOO, "-i", "1,a"], 2, r"bad shape '1,a'"),
    Case("zero-input-shape", ["analyze", ZOO, "-i", "0,3,224,224"], 2, r"dimensions must be positive"),
    Case("unknown-input-dtype", ["analyze", ZOO, "-i", "1,3:float33"], 2, r"--input-shape: .*float33"),
    Case("input-shape-on-saved-graph", ["analyze", "{graph}", "-i", "1,3"], 2, r"fixed input shapes"),
    Case("unknown-format", ["analyze", ZOO, "-f", "yaml"], 2, r"unknown format 'yaml'"),
    Case("unknown-framework", ["analyze", ZOO, "--framework", "mxnet"], 2, r"unknown framework 'mxnet'"),
    Case("depth-0", ["analyze", ZOO, "--depth", "0"], 2, r"--depth: expected a positive integer, got '0'"),
    Case("weight-bits-0", ["analyze", ZOO, "--weight-bits", "0"], 2, r"--weight-bits: expected a positive"),
    Case("train-batch-0", ["analyze", ZOO, "--train-batch", "0"], 2, r"--train-batch: expected a positive"),
    Case("batch-0", ["analyze", ZOO, "-d", "t4", "--batch", "0"], 2, r"--batch: expected positive integers"),
    Case("batch-without-device", ["analyze", ZOO, "--batch", "1,8"], 2, r"--batch applies to hardware.*--device"),
    Case("efficiency-without-device", ["analyze", ZOO, "--efficiency", "gemm=0.5"], 2,
         r"--efficiency applies to hardware.*--device"),  # fmt: skip
    Case("efficiency-not-a-number", ["analyze", ZOO, "-d", "t4", "--efficiency", "gemm=x"], 2,
         r"FRACTION must be a number"),  # fmt: skip
    Case("efficiency-unknown-class", ["analyze", ZOO, "-d", "t4", "--efficiency", "matmul=0.5"], 2,
         r"unknown op class 'matmul'"),  # fmt: skip
    Case("efficiency-out-of-range", ["analyze", ZOO, "-d", "t4", "--efficiency", "gemm=1.5"], 2,
         r"gemm=1.5: a fraction in \(0, 1\]"),  # fmt: skip
    Case("layer-bits-not-integer", ["analyze", ZOO, "--layer-bits", "conv*=x"], 2, r"must be an integer, got 'x'"),
    Case("layer-bits-zero", ["analyze", ZOO, "--layer-bits", "conv*=0"], 2, r"'conv\*' must be positive"),
    Case("layer-bits-missing-file", ["analyze", ZOO, "--layer-bits", "{dir}/bits.toml"], 2,
         r"--layer-bits: cannot read .*bits.toml"),  # fmt: skip
    Case("columns-unknown", ["analyze", ZOO, "--columns", "macs,nope"], 2,
         r"--columns: unknown column 'nope'; quantities: params, .*; groups: weights, compute, .*; or all$"),  # fmt: skip
    Case("option-syntax", ["analyze", ZOO, "--option", "traffic"], 2, r"--option: expected METRIC.KEY=VALUE, got 'traffic'"),
    Case("option-unknown-metric", ["analyze", ZOO, "--option", "trafic.naive_traffic=1"], 2,
         r"metric option trafic.naive_traffic: no loaded metric 'trafic' declares options; metrics with options: "),  # fmt: skip
    Case("option-unknown-key", ["analyze", ZOO, "--option", "traffic.naive=1"], 2,
         r"metric 'traffic' has no option 'naive'; its options: naive_traffic$"),  # fmt: skip
    Case("option-bad-value", ["analyze", ZOO, "--option", "traffic.naive_traffic=maybe"], 2,
         r"metric option traffic.naive_traffic: expected true or false, got 'maybe'"),  # fmt: skip
    Case("block-unknown-plugin", ["analyze", ZOO, "--block-plugin", "metrics.param"], 2,
         r"no plugin is named 'metrics.param'; did you mean 'metrics.params'"),  # fmt: skip
    Case("hardware-model-unknown", ["analyze", ZOO, "-d", "t4", "--hardware-model", "nope"], 2,
         r"unknown hardware model 'nope'; models: .*roofline-gpu"),  # fmt: skip
    Case("hardware-model-without-device", ["analyze", ZOO, "--hardware-model", "roofline-gpu"], 2,
         r"--hardware-model applies to hardware estimates: give a --device too"),  # fmt: skip
    Case("block-required-metric", ["analyze", ZOO, "-d", "t4", "--block-plugin", "metrics.traffic"], 2,
         r"hardware model 'roofline-gpu' \(plugin hardware.gpu\) requires metric 'traffic', which is blocked"),  # fmt: skip
    Case("unknown-device", ["analyze", ZOO, "-d", "nope"], 2, r"unknown device 'nope'"),
    Case("unknown-device-suggests", ["analyze", ZOO, "-d", "A100"], 2, r"did you mean 'a100-sxm-80gb'"),
    Case("missing-device-file", ["analyze", ZOO, "-d", "{dir}/board.toml"], 2, r"no such device file: .*board.toml"),
    Case("output-unwritable", ["analyze", ZOO, "-o", "{dir}/no/such/dir/out.txt"], 2, r"--output: cannot write"),
    Case("save-graph-unwritable", ["analyze", ZOO, "--save-graph", "{dir}/no/such/dir/g.json"], 2,
         r"--save-graph: cannot write"),  # fmt: skip
    Case("devices-show-unknown", ["devices", "show", "nope"], 2, r"unknown device 'nope'"),
    Case("devices-show-no-name", ["devices", "show"], 2, r"give a device NAME"),
    Case("devices-extra-argument", ["devices", "list", "t4"], 2, r"did you mean 'devices show t4'"),
    Case("devices-bad-format", ["devices", "-f", "csv"], 2, r"format 'csv' not available"),
    Case("plugins-bad-format", ["plugins", "-f", "csv"], 2, r"format 'csv' not available"),
    Case("device-class-unserved", ["analyze", ZOO, "-d", "{dir}/npu.toml"], 2,
         r"device 'npu1' is of class 'npu', which no loaded hardware model serves \(loaded: .*roofline-mcu"),  # fmt: skip
    Case("hardware-model-wrong-class", ["analyze", ZOO, "-d", "stm32f746", "--hardware-model", "roofline-gpu"], 2,
         r"hardware model 'roofline-gpu' serves class 'gpu', which none of the devices given is"),  # fmt: skip
    Case("compare-columns-unknown", ["compare", ZOO, "analyzer.zoo:tiny_cnn", "--columns", "nope"], 2,
         r"--columns: unknown column 'nope'; quantities: params, .*; or all$"),  # fmt: skip
    Case("plot-without-matplotlib", ["analyze", ZOO, "--plot", "{dir}/plots", "-o", "{dir}/out.txt"], 2,
         r"plots need matplotlib: pip install 'analyzer\[plot\]'", hide=("matplotlib",)),  # fmt: skip
    Case("plot-unwritable", ["analyze", ZOO, "--plot", "{dir}/model.xyz/plots", "-o", "{dir}/out.txt"], 2,
         r"--plot: cannot create .*model.xyz/plots"),  # fmt: skip
    # sweep files: every mistake names the file and the key
    Case("sweep-missing-file", ["sweep", "{dir}/missing.toml"], 2, r"no such sweep file: .*missing.toml"),
    Case("sweep-not-toml", ["sweep", "{dir}/sweep_bad.toml"], 2, r"sweep_bad.toml: not valid TOML"),
    Case("sweep-unknown-key", ["sweep", "{dir}/sweep_key.toml"], 2,
         r"sweep_key.toml: colour: unknown key \(keys: activation_bits, batch, "),  # fmt: skip
    Case("sweep-empty-list", ["sweep", "{dir}/sweep_empty.toml"], 2,
         r"sweep_empty.toml: grid.width: expected a non-empty list of values"),  # fmt: skip
    Case("sweep-parameter-is-a-column", ["sweep", "{dir}/sweep_column.toml"], 2,
         r"sweep_column.toml: grid.latency_s: is the name of a result column"),  # fmt: skip
    Case("sweep-unknown-option", ["sweep", "{dir}/sweep_option.toml"], 2,
         r"sweep_option.toml: options: unknown option 'bais'; known options: "),  # fmt: skip
    Case("sweep-output-suffix", ["sweep", "{dir}/sweep_ok.toml", "-o", "{dir}/runs.txt"], 2,
         r"--output .*runs.txt: the suffix chooses the format: .csv or .parquet"),  # fmt: skip
    Case("sweep-ray-address-without-ray", ["sweep", "{dir}/sweep_ok.toml", "--ray-address", "head:6379"], 2,
         r"--ray-address applies to --executor ray"),  # fmt: skip
    Case("sweep-bad-format", ["sweep", "{dir}/sweep_ok.toml", "-f", "csv"], 2, r"sweep: format 'csv' not available"),
    Case("sweep-unknown-device", ["sweep", "{dir}/sweep_device.toml"], 2,
         r"sweep_device.toml: devices: unknown device 'stm32f999'"),  # fmt: skip
    Case("sweep-bad-hardware-option", ["sweep", "{dir}/sweep_hardware.toml"], 2,
         r"sweep_hardware.toml: hardware: unknown hardware option 'bogus'; known: "),  # fmt: skip
    Case("sweep-unknown-pareto-column", ["sweep", "{dir}/sweep_pareto.toml"], 2,
         r"sweep_pareto.toml: pareto: no numeric column 'latncy_s'; did you mean 'latency_s'\?"),  # fmt: skip
    Case("sweep-every-row-failed", ["sweep", "{dir}/sweep_failing.toml"], 1,
         r"every configuration failed \(1 rows\); the first: analyzer.zoo:tiny_cnn\(width=8\): "),  # fmt: skip
    # measure: runs a PyTorch module or an .onnx file on this host
    Case("measure-uncalibrated-host", ["measure", ZOO], 2,
         r"unknown device 'host'; run 'python -m analyzer calibrate' to measure this machine"),  # fmt: skip
    Case("measure-not-a-cpu", ["measure", ZOO, "-d", "t4"], 2,
         r"measure runs the model on this machine's CPU: --device must be a CPU \(host after calibrate\), not 't4' \(a gpu\)"),  # fmt: skip
    Case("measure-not-runnable", ["measure", ZOO, "-d", "raspberry-pi-4"], 2,
         r"measure: analyzer.zoo:alexnet is not a PyTorch module or an .onnx file"),  # fmt: skip
    Case("measure-bad-format", ["measure", ZOO, "-d", "raspberry-pi-4", "-f", "csv"], 2, r"measure: format 'csv' not available"),
    Case("measure-repeat-0", ["measure", ZOO, "--repeat", "0"], 2, r"argument --repeat: expected an integer >= 1, got '0'"),
    # --- the model could not be loaded or analyzed (exit 1) ---
    Case("missing-file", ["analyze", "{dir}/missing.json"], 1, r"no such file: .*missing.json"),
    Case("missing-py-file", ["analyze", "{dir}/missing.py:model"], 1, r"no such file: .*missing.py"),
    Case("missing-module", ["analyze", "not_a_package_xyz.models:net"], 1, r"no module named 'not_a_package_xyz'"),
    Case("missing-attribute", ["analyze", "analyzer.zoo:nope"], 1, r"has no attribute 'nope'"),
    Case("not-a-model", ["analyze", "{models}:not_a_model"], 1, r"is not a model: no frontend accepts a builtins.int"),
    Case("factory-needs-arguments", ["analyze", "{models}:needs_args"], 1,
         r"needs_args is a function that needs arguments \(width\)"),  # fmt: skip
    Case("class-needs-arguments", ["analyze", "{models}:NeedsArgs"], 1,
         r"NeedsArgs is a class whose constructor needs arguments \(width\)"),  # fmt: skip
    Case("factory-raises", ["analyze", "{models}:explodes"], 1, r"calling it failed: ValueError: no luck"),
    Case("spec-file-import-fails", ["analyze", "{dir}/broken.py:x"], 1,
         r"importing it failed: ModuleNotFoundError: No module named 'not_a_real_module_abc'"),  # fmt: skip
    Case("unknown-suffix", ["analyze", "{dir}/model.xyz"], 1, r"no frontend reads \.xyz files"),
    Case("pickle-refused", ["analyze", "{dir}/model.pt"], 1, r"\.pt files are pickles and are never loaded"),
    Case("corrupt-keras", ["analyze", "{dir}/corrupt.keras"], 1, r"corrupt\.keras"),
    Case("corrupt-pt2", ["analyze", "{dir}/corrupt.pt2"], 1, r"corrupt\.pt2"),
    Case("device-figure-refused", ["analyze", ZOO, "-d", "{dir}/fig.toml"], 1,
         r"fig.toml: field 'peak_ops_per_s': unknown data type 'fp33' \(known: .*\) \(hardware model roofline-cpu\)"),  # fmt: skip
    Case("malformed-device-asked-for", ["analyze", ZOO, "-d", "broken"], 1, r"broken\.toml: not valid TOML",
         env={ENV_VAR: "{baddevs}"}),  # fmt: skip
    Case("strict-unsupported", ["analyze", "{ir_unknown_op}", "--strict"], 1, r"1 unsupported op\(s\) under --strict: relu x1"),
    Case("missing-torch", ["analyze", "{dir}/uses_torch.py:model"], 1,
         r"torch is not installed; install it with: pip install 'analyzer\[torch\]'", hide=("torch",)),  # fmt: skip
    Case("missing-keras", ["analyze", "{dir}/uses_keras.py:model"], 1,
         r"keras is not installed; install it with: pip install 'analyzer\[keras\]'", hide=("keras",)),  # fmt: skip
    Case("missing-jax", ["analyze", "{dir}/uses_jax.py:model"], 1,
         r"jax is not installed; install it with: pip install 'analyzer\[jax\]'", hide=("jax",)),  # fmt: skip
    # saved graphs are validated completely on load
    Case("ir-not-json", ["analyze", "{dir}/notjson.json"], 1, r"notjson\.json: not valid JSON"),
    Case("ir-binary", ["analyze", "{dir}/binary.json"], 1, r"binary\.json: not a text file"),
    Case("ir-deep-nesting", ["analyze", "{dir}/deep.json"], 1, r"deep\.json: JSON nested too deeply"),
    Case("ir-huge-integer", ["analyze", "{dir}/bigint.json"], 1, r"bigint\.json: not valid JSON \(Exceeds the limit"),
    Case("ir-no-schema", ["analyze", "{ir_no_schema}"], 1, r"not an analyzer graph document \(schema 'other/2'"),
    Case("ir-no-nodes", ["analyze", "{ir_no_nodes}"], 1, r"malformed graph document: document has no field 'nodes'"),
    Case("ir-huge-batch", ["analyze", "{ir_huge_batch}"], 1, r"tensor 'x' has an invalid shape .*larger than 1099511627776"),
    Case("ir-contradiction", ["analyze", "{ir_contradiction}"], 1,
         r"node 'conv' \(conv\): output shape \(1, 4, 8, 8\) contradicts input \(1000000, 3, 8, 8\)"),  # fmt: skip
    Case("ir-bad-attribute", ["analyze", "{ir_bad_attr}"], 1,
         r"node 'conv' \(conv\): attribute 'kernel_size' must be a list of 2 positive integers, got 'three'"),  # fmt: skip
    Case("ir-missing-attribute", ["analyze", "{ir_missing_attr}"], 1, r"node 'conv' \(conv\): attribute 'in_channels' is missing"),
    Case("ir-weight-mismatch", ["analyze", "{ir_weight}"], 1,
         r"node 'conv' \(conv\): weight 'conv.weight' has shape \(4, 3, 5, 5\) \(300 elements\), the attributes need 108"),  # fmt: skip
    Case("ir-unknown-dtype", ["analyze", "{ir_dtype}"], 1, r"tensor 'x': .*float33"),
    Case("ir-unresolved-reference", ["analyze", "{ir_unresolved}"], 1, r"node 'relu' reads 'ghost', which is produced nowhere"),
    Case("ir-cycle", ["analyze", "{ir_cycle}"], 1, r"node 'relu' reads 'flat', which is produced later"),
    Case("ir-batch-0", ["analyze", "{ir_batch0}"], 1, r"graph input 'x' has batch size 0"),
    Case("ir-negative-dim", ["analyze", "{ir_negative}"], 1, r"tensor 'relu' has an invalid shape \(1, -4, 8, 8\)"),
    Case("ir-too-many-elements", ["analyze", "{ir_elements}"], 1, r"tensor 'x' of shape .* elements, more than"),
    Case("ir-repeat-0", ["analyze", "{ir_repeat0}"], 1, r"node 'relu' \(relu\): attribute 'repeat' must be an integer >= 1"),
    Case("ir-rnn-cell", ["analyze", "{ir_rnn_cell}"], 1, r"node 'relu' \(rnn\): attribute 'cell' must be one of lstm, gru, rnn"),
    # --- warnings: the run goes on (exit 0) ---
    Case("layer-bits-matches-nothing", ["analyze", ZOO, "--layer-bits", "nomatch*=8", "-o", "{dir}/out.txt"], 0,
         r"--layer-bits pattern 'nomatch\*' matches no layer or parameter", warning=True),  # fmt: skip
    Case("malformed-device-listed", ["devices", "-o", "{dir}/devices.txt"], 0,
         r"skipped device file .*broken\.toml: not valid TOML", warning=True, env={ENV_VAR: "{baddevs}"}),  # fmt: skip
    Case("block-env-unknown-plugin", ["plugins", "-o", "{dir}/plugins.txt"], 0,
         r"\$ANALYZER_BLOCK_PLUGINS: no plugin is named 'nope'", warning=True,
         env={"ANALYZER_BLOCK_PLUGINS": "nope"}),  # fmt: skip
    Case("load-env-unknown-plugin", ["plugins", "-o", "{dir}/plugins.txt"], 0,
         r"\$ANALYZER_LOAD_PLUGINS: no plugin is named 'nope'", warning=True,
         env={"ANALYZER_LOAD_PLUGINS": "nope"}),  # fmt: skip
    Case("device-shadows-builtin", ["devices", "show", "t4", "-o", "{dir}/t4.txt"], 0,
         r"device 't4' is read from .*t4\.toml, which shadows the built-in one", warning=True,
         env={ENV_VAR: "{shadowdevs}"}),  # fmt: skip
    Case("report-incomplete-totals", ["analyze", "{ir_unknown_op}", "-o", "{dir}/unknown.txt"], 0,
         r"incomplete totals: .* without a formula\]; incomplete: ", warning=True),  # fmt: skip
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("bad")
    out = {"dir": str(d)}
    (d / "models.py").write_text(MODELS_PY)
    out["models"] = str(d / "models.py")
    (d / "broken.py").write_text("import not_a_real_module_abc\n")
    for fw in ("torch", "keras", "jax"):
        (d / f"uses_{fw}.py").write_text(f"import {fw}\nmodel = None\n")
    (d / "model.xyz").write_text("x")
    (d / "model.pt").write_bytes(b"\x80\x04K\x01.")
    (d / "corrupt.keras").write_bytes(b"PK\x03\x04 not really a zip")
    (d / "corrupt.pt2").write_bytes(b"PK\x03\x04 not really a zip")
    (d / "notjson.json").write_text('{"schema": "analyzer.graph/1",')
    (d / "binary.json").write_bytes(bytes(range(128, 256)))
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "bigint.json").write_text('{"schema": "analyzer.graph/1", "tensors": [' + "9" * 5000 + "]}")
    good = small_graph_doc()
    (d / "graph.json").write_text(json.dumps(good))
    out["graph"] = str(d / "graph.json")
    for name, edit in CRAFTED_GRAPHS.items():
        doc = copy.deepcopy(good)
        edit(doc)
        (d / f"{name}.json").write_text(json.dumps(doc))
        out[f"ir_{name}"] = str(d / f"{name}.json")
    bad, shadow = d / "baddevs", d / "shadowdevs"
    bad.mkdir()
    shadow.mkdir()
    (bad / "broken.toml").write_text("schema = [")
    (shadow / "t4.toml").write_text(MINIMAL_DEVICE.format(name="t4"))
    out["baddevs"], out["shadowdevs"] = str(bad), str(shadow)
    (d / "npu.toml").write_text(MINIMAL_DEVICE.format(name="npu1").replace('class = "cpu"', 'class = "npu"'))
    (d / "fig.toml").write_text(MINIMAL_DEVICE.format(name="fig1").replace("peak_ops_per_s.fp32", "peak_ops_per_s.fp33"))
    sweep = '[model]\nfactory = "analyzer.zoo:tiny_cnn"\n'
    for name, text in {
        "ok": sweep,
        "bad": "devices = [",
        "key": "colour = 1\n" + sweep,
        "empty": sweep + "[grid]\nwidth = []\n",
        "column": sweep + "[grid]\nlatency_s = [1]\n",
        "option": sweep + "[options]\nbais = true\n",
        "hardware": sweep + "[hardware]\nbogus = 1\n",
        "pareto": 'pareto = ["latncy_s:min", "macs:max"]\n' + sweep,
        "failing": sweep + "[grid]\nwidth = [8]\n",  # tiny_cnn takes no width: every row fails
    }.items():
        (d / f"sweep_{name}.toml").write_text('devices = ["stm32f746"]\n' * (name != "bad") + text)
    (d / "sweep_device.toml").write_text('devices = ["stm32f999"]\n' + sweep)
    return out


@pytest.fixture(autouse=True)
def _clean_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user devices
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("ANALYZER_BLOCK_PLUGINS", raising=False)
    monkeypatch.delenv("ANALYZER_LOAD_PLUGINS", raising=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, files, monkeypatch, capsys):
    for name in case.hide:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, mod)
        monkeypatch.setitem(sys.modules, name, None)  # import raises ModuleNotFoundError
    for key, value in case.env.items():
        monkeypatch.setenv(key, value.format(**files))
    code = main([a.format(**files) for a in case.argv])
    err = capsys.readouterr().err
    lines = err.splitlines()
    if case.warning:
        assert code == case.code, err
        assert lines and all(line.startswith("analyzer: warning: ") for line in lines), err
        assert any(re.search(case.pattern, line) for line in lines), err
    else:
        assert (code, len(lines)) == (case.code, 1), err
        assert lines[0].startswith("analyzer: error: "), err
        assert re.search(case.pattern, lines[0].removeprefix("analyzer: error: ")), err
        assert "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_report_warnings_are_stderr_lines_and_stay_in_the_report(fmt, files, capsys):
    """Each report warning is one stderr line; the table and markdown keep it as one line too."""
    args = ["analyze", files["ir_unknown_op"], "-f", fmt, "--layer-bits", "nomatch*=8"]
    assert main(args) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert all(line.startswith("analyzer: warning: ") for line in lines), captured.err
    warnings = [line.removeprefix("analyzer: warning: ") for line in lines]
    assert any(w.startswith("incomplete totals: ") for w in warnings), warnings
    assert sum("--layer-bits pattern" in w for w in warnings) == 1, warnings  # printed once
    if fmt == "json":
        assert json.loads(captured.out)["warnings"] == warnings
    else:
        out_lines = captured.out.splitlines()
        for w in warnings:  # each warning whole on one line of the report, not wrapped
            assert any(line.endswith(w) for line in out_lines), (w, captured.out[-600:])


def test_compare_labels_each_reports_warnings(files, capsys):
    assert main(["compare", files["ir_unknown_op"], files["graph"], "-f", "json"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(re.match(r"analyzer: warning: [^:]+: incomplete totals: ", line) for line in lines), lines


def test_every_documented_exit_code_is_tested():
    """docs/errors.md names each case of this table by id, and each id there exists here."""
    text = DOCS.read_text()
    documented = set(re.findall(r"`([a-z0-9-]+)`\s*\|\s*\d+\s*\|", text))
    assert documented == {c.id for c in CASES}, (documented ^ {c.id for c in CASES})
    for c in CASES:
        row = re.search(rf"`{c.id}`\s*\|\s*(\d+)\s*\|", text)
        assert row and int(row.group(1)) == c.code, c.id


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ROUND_TRIP = [ZOO] + ([f"{EXAMPLES}/transformer.py:torch_model"] if importlib.util.find_spec("torch") else [])


@pytest.mark.parametrize("spec", ROUND_TRIP, ids=["builder", "torch"][: len(ROUND_TRIP)])
def test_save_graph_round_trip(spec, tmp_path, capsys):
    """``analyze SPEC --save-graph FILE`` writes the IR that ``analyze FILE`` reads: same report."""
    saved = tmp_path / "graph.json"
    assert main(["analyze", spec, "--save-graph", str(saved), "-f", "json", "-o", str(tmp_path / "a.json")]) == 0
    assert main(["analyze", str(saved), "-f", "json", "-o", str(tmp_path / "b.json")]) == 0
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a["totals"] == b["totals"] and a["layers"] == b["layers"]
    assert a["model"] == b["model"]
    assert capsys.readouterr().err == ""


def test_device_names_are_case_insensitive_and_files_are_devices(files, capsys):
    assert main(["devices", "show", "T4", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "t4"
    board = Path(files["shadowdevs"]) / "t4.toml"
    assert main(["analyze", ZOO, "-d", str(board), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["hardware"][0]["device"] == "t4"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=300)


def test_entry_point_bad_spec_is_one_line_and_exit_2():
    r = _run("analyze", "justaname")
    assert (r.returncode, r.stdout) == (2, "")
    assert re.fullmatch(r"analyzer: error: bad SPEC 'justaname'[^\n]*\n", r.stderr)


@pytest.mark.skipif(not importlib.util.find_spec("keras"), reason="needs keras")
def test_entry_point_keras_run_prints_no_framework_log_lines(tmp_path):
    """TensorFlow writes oneDNN/absl lines to stderr on import; the CLI keeps them out (not with --debug)."""
    spec = tmp_path / "k.py"
    spec.write_text(textwrap.dedent("""
        import keras

        def model():
            inp = keras.Input((8,))
            return keras.Model(inp, keras.layers.Dense(4, name="fc")(inp))
    """))  # fmt: skip
    r = _run("analyze", f"{spec}:model", "--layer-bits", "nomatch=8", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["analyzer: warning: --layer-bits pattern 'nomatch' matches no layer or "
                                     "parameter (names look like 'fc', 'fc.kernel', 'fc.bias')"]  # fmt: skip
    assert json.loads(r.stdout)["totals"]["params"] == 8 * 4 + 4
