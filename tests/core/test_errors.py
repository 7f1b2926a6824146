"""A framework that is not installed is named with the extra that installs it."""

from __future__ import annotations

import pytest

from analyzer.core.errors import missing_framework


def _missing(name: str) -> ModuleNotFoundError:
    return ModuleNotFoundError(f"No module named '{name}'", name=name)


@pytest.mark.parametrize(
    ("module", "extra"),
    [("torch", "torch"), ("keras", "keras"), ("tensorflow.python", "tensorflow"), ("flax.linen", "jax")],
)
def test_the_extra_is_named(module: str, extra: str) -> None:
    root, hint = missing_framework(_missing(module))
    assert root == module.split(".")[0]
    assert hint.startswith(f"{root} is not installed; install it with: pip install 'analyzer[{extra}]'")


def test_missing_tensorflow_also_names_the_other_keras_backends() -> None:
    _, hint = missing_framework(_missing("tensorflow"))
    assert hint.endswith("(or run Keras on another backend: KERAS_BACKEND=jax or torch)")


def test_found_through_the_cause_chain_and_none_for_other_modules() -> None:
    try:
        try:
            raise _missing("jax")
        except ModuleNotFoundError as e:
            raise RuntimeError("frontend failed") from e
    except RuntimeError as outer:
        assert missing_framework(outer)[0] == "jax"
    assert missing_framework(_missing("numpyx")) is None
    assert missing_framework(None) is None
