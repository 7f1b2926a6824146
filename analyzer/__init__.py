"""analyzer: framework-agnostic efficiency analysis of neural networks.

    >>> import analyzer
    >>> report = analyzer.analyze(model, (1, 3, 224, 224), devices=["stm32f746"])
    >>> report.totals["macs"], report.to_dict()

Nothing here imports an ML framework; frontends import theirs when used.
"""

from analyzer.core.builder import GraphBuilder
from analyzer.core.compare import Comparison, compare
from analyzer.core.engine import analyze, analyze_graph, to_graph
from analyzer.core.errors import AnalysisError, AnalyzerError, UsageError
from analyzer.core.frontend import Frontend
from analyzer.core.graph import Graph, GraphError
from analyzer.core.hardware import DeviceResult, HardwareModel
from analyzer.core.hookspecs import hookimpl
from analyzer.core.ir import Node, Param, Tensor
from analyzer.core.metric import Metric, MetricContext, MetricResult, Option, Quantity, Ratio
from analyzer.core.ops import Category, OpDef
from analyzer.core.plugins import PluginSet, load_plugins
from analyzer.core.report import Report
from analyzer.core.reporter import Reporter
from analyzer.core.serialize import load_graph, save_graph

__version__ = "0.1.0"
__all__ = [
    "AnalysisError", "AnalyzerError", "Category", "Comparison", "DeviceResult", "Frontend", "Graph",
    "GraphBuilder", "GraphError", "HardwareModel", "Metric", "MetricContext", "MetricResult", "Node",
    "OpDef", "Option", "Param", "PluginSet", "Quantity", "Ratio", "Report", "Reporter", "Tensor",
    "UsageError", "analyze", "analyze_graph", "compare", "hookimpl", "load_graph", "load_plugins",
    "save_graph", "to_graph",
]  # fmt: skip
