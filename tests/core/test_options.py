"""Metric options: declared by the metric, set from Python or the CLI, checked and typed in one place."""

from __future__ import annotations

import pytest

import analyzer
from analyzer import GraphBuilder, zoo
from analyzer.core.errors import UsageError
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricResult, Option, Quantity
from analyzer.core.options import AnalysisOptions, parse_assignment


class Scaled(Metric):
    """A third-party metric with an option of each type: reads them with ctx.option."""

    name = "scaled"
    quantities = (Quantity("scaled_layers", "layer", "layers times the factor option"),)
    options = (
        Option("factor", int, 1, "multiplies the count"),
        Option("offset", float, 0.0, "added to the count"),
        Option("enabled", bool, True, "count at all"),
        Option("mode", str, "all", "which layers", choices=("all", "conv")),
    )

    def compute(self, ctx):
        if not ctx.option("enabled"):
            return MetricResult()
        chosen = [layer for layer in ctx.layers if ctx.option("mode") == "all" or layer.op == "conv"]
        rows = {layer.name: {"scaled_layers": ctx.option("factor")} for layer in chosen}
        return MetricResult(layers=rows, totals={"scaled_layers": len(rows) * ctx.option("factor") + ctx.option("offset")})


class _Plugin:
    @hookimpl
    def analyzer_register_metrics(self, register):
        register(Scaled())


@pytest.fixture(scope="module")
def plugins():
    return analyzer.load_plugins(extra=[_Plugin()], entry_points=False)


def _graph():
    b = GraphBuilder("net")
    x = b.input("x", (1, 3, 8, 8))
    x = b.conv(x, 4, 3, padding=1, name="conv")
    x = b.relu(x, name="relu")
    return b.build(x)


def test_defaults_are_filled_in(plugins):
    r = analyzer.analyze(_graph(), plugins=plugins)
    assert r.totals["scaled_layers"] == 2  # conv, relu: factor 1, offset 0
    assert r.options["metric_options"]["scaled"] == {"factor": 1, "offset": 0.0, "enabled": True, "mode": "all"}


@pytest.mark.parametrize(
    ("given", "total"),
    [
        ({"options": {"scaled.factor": 3}}, 6),
        ({"options": {"scaled.factor": "3", "scaled.offset": "0.5"}}, 6.5),  # text, as from the command line
        ({"options": {"scaled": {"mode": "conv"}}}, 1),  # nested form
        ({"metric_options": {"scaled": {"factor": 2, "mode": "conv"}}}, 2),
        ({"options": {"scaled.enabled": "no"}}, None),
        ({"scaled.factor": 4}, 8),  # analyze(**{"scaled.factor": 4})
    ],
)
def test_options_set_from_python_are_typed(plugins, given, total):
    r = analyzer.analyze(_graph(), plugins=plugins, **given)
    assert r.totals.get("scaled_layers") == total


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"scaled.factr": 2}, "metric option scaled.factr: metric 'scaled' has no option 'factr'; its options: factor, offset, enabled, mode"),
        ({"scaler.factor": 2}, "no loaded metric 'scaler' declares options; metrics with options: "),
        ({"scaled.factor": "two"}, "metric option scaled.factor: expected an integer, got 'two'"),
        ({"scaled.factor": 2.5}, "expected an integer, got 2.5"),
        ({"scaled.factor": True}, "expected int, got True"),
        ({"scaled.enabled": "maybe"}, "metric option scaled.enabled: expected true or false, got 'maybe'"),
        ({"scaled.mode": "dense"}, "metric option scaled.mode: 'dense' is not one of all, conv"),
        ({"factor": 2}, "metric option 'factor': expected METRIC.KEY"),
    ],
)
def test_bad_options_are_one_line_usage_errors(plugins, given, message):
    with pytest.raises(UsageError) as e:
        analyzer.analyze(_graph(), plugins=plugins, options=given)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_builtin_aliases_are_the_declared_options():
    """optimizer=, train_batch=, naive_traffic= set the training and traffic metrics' options."""
    a = analyzer.analyze(zoo.tiny_cnn(), optimizer="sgd", naive_traffic=True, train_batch=4)
    b = analyzer.analyze(zoo.tiny_cnn(), options={"training_memory.optimizer": "sgd", "traffic.naive_traffic": True,
                                                  "training_memory.train_batch": 4})  # fmt: skip
    assert a.totals == b.totals
    assert a.options["optimizer"] == "sgd" and a.options["naive_traffic"] is True and a.options["train_batch"] == 4
    assert a.totals["optimizer_state_bytes"] == 0


def test_alias_reads_as_an_attribute_once_resolved():
    opts = AnalysisOptions.from_kwargs({"naive_traffic": True})
    assert opts.naive_traffic is True and opts.metric_option("traffic", "naive_traffic") is True
    assert opts.for_metric("training_memory") == {"optimizer": "adam", "train_batch": None}
    with pytest.raises(AttributeError):
        _ = opts.no_such_option


def test_unknown_keyword_lists_fields_and_aliases():
    with pytest.raises(UsageError, match="unknown option 'optimiser'; known options: .*naive_traffic.*optimizer"):
        AnalysisOptions.from_kwargs({"optimiser": "sgd"})


def test_alias_of_a_blocked_metric_is_unknown():
    ps = analyzer.load_plugins(block=["metrics.training"], entry_points=False)
    with pytest.raises(UsageError, match="unknown option 'optimizer'"):
        analyzer.analyze(zoo.tiny_cnn(), plugins=ps, optimizer="sgd")
    assert "training_memory_bytes" not in analyzer.analyze(zoo.tiny_cnn(), plugins=ps).totals


def test_ctx_option_of_an_undeclared_key_names_the_metric():
    class Reader(Metric):
        name = "reader"

        def compute(self, ctx):
            ctx.option("nope")
            return MetricResult()

    class P:
        @hookimpl
        def analyzer_register_metrics(self, register):
            register(Reader())

    ps = analyzer.load_plugins(extra=[P()], entry_points=False)
    with pytest.raises(KeyError, match="metric 'reader' declares no option 'nope'"):
        analyzer.analyze(_graph(), plugins=ps)


@pytest.mark.parametrize(("text", "pair"), [("traffic.naive_traffic=true", ("traffic.naive_traffic", "true")),
                                            (" a.b = 1 ", ("a.b", "1")), ("a.b=", ("a.b", ""))])  # fmt: skip
def test_parse_assignment(text, pair):
    assert parse_assignment(text) == pair


@pytest.mark.parametrize("text", ["traffic", "naive_traffic=true", ".x=1", "a.=1"])
def test_parse_assignment_refuses(text):
    with pytest.raises(UsageError, match="--option: expected METRIC.KEY=VALUE"):
        parse_assignment(text)


def test_option_type_must_be_simple():
    with pytest.raises(ValueError, match="type must be bool, int, float or str"):
        Option("x", list, [], "no")


def test_blocking_the_traffic_metric_leaves_completeness_working():
    """Completeness asks for the traffic metric's option; with the metric blocked there is none."""
    from tests.core.test_completeness import whole_model_opaque

    ps = analyzer.load_plugins(block=["metrics.traffic", "hardware.cpu", "hardware.gpu", "hardware.mcu"], entry_points=False)
    r = analyzer.analyze(whole_model_opaque(), plugins=ps)
    assert not r.complete and "memory_bytes" not in r.totals
