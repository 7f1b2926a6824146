"""Shared machinery of the formula tests: one op per graph, checked at node level.

Each ``Case`` builds a tiny graph whose op under test is the only node of
layer ``"t"`` and states the hand-computed counts for it. ``covered`` says
which formula tables (macs, dots, bias, flops) a case checks, derived from
what it asserts, so the coverage test can demand a case for every formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import analyzer
from analyzer import GraphBuilder
from analyzer.core.graph import Graph

TARGET = "t"


@dataclass
class Case:
    """``expected`` keys: macs, mac_flops, other_flops, flops, int_ops, mac_int_ops,
    ops (layer values) and ``exact_mac_flops`` (mac_flops with exact_flops=True)."""

    id: str
    op: str
    build: Callable[[], Graph]
    expected: dict[str, int]
    options: dict[str, Any] = field(default_factory=dict)

    def covered(self) -> set[tuple[str, str]]:
        e = self.expected
        out = set()
        if "macs" in e:
            out.add(("macs", self.op))
        if "exact_mac_flops" in e:
            out.add(("dots", self.op))
        # a bias formula is checked when mac_flops is asserted and differs from 2 x MACs
        if "macs" in e and "mac_flops" in e and e["mac_flops"] != 2 * e["macs"]:
            out.add(("bias", self.op))
        if "other_flops" in e:
            out.add(("flops", self.op))
        return out

    def __repr__(self) -> str:
        return self.id


def one_op(
    op: str,
    in_shapes: Sequence[tuple[int, ...]],
    out_shape: tuple[int, ...],
    attrs: dict[str, Any] | None = None,
    params: Sequence[tuple[str, tuple[int, ...], str]] = (),
    dtype: str = "float32",
    out_dtype: str | None = None,
) -> Callable[[], Graph]:
    """A graph: inputs ``x0, x1...`` -> one ``op`` node (layer ``t``) with ``params`` (name, shape, role)."""

    def build() -> Graph:
        b = GraphBuilder("case", dtype=dtype)
        ins = [b.input(f"x{i}", s) for i, s in enumerate(in_shapes)]
        ins += [b.param(name, shape, role=role) for name, shape, role in params]
        b.op(op, ins, out_shape, attrs or {}, name=TARGET, dtype=out_dtype)
        return b.build()

    return build


def check(case: Case) -> None:
    graph = case.build()
    report = analyzer.analyze(graph, **case.options)
    assert report.unsupported == [], report.unsupported
    row = report.layer(TARGET)
    assert row.op == case.op
    for key, value in case.expected.items():
        if key == "exact_mac_flops":
            exact = analyzer.analyze(case.build(), exact_flops=True, **case.options).layer(TARGET)
            assert exact["mac_flops"] == value, f"exact mac_flops: {exact['mac_flops']} != {value}"
        else:
            assert row[key] == value, f"{key}: {row[key]} != {value}"
    # flops always splits into its two parts
    if row["int_ops"] == 0:
        assert row["flops"] == row["mac_flops"] + row["other_flops"]
    assert row["ops"] == row["flops"] + row["int_ops"]
