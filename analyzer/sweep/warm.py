"""Imported by the local pool's fork server before it forks workers (executors.preload_modules).

Imported last, it loads the default plugin set and every device of the hardware DB, and
analyses one tiny framework-free graph on one device of each class, so that what an analysis
imports or builds on first use (the plugins, the device specs, modules the hardware models
import lazily, such as numpy for the CPU kernel model) is there once in the server, not once
in each worker on its first task (0.17 s of CPU each, against 10 ms for a later task of a
small model).
Nothing here may stop the server: a failure only leaves the workers to do it themselves.
"""

from __future__ import annotations

import contextlib
import gc


def warm() -> None:
    from analyzer.core.builder import GraphBuilder
    from analyzer.core.engine import analyze_graph
    from analyzer.core.plugins import default_plugins

    ps = default_plugins()
    said = list(ps.devices.warnings)
    specs = ps.devices.all()
    ps.devices.warnings[:] = said  # what loading devices the plan does not name would say stays unsaid
    one_per_class = {s.device_class: s.name for s in specs}
    b = GraphBuilder("warm")
    x = b.input("input", (1, 3, 8, 8))
    x = b.relu(b.conv(x, 4, 3, padding=1, name="conv"), name="relu")
    x = b.linear(b.flatten(b.global_avg_pool(x, name="pool"), name="flatten"), 2, name="fc")
    analyze_graph(b.build(x), devices=list(one_per_class.values()), plugins=ps)


with contextlib.suppress(Exception):  # a warm-up is an optimisation, never an error
    warm()
# Imported last: what the server holds now is shared by every worker. Out of the collector's
# sight, a worker's collections neither walk it nor write to its pages (copy on write).
gc.freeze()
