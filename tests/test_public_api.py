"""What a plugin author imports comes from ``analyzer`` itself, and importing it loads no ML framework."""

from __future__ import annotations

import subprocess
import sys

import analyzer


def test_plugin_contract_types_are_exported() -> None:
    from analyzer.core.frontend import Frontend
    from analyzer.core.hardware import HardwareModel
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.metric import Metric, Option, Quantity
    from analyzer.core.reporter import Reporter

    for name, obj in {"hookimpl": hookimpl, "Metric": Metric, "Quantity": Quantity, "Option": Option,
                      "Frontend": Frontend, "HardwareModel": HardwareModel, "Reporter": Reporter}.items():  # fmt: skip
        assert getattr(analyzer, name) is obj
    assert set(analyzer.__all__) <= set(dir(analyzer))


def test_import_loads_no_framework() -> None:
    code = ("import sys, analyzer; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'jax', 'tensorflow', 'keras', 'onnx', 'networkx', 'matplotlib', 'pandas', 'ray'}))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
