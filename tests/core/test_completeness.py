"""No silent number (docs/completeness.md): what the analyzer could not count is reported with the
share of the model it hides, every affected number is marked incomplete, and --strict fails."""

from __future__ import annotations

import csv
import io
import json
from importlib import resources

import jsonschema
import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.cli import main
from analyzer.core.errors import UnsupportedOpsError
from analyzer.core.graph import Graph
from analyzer.core.hookspecs import hookimpl
from analyzer.core.metric import Metric, MetricContext, MetricResult, Quantity
from analyzer.core.ops import Category, OpDef
from analyzer.plugins.reporters.csv import CsvReporter
from analyzer.plugins.reporters.markdown import MarkdownReporter
from analyzer.plugins.reporters.table import TableReporter


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(
        resources.files("analyzer").joinpath("schemas/report.schema.json").read_text()
    )


def whole_model_opaque() -> Graph:
    """One opaque node holding every weight (a Keras model the frontend could not enter), then a view."""
    b = GraphBuilder("opaque")
    x = b.input("x", (1, 16))
    w = b.param("block.kernel", (16, 32))
    bias = b.param("block.bias", (32,), role="bias")
    y = b.op("unknown", [x, w, bias], (1, 32), name="block", source_op="GPT2Backbone")
    b.reshape(y, (32,), name="flat")
    return b.build()


def chain_with(op: str, source_op: str, plugins=None) -> Graph:
    """fc1 (8->8), one ``op`` on (1, 8), fc2 (8->4)."""
    b = GraphBuilder("chain")
    x = b.linear(b.input("x", (1, 8)), 8, name="fc1")
    x = b.op(op, [x], (1, 8), name="odd", source_op=source_op)
    b.linear(x, 4, name="fc2")
    return b.build()


def incomplete(report) -> dict[str, str]:
    return {q: v["bound"] for q, v in report.to_dict()["completeness"]["quantities"].items()}


def test_an_opaque_node_holding_every_weight_is_the_whole_model() -> None:
    r = analyzer.analyze(whole_model_opaque())
    c = r.to_dict()["completeness"]
    # it reads all 16*32 + 32 parameters and is the only op that moves data (the reshape is a view)
    assert c["param_share"] == 1.0 and c["activation_share"] == 1.0 and c["share"] == 1.0
    assert c["complete"] is False and not r.complete
    (gap,) = c["uncounted"]
    assert gap == {
        "node": "block", "op": "unknown", "source_op": "GPT2Backbone", "layer": "block", "kind": "opaque",
        "reason": "opaque to the frontend", "hides": ["compute", "internals"], "bound": "lower",
        "params": 16 * 32 + 32, "input_elements": 16, "output_elements": 32, "share": 1.0,
    }  # fmt: skip
    assert r.coverage["uncounted_share"] == 1.0 and r.coverage["uncounted_params"] == 544
    # the weights are operands: params stay exact; what the node computes does not
    assert r.totals["params"] == 544 and r.quantities["params"]["complete"] is True
    marks = incomplete(r)
    for q in ("macs", "flops", "other_flops", "int_ops", "ops", "total_activations", "peak_activations",
              "memory_bytes"):  # fmt: skip
        assert marks[q] == "lower", q
        assert r.quantities[q]["complete"] is False
    assert "params" not in marks and "model_size_bytes" not in marks
    assert marks["arithmetic_intensity"] == "unknown"  # a ratio of two lower bounds
    assert r.layer("block").incomplete["macs"] == "lower"
    assert r.layer("flat").incomplete == {}


def test_share_of_one_opaque_op_in_a_chain_is_what_it_reads_and_writes() -> None:
    r = analyzer.analyze(chain_with("unknown", "aten::frob"))
    # elements read + written: fc1 8 + 8, odd 8 + 8, fc2 8 + 4; no parameters in the opaque op
    assert r.coverage["uncounted_activation_share"] == pytest.approx(16 / (16 + 16 + 12))
    assert r.coverage["uncounted_param_share"] == 0.0
    assert r.coverage["uncounted_share"] == pytest.approx(16 / 44)
    assert r.coverage["unsupported_share"] == pytest.approx(1 / 3)  # by nodes, kept as it was
    assert r.unsupported == [{"op": "unknown", "source_op": "aten::frob", "count": 1}]


