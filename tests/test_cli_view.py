"""The CLI shows what a run computes: --columns, --binary-units, --option and the flags that alias
metric options change the visible table; bad names are one-line usage errors (exit 2)."""

from __future__ import annotations

import json

import pytest

import analyzer
from analyzer import zoo
from analyzer.cli import main

SPEC = "analyzer.zoo:tiny_cnn"


def _run(capsys, *args: str) -> str:
    assert main(["analyze", SPEC, *args]) == 0
    return capsys.readouterr().out


def _total_line(text: str, quantity: str) -> str:
    totals = text.split("Totals", 1)[1]
    return next(line for line in totals.splitlines() if line.strip("│ ").startswith(quantity + " "))


def test_naive_traffic_changes_the_table(capsys):
    fused = analyzer.analyze(zoo.tiny_cnn()).totals["memory_bytes"]
    naive = analyzer.analyze(zoo.tiny_cnn(), naive_traffic=True).totals["memory_bytes"]
    assert fused != naive
    assert f"{fused:,}" in _total_line(_run(capsys), "memory_bytes")
    assert f"{naive:,}" in _total_line(_run(capsys, "--naive-traffic"), "memory_bytes")
    assert f"{naive:,}" in _total_line(_run(capsys, "--option", "traffic.naive_traffic=true"), "memory_bytes")


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_optimizer_and_train_batch_change_every_format(capsys, fmt):
    adam = analyzer.analyze(zoo.tiny_cnn()).totals
    sgd = analyzer.analyze(zoo.tiny_cnn(), optimizer="sgd", train_batch=8).totals
    assert adam["training_memory_bytes"] != sgd["training_memory_bytes"]
    for totals, extra in ((adam, ()), (sgd, ("--optimizer", "sgd", "--train-batch", "8"))):
        text = _run(capsys, "-f", fmt, *extra)
        value = totals["training_memory_bytes"]
        assert (f"{value:,}" if fmt != "csv" else f"{value}") in text
        assert "saved_activation_bytes" in text


def test_columns_choose_the_layer_table(capsys):
    text = _run(capsys, "--columns", "traffic,macs")
    header = text.split("Layers", 1)[1].split("conv1", 1)[0]
    assert "memory" in header and "MACs" in header and "FLOPs" not in header and "params" not in header
    rows = _run(capsys, "-f", "csv", "--columns", "macs,rf").splitlines()
    assert rows[0] == "name,op,scope,macs,output_shapes,receptive_field,receptive_field_jump,max_receptive_field"
    assert rows[-1].startswith("TOTAL,") and rows[-1].endswith(",14")  # the group's model total, in the TOTAL row


def test_device_columns_per_device(capsys):
    text = _run(capsys, "-d", "raspberry-pi-4", "-d", "a100-sxm-80gb", "--columns", "latency_s,bound")
    assert "latency raspberry-pi-4" in text and "bound a100-sxm-80gb" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--columns", "macs,nope"], "--columns: unknown column 'nope'; quantities: params, "),
        (["--option", "traffic.naive=1"], "metric option traffic.naive: metric 'traffic' has no option 'naive'; its options: naive_traffic"),
        (["--option", "trafic.naive_traffic=1"], "no loaded metric 'trafic' declares options; metrics with options: "),
        (["--option", "training_memory.train_batch=x"], "metric option training_memory.train_batch: expected an integer, got 'x'"),
        (["--option", "training_memory.optimizer=rmsprop"], "'rmsprop' is not one of sgd, momentum, adam"),
        (["--option", "traffic"], "--option: expected METRIC.KEY=VALUE, got 'traffic'"),
    ],
)
def test_bad_columns_and_options_exit_2_in_one_line(capsys, args, message):
    assert main(["analyze", SPEC, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_binary_units(capsys):
    assert "KiB" in _total_line(_run(capsys, "--binary-units"), "model_size_bytes")
    assert "kB" in _total_line(_run(capsys), "model_size_bytes")


def test_plugins_lists_metric_options(capsys):
    assert main(["plugins", "--format", "json"]) == 0
    options = json.loads(capsys.readouterr().out)["metric_options"]
    assert [o["name"] for o in options["traffic"]] == ["naive_traffic"]
    optimizer = next(o for o in options["training_memory"] if o["name"] == "optimizer")
    assert optimizer["choices"] == ["sgd", "momentum", "adam"] and optimizer["default"] == "adam"
    assert main(["plugins"]) == 0
    assert "training_memory.optimizer" in capsys.readouterr().out


def test_compare_columns(capsys):
    assert main(["compare", SPEC, "analyzer.zoo:alexnet", "--columns", "memory_bytes"]) == 0
    aligned = capsys.readouterr().out.split("Layers aligned", 1)[1]
    header = aligned.split("conv1", 1)[0]
    assert "memory traffic" in header and "MACs" not in header
    assert main(["compare", SPEC, "analyzer.zoo:alexnet", "--columns", "nope"]) == 2
