"""The plugin system: built-ins and entry points through one path, blocking, duplicates, listing."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import types
from pathlib import Path

import pytest

import analyzer
from analyzer import zoo
from analyzer.core.errors import UsageError
from analyzer.core.hardware import DeviceResult, HardwareModel
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricResult, Quantity
from analyzer.core.plugins import BLOCK_ENV, LOAD_ENV, load_plugins
from analyzer.plugins import BUILTIN_PLUGINS

PLUGIN_SOURCE = textwrap.dedent(
    '''
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.metric import Metric, MetricResult, Quantity


    class ConvCount(Metric):
        name = "conv_count"
        quantities = (Quantity("conv_layers", "layer", "layers whose principal op is conv"),)

        def compute(self, ctx):
            rows = {l.name: {"conv_layers": int(l.op == "conv")} for l in ctx.layers}
            return MetricResult(layers=rows, totals={"conv_layers": sum(r["conv_layers"] for r in rows.values())})


    @hookimpl
    def analyzer_register_metrics(register):
        register(ConvCount())
    '''
)


def install_tiny_plugin(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny distribution with real entry-point metadata, importable from ``path``."""
    (path / "tiny_analyzer_plugin.py").write_text(PLUGIN_SOURCE)
    dist = path / "tiny_analyzer_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-analyzer-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[analyzer]\ntiny = tiny_analyzer_plugin\n")
    monkeypatch.syspath_prepend(str(path))
    monkeypatch.delitem(sys.modules, "tiny_analyzer_plugin", raising=False)  # not another test's copy
    return path


@pytest.fixture
def out_of_tree_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny plugin installed and admitted by the allow-list (tests load only what they name)."""
    monkeypatch.setenv(LOAD_ENV, "tiny")
    return install_tiny_plugin(tmp_path, monkeypatch)


BUILTIN_NAMES = {m.removeprefix("analyzer.plugins.") for m in BUILTIN_PLUGINS}


def test_builtins_are_registered_by_name(plugins):
    rows = plugins.describe()
    assert {row["name"] for row in rows} >= BUILTIN_NAMES
    assert {row["origin"] for row in rows if row["name"] in BUILTIN_NAMES} == {"built-in"}


def test_an_installed_plugin_does_not_change_the_suites_plugin_set(tmp_path, monkeypatch):
    """conftest's empty allow-list: an installed entry point stays out unless a test names it."""
    before = load_plugins()
    install_tiny_plugin(tmp_path, monkeypatch)
    assert os.environ[LOAD_ENV] == ""  # set for the whole session by tests/conftest.py
    suite_view = load_plugins()
    assert [r["name"] for r in suite_view.describe()] == [r["name"] for r in before.describe()]
    assert set(suite_view.metrics) == set(before.metrics) and "conv_count" not in suite_view.metrics
    assert {r["origin"] for r in suite_view.describe()} == {"built-in"}
    # the allow-list admits it when named, and only it
    monkeypatch.setenv(LOAD_ENV, "tiny, not-installed")
    admitted = load_plugins()
    assert "conv_count" in admitted.metrics
    assert {r["name"] for r in admitted.describe()} - {r["name"] for r in before.describe()} == {"tiny"}
    # unset: every installed entry point loads, as outside the test suite
    monkeypatch.delenv(LOAD_ENV)
    assert "conv_count" in load_plugins().metrics


def test_each_load_is_fresh():
    a, b = load_plugins(), load_plugins()
    assert a.pm is not b.pm and a.metrics is not b.metrics


