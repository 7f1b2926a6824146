"""Quantity: display metadata defaults and validation (docs/plugins.md, "Showing a quantity")."""

from __future__ import annotations

import pytest

import analyzer
from analyzer import zoo
from analyzer.core.metric import DISPLAYS, FORMATS, Quantity


def test_a_third_party_quantity_gets_defaults():
    q = Quantity("conv_layers", "layer", "layers whose principal op is a convolution")
    assert (q.label, q.display, q.format, q.group, q.digits) == ("conv_layers", "column", "count", "", 4)
    assert Quantity("x", "byte", "c", per_layer=False).display == "total"
    assert Quantity("x", "byte", "c").format == "bytes"
    assert q.describe("conv_count")["group"] == "conv_count"  # the metric's name stands in for a group


@pytest.mark.parametrize(("field", "value"), [("display", "sometimes"), ("format", "roman")])
def test_unknown_display_or_format_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        Quantity("x", "byte", "c", **{field: value})


def test_every_builtin_quantity_has_display_metadata():
    r = analyzer.analyze(zoo.tiny_cnn())
    for name, info in r.quantities.items():
        assert info["display"] in DISPLAYS and info["format"] in FORMATS, name
        assert info["label"] and info["group"], name
    labels = [info["label"] for info in r.quantities.values()]
    assert len(set(labels)) == len(labels)  # headers tell quantities apart


def test_quantities_are_listed_in_plugin_registration_order():
    """Built-ins first (BUILTIN_PLUGINS order, each metric's declaration order), then plugins':
    the order of table columns and totals, whatever order the metrics run in."""
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.metric import Metric, MetricResult

    class Late(Metric):
        name = "late"
        requires = ("compute",)
        quantities = (Quantity("late_b", "x", "declared first"), Quantity("late_a", "x", "declared second"))

        def compute(self, ctx):
            return MetricResult()

    class Early(Metric):
        name = "early"
        quantities = (Quantity("early_q", "x", "registered second by the same plugin"),)

        def compute(self, ctx):
            return MetricResult()

    class P:
        @hookimpl
        def analyzer_register_metrics(self, register):
            register(Late())
            register(Early())

    r = analyzer.analyze(zoo.tiny_cnn(), plugins=analyzer.load_plugins(extra=[P()], entry_points=False))
    names = list(r.quantities)
    assert names[:3] == ["params", "non_trainable_params", "buffers"]
    assert names[-3:] == ["late_b", "late_a", "early_q"]
    assert names.index("macs") < names.index("activations") < names.index("memory_bytes") < names.index("training_memory_bytes")
