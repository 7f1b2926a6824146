"""Sweep files: validation errors name the key; grids and lists expand as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.core.errors import UsageError
from analyzer.sweep.plan import Precision, load_plan, plan_from_mapping

BASE = {"model": {"factory": "families.py:tiny_cnn"}}


def test_grid_is_the_cartesian_product_in_file_order() -> None:
    plan = plan_from_mapping({**BASE, "grid": {"width": [4, 8], "resolution": [16, 32, 64]}})
    assert [dict(t.params) for t in plan.tasks()] == [
        {"width": w, "resolution": r} for w in (4, 8) for r in (16, 32, 64)
    ]
    assert {t.batch for t in plan.tasks()} == {None}  # no 'batch' key: the factory's own batch


def test_configs_batches_and_precisions() -> None:
    plan = plan_from_mapping({**BASE, "configs": [{"width": 4}, {"width": 8, "resolution": 8}], "batch": [1, 4],
                              "weight_bits": [8, "native"], "activation_bits": 8})  # fmt: skip
    assert [(dict(t.params), t.batch) for t in plan.tasks()] == [
        ({"width": 4}, 1), ({"width": 4}, 4), ({"width": 8, "resolution": 8}, 1), ({"width": 8, "resolution": 8}, 4)
    ]  # fmt: skip
    assert plan.precisions == (Precision(8, 8), Precision(None, 8))
    assert len({t.config_id for t in plan.tasks()}) == 4


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"model": {"factory": "x.py:f"}, "grid": {"width": 4}}, "sweep: grid.width: expected a non-empty list"),
        ({"model": {"factory": "x.py:f"}, "devices": "stm32f746"}, "sweep: devices: expected a list"),
        ({"model": {"factory": "x.py"}}, "sweep: model.factory: expected 'file.py:NAME'"),
        ({"model": {}}, "sweep: model: give exactly one of 'factory' and 'specs'"),
        ({"grid": {}}, "sweep: model: missing"),
        ({"model": {"factory": "x.py:f"}, "batchs": [1]}, "sweep: batchs: unknown key"),
        ({"model": {"factory": "x.py:f", "fatory": 1}}, "sweep: model.fatory: unknown key"),
        ({"model": {"factory": "x.py:f"}, "batch": [0]}, "sweep: batch: expected positive integers"),
        ({"model": {"factory": "x.py:f"}, "weight_bits": ["int8"]}, "sweep: weight_bits: expected positive integers or 'native'"),
        ({"model": {"factory": "x.py:f"}, "options": {"bais": True}}, "sweep: options: unknown option 'bais'"),
        ({"model": {"factory": "x.py:f"}, "options": {"weight_bits": 8}}, "sweep: options.weight_bits: give bit widths"),
        ({"model": {"factory": "x.py:f"}, "grid": {"device": ["a"]}}, "sweep: grid.device: is the name of a result column"),
        ({"model": {"factory": "x.py:f"}, "pareto": ["latency_s:min"]}, "sweep: pareto: expected at least two"),
        ({"model": {"factory": "x.py:f"}, "pareto": ["latency_s:min", "macs:most"]}, "objective 'macs:most' must be"),
        ({"model": {"specs": ["a.py:m"]}, "grid": {"width": [1]}}, "sweep: grid: parameters need a model.factory"),
        ({"model": {"factory": "x.py:f"}, "top": 0}, "sweep: top: expected a positive integer"),
    ],
)
def test_bad_sweeps_are_one_line_usage_errors(doc: dict, message: str) -> None:
    with pytest.raises(UsageError) as e:
        plan_from_mapping(doc)
    assert str(e.value).startswith(message) or message in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_sweep_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such sweep file"):
        load_plan(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("devices = [")
    with pytest.raises(UsageError, match=r"bad.toml: not valid TOML"):
        load_plan(bad)
    good = tmp_path / "good.toml"
    good.write_text('[model]\nfactory = "families.py:tiny_cnn"\n')
    assert load_plan(good).base_dir == tmp_path.resolve()
