"""The op vocabulary's accessors: category and rank of an op, ops of a category."""

from __future__ import annotations

import pytest

from analyzer.core.ops import (
    BUILTIN_OPS,
    CATEGORY_RANK,
    UNKNOWN_RANK,
    Category,
    OpDef,
    OpVocabulary,
    builtin_vocabulary,
)


def test_category_rank_and_names_follow_the_definitions() -> None:
    v = OpVocabulary()
    for d in BUILTIN_OPS:
        assert v.category(d.name) is d.category
        assert v.rank(d.name) == CATEGORY_RANK[d.category]
        assert d.name in v.names(d.category)
    assert v.category("no_such_op") is None
    assert v.rank("no_such_op") == UNKNOWN_RANK == CATEGORY_RANK[Category.OTHER]
    acts = {d.name for d in BUILTIN_OPS if d.category is Category.ACTIVATION}
    assert v.names(Category.ACTIVATION) == acts and "relu" in acts and "add" not in acts


def test_a_plugin_op_joins_every_accessor() -> None:
    v = OpVocabulary()
    before = v.names(Category.ACTIVATION)  # cached, then invalidated by add
    v.add(OpDef("my_act", Category.ACTIVATION, "a new activation"))
    assert v.category("my_act") is Category.ACTIVATION
    assert v.names(Category.ACTIVATION) == before | {"my_act"}
    assert v.categories["my_act"] is Category.ACTIVATION
    assert v.ranks["my_act"] == CATEGORY_RANK[Category.ACTIVATION]
    with pytest.raises(TypeError):
        v.categories["x"] = Category.OTHER  # type: ignore[index]


def test_bad_definitions_refused() -> None:
    v = OpVocabulary()
    with pytest.raises(ValueError, match="'relu' is already in the vocabulary"):
        v.add(OpDef("relu", Category.ACTIVATION, "again"))
    with pytest.raises(ValueError, match="not an ops.Category"):
        v.add(OpDef("my_op", "contraction", "a string, not a Category"))  # type: ignore[arg-type]


def test_shared_builtin_vocabulary_is_read_only() -> None:
    with pytest.raises(ValueError, match="read-only"):
        builtin_vocabulary().add(OpDef("my_op", Category.OTHER, ""))
    assert "my_op" not in builtin_vocabulary()


def test_activation_lists_follow_the_vocabulary() -> None:
    """Builder, shape checks, strict rules and the JAX one-operand ops know every activation op
    from its category (docs/plugins.md, "Adding a built-in activation")."""
    from analyzer.core import builder, op_rules, shape_checks

    acts = builtin_vocabulary().names(Category.ACTIVATION)
    assert set(builder._ACTIVATIONS) == acts
    assert acts <= shape_checks._SAME_SHAPE_OPS
    assert all(op_rules.RULES[a] in (op_rules.same_shape, op_rules.gelu) for a in acts)
    primitives = pytest.importorskip("analyzer.plugins.frontends.jax.primitives")
    assert acts <= primitives.UNARY_OPS