def test_an_unknown_op_without_weights_still_leaves_macs_incomplete() -> None:
    # it could be a matmul of two activations: nothing says it does no MACs
    r = analyzer.analyze(chain_with("unknown", "aten::frob"))
    assert r.totals["macs"] == 8 * 8 + 8 * 4  # fc1 and fc2 only
    marks = incomplete(r)
    assert marks["macs"] == "lower" and marks["flops"] == "lower"
    assert marks["total_activations"] == "lower"  # it may create tensors inside
    assert "params" not in marks
    assert r.layer("fc1").incomplete == {} and r.layer("fc2").incomplete == {}


def test_a_frontend_narrows_what_an_unknown_primitive_hides() -> None:
    g = chain_with("unknown", "tan")
    g.node("odd").meta["uncounted"] = {
        "reason": "primitive without a formula",
        "hides": ["compute"],
    }
    r = analyzer.analyze(g)
    marks = incomplete(r)
    assert marks["macs"] == "lower"
    assert "total_activations" not in marks and "peak_live_activations" not in marks
    assert r.to_dict()["completeness"]["uncounted"][0]["reason"] == "primitive without a formula"


class _NoFormula:
    @hookimpl
    def analyzer_register_ops(self, register):
        register(OpDef("my_act", Category.ELEMENTWISE, "arithmetic without a FLOP formula"))


def test_an_op_without_formula_hides_its_arithmetic_only() -> None:
    ps = analyzer.load_plugins(entry_points=False, extra=[_NoFormula()])
    r = analyzer.analyze(chain_with("my_act", "custom_act"), plugins=ps)
    (gap,) = r.to_dict()["completeness"]["uncounted"]
    assert (gap["kind"], gap["hides"]) == ("no_formula", ["compute"])
    marks = incomplete(r)
    assert (
        marks["flops"] == "lower"
        and "total_activations" not in marks
        and "memory_bytes" not in marks
    )


def value_dependent(tail: bool) -> Graph:
    """relu, a copy whose size depends on values (as nonzero on meta tensors), then fc (unless ``tail``)."""
    b = GraphBuilder("vd")
    x = b.relu(b.input("x", (1, 8)), name="relu")
    y = b.op("copy", [x], (1, 8), name="pick", source_op="aten::nonzero")
    if not tail:
        b.linear(y, 4, name="fc")
    g = b.build()
    g.node("pick").meta["uncounted"] = "value-dependent output size"
    return g


def test_a_value_dependent_size_makes_everything_downstream_inexact() -> None:
    r = analyzer.analyze(value_dependent(tail=False))
    (gap,) = r.to_dict()["completeness"]["uncounted"]
    assert (gap["kind"], gap["hides"], gap["bound"]) == ("flagged", ["shape"], "unknown")
    assert r.unsupported == []  # every op has a formula
    # covered: pick (8 + 8) and fc downstream (8 + 4), of relu 8 + 8 + those; fc's 36 params
    assert r.coverage["uncounted_activation_share"] == pytest.approx(28 / 44)
    assert r.coverage["uncounted_param_share"] == 1.0 and gap["params"] == 36
    marks = incomplete(r)
    assert marks["macs"] == "unknown" and marks["total_activations"] == "unknown"
    assert "params" not in marks
    assert r.layer("relu").incomplete == {}
    assert r.layer("fc").incomplete["macs"] == "unknown"


def test_a_value_dependent_size_with_no_arithmetic_downstream_leaves_macs_complete() -> None:
    r = analyzer.analyze(value_dependent(tail=True))
    marks = incomplete(r)
    assert "macs" not in marks and "flops" not in marks
    assert marks["total_activations"] == "unknown"


def test_the_flag_survives_a_saved_graph(tmp_path) -> None:
    path = tmp_path / "vd.json"
    analyzer.save_graph(value_dependent(tail=False), path)
    assert not analyzer.analyze(analyzer.load_graph(path)).complete