def test_the_cli_warns_about_an_allowed_name_no_plugin_has(out_of_tree_plugin, monkeypatch, capsys):
    from analyzer.cli import main

    monkeypatch.setenv(LOAD_ENV, "tiny,tinny")
    assert main(["plugins", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"analyzer: warning: ${LOAD_ENV}: no plugin is named 'tinny'\n"
    assert "tiny" in {p["name"] for p in json.loads(captured.out)["plugins"]}


def test_entry_point_plugin_is_loaded_and_its_metric_reported(out_of_tree_plugin):
    ps = load_plugins()
    row = next(r for r in ps.describe() if r["name"] == "tiny")
    assert row["origin"] == "entry point (tiny-analyzer-plugin 0.1)"
    assert row["hooks"] == ["analyzer_register_metrics"]
    report = analyzer.analyze(zoo.alexnet(), plugins=ps)
    assert report.totals["conv_layers"] == 5
    assert report.layer("conv1").conv_layers == 1
    assert report.quantities["conv_layers"]["metric"] == "conv_count"


def test_entry_point_plugin_through_the_cli(out_of_tree_plugin, tmp_path, capsys):
    from analyzer.cli import main

    graph = tmp_path / "alexnet.json"
    analyzer.save_graph(zoo.alexnet(), graph)
    assert main(["plugins", "--format", "json"]) == 0
    assert "tiny" in {p["name"] for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert main(["analyze", str(graph), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["conv_layers"] == 5


def test_block_by_name_argument_and_environment(out_of_tree_plugin, monkeypatch):
    assert "conv_count" not in load_plugins(block=["tiny"]).metrics
    assert "traffic" not in load_plugins(block=["metrics.traffic"]).metrics
    monkeypatch.setenv(BLOCK_ENV, "tiny, metrics.traffic")
    ps = load_plugins()
    assert "conv_count" not in ps.metrics and "traffic" not in ps.metrics
    assert set(ps.blocked()) >= {"tiny", "metrics.traffic"}


def test_blocking_a_required_metric_is_a_clear_error():
    ps = load_plugins(block=["metrics.compute"])
    with pytest.raises(analyzer.UsageError, match="requires metric 'compute'"):
        analyzer.analyze(zoo.tiny_cnn(), plugins=ps)


def test_inline_plugin_and_duplicate_names_refused():
    class Dup(Metric):
        name = "params"
        quantities = (Quantity("x", "element", "x"),)

        def compute(self, ctx):
            return MetricResult()

    plugin = types.SimpleNamespace(__name__="dup_plugin", analyzer_register_metrics=hookimpl(lambda register: register(Dup())))
    with pytest.raises(UsageError) as e:  # exit 2, one line naming both plugins (not an internal error)
        load_plugins(extra=[plugin])
    assert str(e.value) == ("metric 'params' is registered by plugin dup_plugin and by plugin metrics.params; "
                            "block one with --block-plugin NAME")  # fmt: skip


@pytest.mark.parametrize(
    ("hook", "item", "kind"),
    [
        ("analyzer_register_reporters", "table", "reporter"),
        ("analyzer_register_frontends", "torch", "frontend"),
        ("analyzer_register_hardware_models", "roofline-cpu", "hardware model"),
    ],
)
def test_every_registry_refuses_a_name_twice_naming_both(hook: str, item: str, kind: str) -> None:
    thing = types.SimpleNamespace(name=item)
    plugin = types.SimpleNamespace(__name__="dup_plugin", **{hook: hookimpl(lambda register: register(thing))})
    with pytest.raises(UsageError, match=rf"^{kind} '{item}' is registered by plugin \S+ and by plugin \S+; block") as e:
        load_plugins(extra=[plugin], entry_points=False)
    assert "dup_plugin" in str(e.value)


def test_misspelled_hook_fails_loudly():
    from pluggy import PluginValidationError

    plugin = types.SimpleNamespace(analyzer_register_metricz=hookimpl(lambda register: None))
    with pytest.raises(PluginValidationError):
        load_plugins(extra=[plugin])


def test_duplicate_formula_refused():
    plugin = types.SimpleNamespace(
        analyzer_register_formulas=hookimpl(lambda register: register("flops", "relu", lambda v: 0))
    )
    with pytest.raises(UsageError, match="plugin .*: a 'flops' formula for op 'relu' is already registered"):
        load_plugins(extra=[plugin])


def test_plugin_adds_an_op_and_its_formula():
    from analyzer.core.ops import Category, OpDef

    plugin = types.SimpleNamespace(
        analyzer_register_ops=hookimpl(lambda register: register(OpDef("my_gate", Category.ELEMENTWISE, "x*s(y)"))),
        analyzer_register_formulas=hookimpl(lambda register: register("flops", "my_gate", lambda v: 5 * v.out_numel(0))),
    )
    ps = load_plugins(extra=[plugin])
    b = analyzer.GraphBuilder()
    x = b.input("x", (2, 8))
    b.op("my_gate", [x, x], (2, 8), name="gate")
    report = analyzer.analyze(b.build(), plugins=ps)
    assert report.totals["other_flops"] == 5 * 16
    assert report.unsupported == []


MINIMAL_DEVICE = textwrap.dedent(
    """
    schema = "analyzer.device/1"
    name = "toy-mcu"
    display_name = "Toy MCU"
    class = "mcu"
    peak_ops_per_s.int8 = { value = 1.0e8, source = "made up for a test", kind = "estimate" }
    [[memory]]
    name = "sram"
    on_chip = true
    capacity_bytes = { value = 65536, source = "made up for a test" }
    bandwidth_bytes_per_s = { value = 4.0e8, source = "made up for a test" }
    """
)


def test_plugin_device_dirs_extend_the_catalog(tmp_path):
    (tmp_path / "toy-mcu.toml").write_text(MINIMAL_DEVICE)
    plugin = types.SimpleNamespace(analyzer_device_dirs=hookimpl(lambda: [tmp_path]))
    ps = load_plugins(extra=[plugin])
    assert "toy-mcu" in ps.devices.names()
    assert ps.devices.get("toy-mcu").peak_ops_per_s["int8"].value == 1e8
    assert "toy-mcu" not in load_plugins().devices.names()


# --- nothing shadows silently: quantities, hardware models, requirements (docs/plugins.md) ----------
TOY_CPU = MINIMAL_DEVICE.replace('"toy-mcu"', '"toy-cpu"').replace('"mcu"', '"cpu"').replace("int8", "fp32")


def _naming(device_text: str, model: str) -> str:
    """The device file with a top-level ``hardware_model`` key (before the [[memory]] tables)."""
    return device_text.replace('class = "cpu"', f'class = "cpu"\nhardware_model = "{model}"')


def _plugin(name: str, **hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(__name__=name, **{k: hookimpl(v) for k, v in hooks.items()})


def test_a_quantity_emitted_twice_is_refused_naming_both_plugins():
    class MyMacs(Metric):
        name = "my_macs"
        quantities = (Quantity("macs", "MAC", "a second count under the built-in's name"),)

        def compute(self, ctx):
            return MetricResult(totals={"macs": 1})

    plugin = _plugin("shadowing_plugin", analyzer_register_metrics=lambda register: register(MyMacs()))
    with pytest.raises(analyzer.UsageError) as e:
        load_plugins(extra=[plugin], entry_points=False)
    message = str(e.value)
    assert "quantity 'macs'" in message and "\n" not in message
    assert "metric 'compute' (plugin metrics.compute)" in message
    assert "metric 'my_macs' (plugin shadowing_plugin)" in message


def test_a_duplicate_quantity_from_an_installed_plugin_fails_the_cli_with_exit_2(out_of_tree_plugin, capsys, monkeypatch):
    from analyzer.cli import main

    monkeypatch.delitem(sys.modules, "tiny_analyzer_plugin", raising=False)  # an earlier test imported it

    source = PLUGIN_SOURCE.replace('Quantity("conv_layers"', 'Quantity("macs"').replace('"conv_layers"', '"macs"')
    (out_of_tree_plugin / "tiny_analyzer_plugin.py").write_text(source)
    assert main(["plugins"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "quantity 'macs'" in err and "(plugin tiny)" in err
    assert main(["--block-plugin", "tiny", "plugins"]) == 0
    monkeypatch.delitem(sys.modules, "tiny_analyzer_plugin", raising=False)  # later tests get the original


def test_a_metric_declaring_a_quantity_twice_is_refused():
    class Twice(Metric):
        name = "twice"
        quantities = (Quantity("q", "u", "c"), Quantity("q", "u", "c"))

        def compute(self, ctx):
            return MetricResult()

    plugin = _plugin("twice_plugin", analyzer_register_metrics=lambda register: register(Twice()))
    with pytest.raises(analyzer.UsageError, match="metric 'twice' \\(plugin twice_plugin\\) declares quantity 'q' twice"):
        load_plugins(extra=[plugin], entry_points=False)


class FlatCpu(HardwareModel):
    """Every device of class cpu runs any model in one second (only compute's result is read)."""

    name = "flat-cpu"
    device_class = "cpu"
    requires = ("compute",)

    def evaluate(self, ctx, device):
        ctx.result("compute")
        return DeviceResult(device.name, self.name, 1.0, 1.0, None, "compute", None)


def _with_flat_cpu(tmp_path: Path, device_text: str = TOY_CPU, **kw):
    (tmp_path / "toy-cpu.toml").write_text(device_text)
    plugin = _plugin("flat_plugin", analyzer_register_hardware_models=lambda register: register(FlatCpu()),
                     analyzer_device_dirs=lambda: [tmp_path])  # fmt: skip
    return load_plugins(extra=[plugin], entry_points=False, **kw)


def test_two_hardware_models_for_a_class_and_no_choice_is_an_error_listing_them(tmp_path):
    ps = _with_flat_cpu(tmp_path)
    with pytest.raises(analyzer.UsageError) as e:
        analyzer.analyze(zoo.tiny_cnn(), devices=["toy-cpu"], plugins=ps)
    assert "roofline-cpu (hardware.cpu)" in str(e.value) and "flat-cpu (flat_plugin)" in str(e.value)
    assert "--hardware-model" in str(e.value)
    # the only model of another class is still chosen without asking
    assert analyzer.analyze(zoo.tiny_cnn(), devices=["stm32f746"], plugins=ps).hardware[0].model == "roofline-mcu"


def test_the_user_or_the_device_file_names_the_hardware_model(tmp_path):
    ps = _with_flat_cpu(tmp_path)
    r = analyzer.analyze(zoo.tiny_cnn(), devices=["toy-cpu"], plugins=ps, hardware_model="flat-cpu")
    assert (r.hardware[0].model, r.hardware[0].latency_s) == ("flat-cpu", 1.0)
    roofline = analyzer.analyze(zoo.tiny_cnn(), devices=["toy-cpu"], plugins=ps, hardware_model="roofline-cpu")
    alone = analyzer.analyze(zoo.tiny_cnn(), devices=["toy-cpu"], plugins=load_plugins(
        extra=[_plugin("dirs", analyzer_device_dirs=lambda: [tmp_path])], entry_points=False))  # fmt: skip
    assert roofline.hardware[0].model == "roofline-cpu"
    assert roofline.hardware[0].latency_s == alone.hardware[0].latency_s != 1.0
    (tmp_path / "named").mkdir()
    named = _with_flat_cpu(tmp_path / "named", _naming(TOY_CPU, "flat-cpu"))
    assert analyzer.analyze(zoo.tiny_cnn(), devices=["toy-cpu"], plugins=named).hardware[0].model == "flat-cpu"
    # the user's choice wins over the device file's
    r = analyzer.analyze(zoo.tiny_cnn(), devices=["toy-cpu"], plugins=named, hardware_model="roofline-cpu")
    assert r.hardware[0].model == "roofline-cpu"


@pytest.mark.parametrize(("choice", "match"), [
    ("no-such-model", "unknown hardware model 'no-such-model'; models: flat-cpu, .*roofline-cpu"),
    ("roofline-gpu", "hardware model 'roofline-gpu' serves class 'gpu', which none of the devices given is"),
])  # fmt: skip
def test_a_hardware_model_choice_that_serves_no_device_is_an_error(tmp_path, choice, match):
    ps = _with_flat_cpu(tmp_path)
    with pytest.raises(analyzer.UsageError, match=match):
        analyzer.analyze(zoo.tiny_cnn(), devices=["toy-cpu"], plugins=ps, hardware_model=choice)


def test_a_device_file_naming_a_missing_hardware_model_is_an_error(tmp_path):
    ps = _with_flat_cpu(tmp_path, _naming(TOY_CPU, "warp-cpu"))
    with pytest.raises(analyzer.UsageError, match="device 'toy-cpu': no hardware model named 'warp-cpu'"):
        analyzer.analyze(zoo.tiny_cnn(), devices=["toy-cpu"], plugins=ps)


def test_cli_hardware_model_option(tmp_path, capsys):
    from analyzer.cli import main

    assert main(["analyze", "analyzer.zoo:tiny_cnn", "--hardware-model", "roofline-cpu"]) == 2
    assert "--hardware-model applies to hardware estimates" in capsys.readouterr().err
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "-d", "stm32f746", "--hardware-model", "warp"]) == 2
    assert "unknown hardware model 'warp'" in capsys.readouterr().err
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "-d", "stm32f746", "--hardware-model", "roofline-mcu", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["hardware"][0]["model"] == "roofline-mcu"


def test_blocking_a_metric_a_hardware_model_requires_is_an_error_naming_both():
    ps = load_plugins(block=["metrics.traffic"], entry_points=False)
    analyzer.analyze(zoo.tiny_cnn(), plugins=ps)  # no device: nothing needs traffic
    with pytest.raises(analyzer.UsageError) as e:
        analyzer.analyze(zoo.tiny_cnn(), devices=["stm32f746"], plugins=ps)
    assert str(e.value) == ("hardware model 'roofline-mcu' (plugin hardware.mcu) requires metric 'traffic', "
                            "which is blocked")  # fmt: skip
