"""The one registry type: explicit module lists, no silently skipped modules, clear errors."""

from __future__ import annotations

import pytest

from microexpr.errors import ConfigError, ModelError
from microexpr.inputs import REGISTRY as INPUTS
from microexpr.methods.registry import METHODS
from microexpr.models.registry import MODELS
from microexpr.registry import Registry


def test_a_module_that_fails_to_import_is_an_error_not_a_missing_entry():
    reg: Registry[int] = Registry("widget", modules=("microexpr.no_such_module",))
    with pytest.raises(ImportError, match="microexpr.no_such_module, which registers widgets, cannot be imported"):
        reg.names()


def test_names_are_unique_and_unknown_names_list_the_known_ones():
    reg: Registry[int] = Registry("widget", error=ModelError)
    reg.add("a", 1)
    reg.register("b")(2)
    with pytest.raises(ModelError, match="widget 'a' registered twice"):
        reg.add("a", 3)
    with pytest.raises(ModelError, match=r"unknown widget 'c'; available: a, b"):
        reg["c"]
    assert dict(reg) == {"a": 1, "b": 2} and "a" in reg and len(reg) == 2


def test_the_package_registries_use_it_and_list_only_real_modules():
    assert {"ststnet", "laenet", "resnet10", "atnet"} <= set(MODELS)
    assert {"ststnet", "laenet", "off_apexnet", "micro_attention", "atnet", "lbptop_svm", "majority"} <= set(METHODS)
    import importlib.util

    # no module that does not exist (the methods registry once listed a tlcnn module that was never written)
    assert all(importlib.util.find_spec(m) is not None for m in MODELS.modules + METHODS.modules)
    assert {"microexpr.models.ststnet", "microexpr.models.resnet10"} <= set(MODELS.modules)  # found, not listed
    assert {"flow_image", "apex_crop", "tim_clip", "adm"} <= set(INPUTS)
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        METHODS["nope"]


def test_every_module_of_a_package_is_imported_and_a_broken_one_is_an_error(tmp_path, monkeypatch):
    pkg = tmp_path / "toypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text("from toyreg import REG\nREG.add('good', 1)\n")
    (tmp_path / "toyreg.py").write_text("from microexpr.registry import Registry\nREG = Registry('widget', package='toypkg')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import toyreg

    assert toyreg.REG.names() == ["good"]  # discovered: no list to edit
    (pkg / "broken.py").write_text("import no_such_dependency_xyz\n")
    fresh = Registry("widget", package="toypkg")
    with pytest.raises(ImportError, match="toypkg.broken, which registers widgets, cannot be imported"):
        fresh.names()
