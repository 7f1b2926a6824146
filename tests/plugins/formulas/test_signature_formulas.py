"""Every built-in formula declares itself a function of the node's signature (core/formulas.py),
so the compute metric evaluates it once per distinct signature, not once per node."""

from __future__ import annotations

from analyzer.core.formulas import TABLES, is_signature_formula, signature_formula
from analyzer.core.plugins import default_plugins


def test_every_builtin_formula_is_a_signature_formula() -> None:
    f = default_plugins().formulas
    unmarked = [(t, op) for t in TABLES for op in sorted(f.ops(t)) if not is_signature_formula(f.get(t, op))]
    assert unmarked == []


def test_marking() -> None:
    def plain(v) -> int:
        return 1

    assert not is_signature_formula(plain)
    assert is_signature_formula(None)  # nothing to evaluate
    assert signature_formula(plain) is plain and is_signature_formula(plain)
