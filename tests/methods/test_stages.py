"""Per-run stages (``RunContext.once``): keyed by everything that determines them, written
atomically, and rebuilt (never reused) when their key differs or their file is unreadable."""

from __future__ import annotations

import logging

import pytest
import torch

from microexpr.methods import RunContext


def _ctx(tmp_path) -> RunContext:
    return RunContext(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", classes=("a", "b"), progress=False)


def _once(ctx: RunContext, key, value: float, built: list):
    def build():
        built.append(value)
        return {"w": torch.full((3,), value)}

    return ctx.once("stage", build, lambda s, p: torch.save(s, p), lambda p: torch.load(p, weights_only=True), key=key)


def test_a_stage_built_under_other_settings_is_rebuilt_never_reused(tmp_path):
    ctx, built = _ctx(tmp_path), []
    assert _once(ctx, {"pretrain_epochs": 60}, 60.0, built)["w"][0] == 60  # a run that crashed after pretraining
    assert _once(ctx, {"pretrain_epochs": 60}, 60.0, built)["w"][0] == 60 and built == [60.0]  # same settings: reused
    assert _once(ctx, {"pretrain_epochs": 5}, 5.0, built)["w"][0] == 5  # rerun with 5: rebuilt
    assert built == [60.0, 5.0]
    assert _once(ctx, {"pretrain_epochs": 5}, 5.0, built)["w"][0] == 5 and built == [60.0, 5.0]
    other_seed = RunContext(**{**ctx.__dict__, "seed": 1})
    _once(other_seed, {"pretrain_epochs": 5}, 1.0, built)
    assert built == [60.0, 5.0, 1.0]  # seeds have their own stages


def test_an_unreadable_stage_is_named_and_rebuilt(tmp_path, caplog):
    ctx, built = _ctx(tmp_path), []
    _once(ctx, {"k": 1}, 1.0, built)
    path = ctx.run_dir / "stages" / "stage-seed0.pt"
    path.write_bytes(path.read_bytes()[:100])  # kill -9 / disk full during an in-place write
    with caplog.at_level(logging.WARNING, logger="microexpr"):
        assert _once(ctx, {"k": 1}, 1.0, built)["w"][0] == 1
    assert built == [1.0, 1.0] and f"stage file {path} is unreadable" in caplog.text
    assert _once(ctx, {"k": 1}, 1.0, built)["w"][0] == 1 and built == [1.0, 1.0]  # the rebuilt file is good


def test_a_failed_write_leaves_no_partial_stage(tmp_path):
    ctx, built = _ctx(tmp_path), []
    _once(ctx, {"k": 1}, 1.0, built)

    def dying_save(state, path):
        path.write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        ctx.once("stage", lambda: {"w": torch.zeros(3)}, dying_save, lambda p: torch.load(p, weights_only=True), key={"k": 2})
    stages = ctx.run_dir / "stages"
    assert sorted(p.name for p in stages.iterdir()) == ["stage-seed0.pt"]  # no temporary file left behind
    assert torch.load(stages / "stage-seed0.pt", weights_only=True)["w"][0] == 1  # the old stage is intact
    assert _once(ctx, {"k": 2}, 2.0, built)["w"][0] == 2  # and key 2 is still built, not the old one reused


@pytest.mark.parametrize("name", ["micro_attention", "resnet10", "atnet", "ststnet", "laenet", "off_apexnet"])
def test_every_constructor_setting_of_a_staged_method_reaches_its_stage_key(name, tmp_path):
    """A per-run stage is keyed by the method's constructor parameters read back as attributes: a
    setting the object does not keep under its own name would be keyed as None, and a rerun with
    another value would reuse the stage (ATNet kept no ``pretrain_*`` attributes before)."""
    import inspect

    from microexpr.methods.base import stage_key
    from microexpr.methods.registry import create_method, method_parameters

    ctx = _ctx(tmp_path)
    method = create_method(name, {})
    params = stage_key(method, ctx)["params"]
    unread = [p for p, spec in method_parameters(name).items()
              if params[p] is None and spec.default is not None and spec.default is not inspect.Parameter.empty]
    assert unread == []
    assert set(params) == set(method_parameters(name))


def test_atnet_rebuilds_its_macro_stage_when_pretraining_settings_change(tmp_path, monkeypatch):
    import pandas as pd

    from microexpr.methods import atnet as atnet_mod
    from microexpr.methods.registry import create_method

    built = []

    def fake_pretrain(self, ctx):
        built.append(self.pretrain_params.epochs)
        from microexpr.models.resnet10 import resnet10
        return resnet10(num_classes=5, base_width=4).state_dict()

    monkeypatch.setattr(atnet_mod.ATNetMethod, "macro_pretrain", fake_pretrain)
    ctx = RunContext(run_dir=tmp_path / "run", cache_dir=None, classes=("a", "b"), progress=False,
                     aux_tables={"ckplus": pd.DataFrame({"subject": ["ckplus/S001"]})})
    small = {"variant": "spatial", "base_width": 4, "input_size": 32}
    for epochs in (2, 2, 1):
        m = create_method("atnet", {**small, "pretrain_epochs": epochs})
        m._init_spatial(m.new_model(2), ctx)
    assert built == [2, 1]