def test_complete_model_is_marked_complete(schema) -> None:
    b = GraphBuilder("ok")
    b.linear(b.input("x", (1, 4)), 2, name="fc")
    r = analyzer.analyze(b.build(), devices=["t4"])
    doc = r.to_dict()
    jsonschema.validate(doc, schema)
    assert doc["completeness"] == {
        "complete": True, "share": 0.0, "param_share": 0.0, "activation_share": 0.0,
        "uncounted_params": 0, "quantities": {}, "uncounted": [],
    }  # fmt: skip
    assert all(q["complete"] for q in doc["quantities"].values())
    assert "incomplete" not in doc["layers"][0] and "incomplete" not in doc["hardware"][0]
    for reporter in (TableReporter(), MarkdownReporter(), CsvReporter()):
        text = reporter.render_report(r)
        assert "≥" not in text and "INCOMPLETE" not in text


def test_energy_from_a_memory_level_without_an_energy_figure_is_a_lower_bound() -> None:
    # the MCU reads its weights from flash, which has no energy per byte (docs/hardware.md)
    b = GraphBuilder("ok")
    b.linear(b.input("x", (1, 4)), 2, name="fc")
    r = analyzer.analyze(b.build(), devices=["stm32f746"])
    assert r.complete and r.device("stm32f746").details["energy"]["complete"] is False
    assert r.to_dict()["hardware"][0]["incomplete"] == {"energy_j": "lower"}
    assert "≥" in TableReporter().render_report(r).split("Hardware")[1]


