"""The report contract: to_dict() validates against the shipped JSON Schema."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

import analyzer
from analyzer import zoo
from analyzer.core.report import SCHEMA, contract


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(resources.files("analyzer").joinpath("schemas/report.schema.json").read_text())


@pytest.mark.parametrize("build", [zoo.alexnet, zoo.mobilenet_v2, zoo.tiny_cnn])
def test_report_validates_against_schema(schema, build):
    doc = json.loads(analyzer.analyze(build()).to_json())
    jsonschema.validate(doc, schema)
    assert doc["schema"] == SCHEMA


def test_schema_rejects_a_broken_report(schema):
    doc = analyzer.analyze(zoo.tiny_cnn()).to_dict()
    del doc["totals"]["macs"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_core_totals_present_even_when_their_metric_is_blocked(schema):
    ps = analyzer.load_plugins(block=["metrics.model_size", "metrics.training"])
    doc = analyzer.analyze(zoo.tiny_cnn(), plugins=ps).to_dict()
    assert doc["totals"]["model_size_bytes"] is None
    assert set(contract()[0]) <= set(doc["totals"])  # the schema's required totals
    jsonschema.validate(doc, schema)


def test_layer_rows_read_as_attributes_and_items():
    r = analyzer.analyze(zoo.alexnet())
    row = r.layer("conv1")
    assert row.macs == row["macs"] == row.get("macs") == 105_415_200
    assert row.get("nope", 7) == 7
    with pytest.raises(AttributeError):
        _ = row.nope
    with pytest.raises(KeyError):
        r.layer("nope")
    d = row.to_dict()
    assert list(d)[:7] == ["name", "op", "scope", "params", "macs", "flops", "output_shapes"]
    assert d["output_shapes"] == [[1, 96, 55, 55]]


def test_every_quantity_has_unit_and_convention():
    r = analyzer.analyze(zoo.tiny_cnn())
    for name, q in r.quantities.items():
        assert q["unit"] and len(q["convention"]) > 10, name
    assert set(r.totals) <= set(r.quantities)


def test_json_round_trips_model_info():
    r = analyzer.analyze(zoo.tiny_cnn(batch=4))
    doc = json.loads(r.to_json())
    assert doc["model"]["inputs"] == [{"name": "input", "shape": [4, 1, 49, 10], "dtype": "float32"}]
    assert doc["model"]["framework"] == "builder"
    assert doc["model"]["capture"] == "ir"


def test_quantity_metadata_is_in_the_schema(schema):
    doc = json.loads(analyzer.analyze(zoo.tiny_cnn(), devices=["raspberry-pi-4"]).to_json())
    jsonschema.validate(doc, schema)
    assert doc["quantities"]["macs"]["label"] == "MACs" and doc["quantities"]["memory_bytes"]["format"] == "bytes"
    assert set(doc["hardware_quantities"]) == {"latency_s", "throughput_per_s", "energy_j", "bound", "fits"}
    doc["quantities"]["macs"]["display"] = "sometimes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_layer_columns_read_what_layer_column_reads_each_time():
    """The reader checks the rows once for all its columns: the engine's rows, then a row's values
    replaced, a row removed, the rows reordered; a slice of rows; a quantity no row has reads None."""
    report = analyzer.analyze_graph(zoo.tiny_cnn())
    keys = [*report.layers[0].values, "nothing"]

    def same() -> None:
        read = report.layer_columns()
        n = len(report.layers)
        for q in keys:
            column = [r.values.get(q) for r in report.layers]
            assert list(read(q)) == report.layer_column(q) == column, q  # a list or an array of the same values
            assert list(map(type, read(q))) == list(map(type, column)), q
            for start, stop in ((0, 3), (2, None), (n - 1, n + 5), (5, 2)):
                assert list(read(q, start, stop)) == column[start:stop], (q, start, stop)

    same()
    report.layers[0].values = {**report.layers[0].values, "macs": 1.0}
    same()
    del report.layers[1]
    same()
    report.layers.reverse()
    same()
