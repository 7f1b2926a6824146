"""Frontend op mappings (hook analyzer_register_op_mappings) as the plugin set loads them: one
owner per source op, targets in the vocabulary, frameworks that a loaded frontend has.
(Each built-in frontend's use of them: tests/plugins/frontends/*/test_op_mappings.py.)"""

from __future__ import annotations

import types

import pytest

import analyzer
from analyzer.core.errors import UsageError
from analyzer.core.hookspecs import hookimpl
from analyzer.core.op_mappings import OpMappings


def mapping_plugin(name: str, *mappings: tuple[str, str, object]) -> types.SimpleNamespace:
    def analyzer_register_op_mappings(register):
        for m in mappings:
            register(*m)

    return types.SimpleNamespace(
        __name__=name, analyzer_register_op_mappings=hookimpl(analyzer_register_op_mappings)
    )


def test_mappings_are_kept_per_framework_with_their_plugin() -> None:
    ps = analyzer.load_plugins(
        extra=[mapping_plugin("a", ("jax", "my_prim", "matmul"), ("torch", "mylib::op", "relu"))],
        entry_points=False,
    )
    (m,) = ps.op_mappings.for_framework("jax").values()
    assert (m.source_op, m.target, m.plugin) == ("my_prim", "matmul", "a")
    assert ps.op_mappings.frameworks() == ["jax", "torch"] and len(ps.op_mappings) == 2
    assert ps.op_mappings.for_framework("keras") == {}


def test_the_same_source_op_from_two_plugins_is_refused_naming_both() -> None:
    a = mapping_plugin("plugin_a", ("jax", "my_prim", "matmul"))
    b = mapping_plugin("plugin_b", ("jax", "my_prim", "einsum"))
    with pytest.raises(
        UsageError, match="jax op 'my_prim' is mapped by plugin plugin_a and by plugin plugin_b"
    ):
        analyzer.load_plugins(extra=[a, b], entry_points=False)


def test_a_target_outside_the_vocabulary_is_refused() -> None:
    with pytest.raises(
        UsageError,
        match="plugin a maps jax op 'my_prim' to 'my_gemm', which is not in the op vocabulary",
    ):
        analyzer.load_plugins(
            extra=[mapping_plugin("a", ("jax", "my_prim", "my_gemm"))], entry_points=False
        )


def test_an_unknown_framework_is_refused_unless_its_frontend_is_blocked() -> None:
    with pytest.raises(UsageError, match="framework 'pytorch', which no loaded frontend has"):
        analyzer.load_plugins(
            extra=[mapping_plugin("a", ("pytorch", "op", "relu"))], entry_points=False
        )
    ps = analyzer.load_plugins(
        extra=[mapping_plugin("a", ("torch", "mylib::op", "relu"))],
        block=["frontends.torch"],
        entry_points=False,
    )
    assert "torch" not in ps.frontends
    with pytest.raises(
        UsageError, match="framework 'ir', whose frontend takes no op mappings .*jax"
    ):
        analyzer.load_plugins(extra=[mapping_plugin("a", ("ir", "op", "relu"))], entry_points=False)


def test_bad_registrations_are_one_line_errors() -> None:
    maps = OpMappings()
    with pytest.raises(UsageError, match="needs a framework name"):
        maps.add("", "op", "relu", "p")
    with pytest.raises(UsageError, match="needs a source op name"):
        maps.add("jax", "", "relu", "p")
    with pytest.raises(UsageError, match="must map to a canonical op name or a handler, not 3"):
        maps.add("jax", "op", 3, "p")  # type: ignore[arg-type]