def test_json_of_an_incomplete_report_validates(schema) -> None:
    r = analyzer.analyze(chain_with("unknown", "aten::frob"), devices=["stm32f746", "t4"])
    doc = json.loads(r.to_json())
    jsonschema.validate(doc, schema)
    (odd,) = [row for row in doc["layers"] if row["name"] == "odd"]
    assert odd["incomplete"]["macs"] == "lower"
    for hw in doc["hardware"]:
        # a lower bound of the work gives a lower bound of latency, an upper bound of throughput
        assert hw["incomplete"]["latency_s"] == "lower"
        assert hw["incomplete"]["throughput_per_s"] == "upper"
    assert [m["incomplete"]["macs"] for m in doc["modules"] if m["path"] == "odd"] == ["lower"]
    broken = json.loads(r.to_json())
    broken["completeness"]["uncounted"][0]["bound"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_a_lower_bound_that_does_not_fit_stays_does_not_fit() -> None:
    b = GraphBuilder("big")
    x = b.op("unknown", [b.input("x", (1, 1024))], (1, 1024), name="odd", source_op="frob")
    b.linear(x, 1024, name="fc")  # 1M fp32 weights: 4 MB, more than the board's flash
    r = analyzer.analyze(b.build(), devices=["stm32f746"])
    assert r.device("stm32f746").fits is False
    assert "fits" not in r.to_dict()["hardware"][0]["incomplete"]
    small = analyzer.analyze(chain_with("unknown", "frob"), devices=["stm32f746"])
    assert small.device("stm32f746").fits is True
    assert small.to_dict()["hardware"][0]["incomplete"]["fits"] == "unknown"


def test_table_and_markdown_mark_incomplete_totals_and_layers() -> None:
    r = analyzer.analyze(whole_model_opaque())
    for reporter in (TableReporter(), MarkdownReporter()):
        text = reporter.render_report(r)
        macs_row = next(line for line in text.splitlines() if line.strip("|│ ").startswith("macs"))
        assert "≥0" in macs_row
        params_row = next(
            line for line in text.splitlines() if line.strip("|│ ").startswith("params")
        )
        assert "≥" not in params_row and "544" in params_row
        block_row = next(
            line for line in text.splitlines() if line.strip("|│ ").startswith("block")
        )
        assert "≥0" in block_row  # the layer's MACs
        assert "GPT2Backbone" in text and "100% of the model is not counted" in text


def test_csv_marks_incomplete_values_and_names_the_part() -> None:
    r = analyzer.analyze(chain_with("unknown", "aten::frob"))
    rows = list(csv.DictReader(io.StringIO(CsvReporter().render_report(r))))
    total = next(row for row in rows if row["name"] == "TOTAL")
    assert total["macs"] == f"≥{8 * 8 + 8 * 4}" and total["params"] == str(72 + 36)
    odd = next(row for row in rows if row["name"] == "odd")
    assert odd["macs"] == "≥0" and odd["params"] == "0"
    fc1 = next(row for row in rows if row["name"] == "fc1")
    assert fc1["macs"] == "64"
    part = next(row for row in rows if row["name"] == "NOT COUNTED")
    assert part["op"] == "aten::frob x1 (opaque to the frontend): 36.4% of the model"  # 16/44
    assert any(row["name"] == "INCOMPLETE" for row in rows)
    depth = list(csv.DictReader(io.StringIO(CsvReporter().render_report(r, depth=1))))
    assert next(row for row in depth if row["path"] == "odd")["macs"] == "≥0"


def test_warning_states_the_share_in_what_it_hides() -> None:
    r = analyzer.analyze(whole_model_opaque())
    (w,) = r.warnings
    assert "GPT2Backbone x1" in w and "100% of the model" in w and "params 100%" in w
    assert "1 of 2 ops" in w and "≥macs" in w


def test_strict_raises_on_a_value_dependent_size_too() -> None:
    with pytest.raises(
        UnsupportedOpsError, match=r"aten::nonzero x1 \(value-dependent output size; 100%\)"
    ):
        analyzer.analyze(value_dependent(tail=False), strict=True)


def test_strict_exits_1_through_the_cli(tmp_path, capsys) -> None:
    opaque, flagged = tmp_path / "opaque.json", tmp_path / "flagged.json"
    analyzer.save_graph(whole_model_opaque(), opaque)
    analyzer.save_graph(value_dependent(tail=False), flagged)
    assert main(["analyze", str(opaque)]) == 0
    assert "≥" in capsys.readouterr().out
    assert main(["analyze", str(opaque), "--strict"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "GPT2Backbone x1" in err and "100% of the model" in err
    assert main(["analyze", str(flagged), "--strict"]) == 1  # no unsupported op, still incomplete
    assert "aten::nonzero" in capsys.readouterr().err


class _Counter(Metric):
    """A plugin metric counting nodes: the analyzer cannot know what it reads."""

    name = "node_count"
    quantities = (Quantity("node_count", "node", "nodes in the layer"),)

    def compute(self, ctx: MetricContext) -> MetricResult:
        layers = {layer.name: {"node_count": len(layer.nodes)} for layer in ctx.layers}
        return MetricResult(layers=layers, totals={"node_count": len(ctx.graph)})


class _Plugin:
    def __init__(self, metric: Metric):
        self.metric = metric

    @hookimpl
    def analyzer_register_metrics(self, register):
        register(self.metric)


def test_plugin_metrics_are_incomplete_unless_they_say_what_they_depend_on() -> None:
    g = chain_with("unknown", "frob")
    ps = analyzer.load_plugins(entry_points=False, extra=[_Plugin(_Counter())])
    assert incomplete(analyzer.analyze(g, plugins=ps))["node_count"] == "lower"
    params_only = _Counter()
    params_only.affected_by = ("params",)  # an opaque op's compute and internals do not change it
    ps = analyzer.load_plugins(entry_points=False, extra=[_Plugin(params_only)])
    assert "node_count" not in incomplete(analyzer.analyze(g, plugins=ps))


def test_comparisons_mark_the_incomplete_model_only() -> None:
    b = GraphBuilder("chain")
    x = b.linear(b.input("x", (1, 8)), 8, name="fc1")
    b.linear(b.relu(x, name="odd"), 4, name="fc2")
    c = analyzer.compare([chain_with("unknown", "frob"), b.build()], labels=["opaque", "relu"])
    for reporter in (TableReporter(), MarkdownReporter()):
        text = reporter.render_comparison(c)
        macs_row = next(line for line in text.splitlines() if line.strip("|│ ").startswith("macs"))
        assert "≥96" in macs_row and "yes?" in macs_row  # 64 + 32 on both sides, one a lower bound
        assert "opaque: INCOMPLETE" in text and "relu: INCOMPLETE" not in text
    rows = list(csv.reader(io.StringIO(CsvReporter().render_comparison(c))))
    assert next(r for r in rows if r[0] == "macs")[:3] == ["macs", "≥96", "96"]
    assert [r[1].split(":")[0] for r in rows if r[0] == "INCOMPLETE"] == ["opaque"]
