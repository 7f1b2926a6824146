"""analyze(): frontend selection, options, strictness, devices, error types."""

from __future__ import annotations

import pytest

import analyzer
from analyzer import GraphBuilder, zoo
from analyzer.core.errors import AnalysisError, UnsupportedOpsError, UsageError


def test_analyze_a_graph_and_a_saved_graph(tmp_path):
    path = tmp_path / "g.json"
    analyzer.save_graph(zoo.tiny_cnn(), path)
    a = analyzer.analyze(zoo.tiny_cnn())
    b = analyzer.analyze(path)
    c = analyzer.analyze(str(path))
    assert a.totals == b.totals == c.totals


def test_unknown_option_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown option 'biass'"):
        analyzer.analyze(zoo.tiny_cnn(), biass=False)


def test_bad_option_value():
    with pytest.raises(UsageError, match="weight_bits must be a positive integer"):
        analyzer.analyze(zoo.tiny_cnn(), weight_bits=0)


def test_unknown_framework_and_unaccepted_object():
    with pytest.raises(UsageError, match="unknown framework 'caffe'"):
        analyzer.analyze(zoo.tiny_cnn(), framework="caffe")
    with pytest.raises(AnalysisError, match="no frontend accepts an object of type builtins.int"):
        analyzer.analyze(42)


def test_missing_file_and_unreadable_suffix(tmp_path):
    with pytest.raises(AnalysisError, match="no such file"):
        analyzer.analyze(tmp_path / "nope.json")
    odd = tmp_path / "model.xyz"
    odd.write_text("x")
    with pytest.raises(AnalysisError, match=r"no frontend reads \.xyz files"):
        analyzer.analyze(odd)


def test_invalid_graph_is_an_analysis_error():
    b = GraphBuilder()
    x = b.input("x", (1, 4))
    b.op("relu", [x], (1, 5), name="bad")  # unary op changing shape
    g = b.build(validate=False)
    with pytest.raises(AnalysisError, match="invalid graph: .*relu"):
        analyzer.analyze(g)


def _graph_with_unknown_op():
    b = GraphBuilder("odd")
    x = b.input("x", (1, 8))
    y = b.op("unknown", [x], (1, 8), name="mystery", source_op="aten::frobnicate")
    b.linear(y, 4, name="fc")
    return b.build()


def test_unsupported_ops_reported_and_strict_fails():
    r = analyzer.analyze(_graph_with_unknown_op())
    assert r.unsupported == [{"op": "unknown", "source_op": "aten::frobnicate", "count": 1}]
    nodes = {"nodes": 2, "supported_nodes": 1, "unsupported_nodes": 1, "unsupported_share": 0.5}
    assert nodes.items() <= r.coverage.items()  # plus the shares in what it hides (test_completeness.py)
    assert any("aten::frobnicate" in w for w in r.warnings)
    assert r.totals["macs"] == 32
    with pytest.raises(UnsupportedOpsError, match="aten::frobnicate x1"):
        analyzer.analyze(_graph_with_unknown_op(), strict=True)


def test_unknown_device_is_a_usage_error_before_any_work():
    with pytest.raises(UsageError, match="unknown device 'abacus'"):
        analyzer.analyze(zoo.tiny_cnn(), devices=["abacus"])


def test_frontend_crash_becomes_one_line_analysis_error():
    from analyzer.core.frontend import Frontend
    from analyzer.core.hookspecs import hookimpl

    class Boom(Frontend):
        name = "boom"

        def accepts(self, obj):
            return obj == "boom-model"

        def to_graph(self, model, inputs=None, *, params=None, **options):
            raise RuntimeError("kaboom\nsecond line")

    class Plugin:
        @hookimpl
        def analyzer_register_frontends(self, register):
            register(Boom())

    ps = analyzer.load_plugins(extra=[Plugin()])
    with pytest.raises(AnalysisError) as e:
        analyzer.analyze("boom-model", framework="boom", plugins=ps)
    assert str(e.value) == "boom frontend could not convert the model: RuntimeError: kaboom"


def _file_frontend_plugins(build):
    """Plugins with a frontend reading ``*.fake`` files into ``build()``'s graph."""
    from analyzer.core.frontend import Frontend
    from analyzer.core.hookspecs import hookimpl

    class FileFrontend(Frontend):
        name = "fake"
        file_suffixes = (".fake",)

        def accepts(self, obj):
            return obj == "loaded"

        def load_file(self, path):
            return "loaded"

        def to_graph(self, model, inputs=None, *, params=None, **options):
            return build()

    class Plugin:
        @hookimpl
        def analyzer_register_frontends(self, register):
            register(FileFrontend())

    return analyzer.load_plugins(extra=[Plugin()])


def _linear_declaring(weight_shape):
    """Linear(4, 2) whose weight declares ``weight_shape``: only the strict op rules see it."""
    import dataclasses

    b = GraphBuilder("fc")
    b.linear(b.input("x", (1, 4)), 2, name="fc")
    g = b.build()
    g.params["fc.weight"] = dataclasses.replace(g.params["fc.weight"], shape=weight_shape)
    return g


def test_graphs_read_from_files_are_validated_strictly(tmp_path):
    path = tmp_path / "model.fake"
    path.write_text("x")
    ps = _file_frontend_plugins(lambda: _linear_declaring((200_000, 400_000)))
    with pytest.raises(AnalysisError) as e:
        analyzer.analyze(path, plugins=ps)
    msg = str(e.value)
    assert msg.startswith(f"{path}: invalid graph: node 'fc' (linear)") and "\n" not in msg, msg
    # the same graph given as an object is the caller's own: checked as before, not strictly
    assert analyzer.analyze(_linear_declaring((200_000, 400_000))).totals["params"] == 8 * 10**10 + 2
    consistent = _file_frontend_plugins(lambda: _linear_declaring((2, 4)))
    assert analyzer.analyze(path, plugins=consistent).totals["params"] == 4 * 2 + 2


def test_a_frontend_crash_on_a_file_names_the_file(tmp_path):
    path = tmp_path / "model.fake"
    path.write_text("x")

    def crash():
        raise RuntimeError("kaboom\nsecond line")

    with pytest.raises(AnalysisError) as e:
        analyzer.analyze(path, plugins=_file_frontend_plugins(crash))
    assert str(e.value) == f"{path}: fake frontend could not convert it: RuntimeError: kaboom"


def test_name_override_and_options_recorded():
    r = analyzer.analyze(zoo.tiny_cnn(), name="kws", bias=False, exact_flops=True)
    assert r.model["name"] == "kws"
    assert r.options["bias"] is False and r.options["exact_flops"] is True


def test_compare_reports_side_by_side():
    a = analyzer.analyze(zoo.alexnet())
    c = analyzer.compare([a, zoo.alexnet(), zoo.tiny_cnn()], labels=["a", "b", "c"])
    rows = {r["quantity"]: r for r in c.totals()}
    assert rows["macs"]["values"][:2] == [724_406_816, 724_406_816]
    assert rows["macs"]["equal"] is False
    assert c.to_dict()["schema"] == "analyzer.comparison/1"
