"""Shared parameter groups: declared once (FeatureSVM's constructor, MacroPretrainParams), accepted
by every recipe under flat config keys, typed and checked like the recipe's own keys; a key that
clashes with the constructor's own is refused (it once overwrote TLCNN's lr ``gamma`` with the SVM's)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from microexpr.errors import ConfigError
from microexpr.features.svm import FeatureSVM
from microexpr.methods.macro_pretraining import MacroPretrainParams
from microexpr.methods.param_groups import ParamGroup, accepts
from microexpr.methods.registry import create_method, method_parameters, typed_params

SVM_RECIPES = ("lbptop_svm", "hoof_svm", "mdmo_svm", "features_svm")


@pytest.mark.parametrize("name", SVM_RECIPES)
def test_svm_recipes_take_feature_svm_options_with_its_defaults(name):
    svm = inspect.signature(FeatureSVM).parameters
    params = method_parameters(name)
    for key, p in svm.items():
        assert params[key].default == p.default, key
    assert "svm" not in params  # the collecting keyword is hidden
    extra = {"features": "x.npz"} if name == "features_svm" else {}
    method = create_method(name, {**extra, "kernel": "linear", "C": 0.5})
    assert method._svm().get_params() == {**FeatureSVM().get_params(), "kernel": "linear", "C": 0.5}
    with pytest.raises(ConfigError, match=r"method\.params\.C.*'abc'"):
        typed_params(name, {"C": "abc"})


@pytest.mark.parametrize("name", ("micro_attention", "resnet10", "atnet"))
def test_pretraining_keys_come_from_one_dataclass(name):
    params = method_parameters(name)
    defaults = {f.name: f.default for f in dataclasses.fields(MacroPretrainParams)}
    assert params["pretrain_epochs"].default == defaults["epochs"]
    assert params["macro_frames"].default == defaults["frames"]
    assert "pretrain" not in params
    m = create_method(name, {"pretrain_epochs": 7, "pretrain_lr": 0.5, "momentum": 0.8})
    assert (m.pretrain_params.epochs, m.pretrain_params.lr, m.pretrain_params.momentum) == (7, 0.5, 0.8)
    assert m.pretrain_epochs == 7  # kept under its config key, where the stage key reads it
    assert typed_params(name, {"pretrain_lr": "1e-3"}) == {"pretrain_lr": 0.001}
    with pytest.raises(ConfigError, match="pretrain_epochs"):
        typed_params(name, {"pretrain_epochs": "30"})
    with pytest.raises(ConfigError, match="pretrain_batch_size must be >= 1"):
        create_method(name, {"pretrain_batch_size": 0})


def test_fine_tuning_keys_are_one_dataclass_with_each_papers_defaults():
    from microexpr.methods.macro_pretraining import StepSGDParams

    ours = {f.name: f.default for f in dataclasses.fields(StepSGDParams)}
    micro, at = method_parameters("micro_attention"), method_parameters("atnet")
    assert {k: micro[k].default for k in ours} == ours  # Micro-Attention: the dataclass's own defaults
    assert {k: at[k].default for k in ("epochs", "lr", "batch_size")} == {"epochs": 50, "lr": 0.01, "batch_size": 16}
    m = create_method("atnet", {"epochs": 3})
    cfg = m.train_config()
    assert (cfg.epochs, cfg.lr, cfg.batch_size, cfg.optimizer, cfg.schedule) == (3, 0.01, 16, "sgd", "step")
    assert m.epochs == 3 and m.lr == 0.01
    with pytest.raises(ConfigError, match="step_size must be >= 1"):
        create_method("atnet", {"step_size": 0})


@dataclasses.dataclass(frozen=True)
class Opt:
    gamma: float = 0.5
    epochs: int = 3


def test_group_keys_join_the_signature_under_their_config_names():
    @accepts(ParamGroup(Opt, rename={"epochs": "opt_epochs", "gamma": "opt_gamma"}), into="opt")
    class M:
        def __init__(self, *, gamma: float = 0.1, opt: dict | None = None) -> None:
            self.gamma = gamma
            self.opt = Opt(**(opt or {}))

    assert list(inspect.signature(M.__init__).parameters) == ["self", "gamma", "opt_gamma", "opt_epochs"]
    m = M(gamma=0.2, opt_epochs=7)
    assert (m.gamma, m.opt) == (0.2, Opt(gamma=0.5, epochs=7))


def test_a_key_clashing_with_the_constructors_own_is_refused():
    with pytest.raises(TypeError, match=r"keys \['gamma'\].*rename them"):
        @accepts(ParamGroup(Opt), into="opt")
        class M:
            def __init__(self, *, gamma: float = 0.1, opt: dict | None = None) -> None:
                pass
