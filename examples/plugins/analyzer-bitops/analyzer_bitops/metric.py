"""``bitops``: bit operations, MACs x weight bits x activation bits, per layer and in total.

Mixed-precision papers (e.g. Baskin et al., "UNIQ", 2021; van Baalen et al.,
"Bayesian Bits", NeurIPS 2020) compare models by BOPs: a MAC between a b_w-bit
weight and a b_a-bit activation costs b_w x b_a bit operations.
"""

from __future__ import annotations

from analyzer import Metric, MetricResult, Option, Quantity


class BitOps(Metric):
    name = "bitops"
    requires = ("compute",)  # reads the built-in compute metric's MACs
    quantities = (
        Quantity(
            "bitops", "bit op", "MACs x weight bits x activation bits (Baskin et al. 2021)",
            label="BOPs", display="column", format="count", group="compute",
        ),  # fmt: skip
    )
    options = (
        Option("weight_bits", int, 8, "bits of every weight"),
        Option("activation_bits", int, 8, "bits of every activation"),
    )

    def compute(self, ctx):
        per_mac = ctx.option("weight_bits") * ctx.option("activation_bits")
        macs = ctx.result("compute")
        layers = {name: {"bitops": values.get("macs", 0) * per_mac} for name, values in macs.layers.items()}
        return MetricResult(layers=layers, totals={"bitops": macs.totals["macs"] * per_mac})
