"""SPEC strings: file.py:NAME, package.module:NAME, saved files, mappings, factories, errors."""

from __future__ import annotations

import textwrap

import pytest

import analyzer
from analyzer.core.errors import AnalysisError, UsageError
from analyzer.core.spec import resolve_spec

MODELS_PY = textwrap.dedent(
    """
    from analyzer import zoo
    from helper_module import WIDTH   # a sibling import must work

    graph = zoo.tiny_cnn()
    mapping = {"model": zoo.tiny_cnn(), "name": "kws", "framework": "ir"}
    bad_mapping = {"model": 1, "shape": (1,)}
    not_a_model = 3

    def factory():
        return zoo.alexnet()

    def mapping_factory():
        return {"model": zoo.tiny_cnn(batch=WIDTH)}

    def needs_args(x):
        return x

    def explodes():
        raise ValueError("no luck\\nmore")

    class Holder:
        inner = zoo.tiny_cnn()
    """
)


@pytest.fixture
def models(tmp_path):
    (tmp_path / "helper_module.py").write_text("WIDTH = 2\n")
    path = tmp_path / "models.py"
    path.write_text(MODELS_PY)
    return path


def test_file_attribute(models, plugins):
    spec = resolve_spec(f"{models}:graph", plugins)
    assert isinstance(spec.model, analyzer.Graph)


def test_mapping_and_factories(models, plugins):
    m = resolve_spec(f"{models}:mapping", plugins)
    assert (m.name, m.framework) == ("kws", "ir")
    assert resolve_spec(f"{models}:factory", plugins).model.name == "alexnet"
    assert resolve_spec(f"{models}:mapping_factory", plugins).model.inputs  # sibling import worked
    assert resolve_spec(f"{models}:Holder.inner", plugins).model.name == "tiny_cnn"


def test_module_reference(plugins):
    spec = resolve_spec("analyzer.zoo:mobilenet_v2", plugins)
    assert spec.model.name == "mobilenet_v2"


def test_saved_file(tmp_path, plugins):
    path = tmp_path / "g.json"
    analyzer.save_graph(analyzer.zoo.tiny_cnn(), path)
    assert resolve_spec(str(path), plugins).model == path


@pytest.mark.parametrize(
    ("suffix", "error", "message"),
    [
        (":not_a_model", AnalysisError, "is not a model: no frontend accepts a builtins.int"),
        (":missing", AnalysisError, "has no attribute 'missing'"),
        (":bad_mapping", UsageError, "unknown key 'shape'"),
        (":explodes", AnalysisError, "calling it failed: ValueError: no luck$"),
    ],
)
def test_bad_attributes(models, plugins, suffix, error, message):
    with pytest.raises(error, match=message):
        resolve_spec(f"{models}{suffix}", plugins)


def test_function_with_arguments_is_refused_unless_a_framework_is_named(models, plugins):
    with pytest.raises(AnalysisError, match=r"needs_args is a function that needs arguments \(x\);.*factory"):
        resolve_spec(f"{models}:needs_args", plugins)
    spec = resolve_spec(f"{models}:needs_args", plugins, framework="jax")  # a functional model
    assert callable(spec.model)


def test_bad_spec_strings(tmp_path, plugins):
    with pytest.raises(UsageError, match="bad SPEC 'justaname'"):
        resolve_spec("justaname", plugins)
    with pytest.raises(AnalysisError, match="no such file"):
        resolve_spec(str(tmp_path / "missing.json"), plugins)
    with pytest.raises(AnalysisError, match="no such file"):
        resolve_spec(f"{tmp_path}/missing.py:model", plugins)
    with pytest.raises(AnalysisError, match="no module named 'not_a_package_xyz'"):
        resolve_spec("not_a_package_xyz.models:net", plugins)


def test_import_error_in_file_is_one_line(tmp_path, plugins):
    path = tmp_path / "broken.py"
    path.write_text("import not_a_real_module_abc\n")
    with pytest.raises(AnalysisError, match="importing it failed: ModuleNotFoundError"):
        resolve_spec(f"{path}:x", plugins)
