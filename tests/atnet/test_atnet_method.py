"""The ``atnet`` method: apex-only augmentation, oversampling, step decay, pretrained streams,
and learning on in-memory toy data (no video needed; the inputs layer is bypassed)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

import microexpr.methods.atnet as atnet_method
from microexpr.errors import ConfigError
from microexpr.methods import create_method
from microexpr.methods.base import RunContext
from microexpr.models.resnet10 import resnet10
from microexpr.training.loop import lr_at
from microexpr.training.sampling import no_single_batches

CLASSES = ("negative", "positive", "surprise")
SMALL = dict(base_width=4, lstm_hidden=16, input_size=24, pretrain_macro=False,
             adm_params={"half_window": 4, "grid": 2})  # ADM (8, 8)


def test_shift_matches_opencv_translation_with_replicated_borders():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (3, 1, 9, 11)).astype(np.float32)
    dx, dy = torch.tensor([3, -2, 0]), torch.tensor([-1, 4, 0])
    got = atnet_method.shift_by(torch.from_numpy(img), dx, dy).numpy()
    for i in range(3):
        m = np.float32([[1, 0, int(dx[i])], [0, 1, int(dy[i])]])
        ref = cv2.warpAffine(img[i, 0], m, (11, 9), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        np.testing.assert_array_equal(got[i, 0], ref)


def test_augmentation_changes_only_the_apex_image_within_its_limits():
    g = torch.Generator().manual_seed(0)
    apex = torch.rand(16, 1, 24, 24) * 255
    adm = torch.rand(16, 8, 8)
    aug = atnet_method.ATNetAugment(max_rotation=0.0, max_shift=3, p=1.0, apex_index=0)
    out_apex, out_adm = aug((apex, adm), g)
    assert out_adm is adm  # the ADM sequence is never touched
    # every sample is some shift within +-3 px of its input, and most are not the identity
    moved = 0
    for i in range(16):
        matches = [(dx, dy) for dx in range(-3, 4) for dy in range(-3, 4)
                   if torch.equal(out_apex[i:i + 1], atnet_method.shift_by(apex[i:i + 1], torch.tensor([dx]), torch.tensor([dy])))]
        assert matches, f"sample {i} is not a shift within 3 px"
        moved += (0, 0) not in matches
    assert moved >= 10
    # p = 0: identity; rotation on: the image changes
    still = atnet_method.ATNetAugment(5.0, 10, 0.0)((apex, adm), g)[0]
    assert torch.equal(still, apex)
    rotated = atnet_method.ATNetAugment(5.0, 0, 1.0)((apex, adm), g)[0]
    assert not torch.allclose(rotated, apex)
    # temporal-only inputs (adm,) have no apex image: passed through
    assert atnet_method.ATNetAugment(5.0, 10, 1.0, apex_index=None)((adm,), g)[0] is adm


def test_paper_training_settings_and_oversampling():
    m = create_method("atnet", {"pretrain_macro": False})
    cfg = m.train_config()
    assert (cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay, cfg.epochs) == ("sgd", 0.01, 0.9, 5e-6, 50)
    assert [lr_at(cfg, e) for e in (0, 9, 10, 19, 20, 49)] == pytest.approx([0.01, 0.01, 1e-3, 1e-3, 1e-4, 1e-6])
    aug = m.augment()
    assert (aug.max_rotation, aug.max_shift, aug.p) == (5.0, 10, 0.5)
    # oversampling: every class reaches the majority count (6) in every epoch
    labels = torch.tensor([0] * 6 + [1] * 3 + [2] * 2)
    sampler = no_single_batches(cfg.sampler(), cfg.batch_size)
    order = sampler(labels, torch.Generator().manual_seed(0))
    counts = torch.bincount(labels[order], minlength=3).tolist()
    assert counts == [6, 6, 6] or (sorted(counts) == [5, 6, 6] and len(order) % cfg.batch_size == 0)


def test_bad_parameters_are_config_errors():
    with pytest.raises(ConfigError, match="variant must be one of"):
        create_method("atnet", {"variant": "both"})
    with pytest.raises(ConfigError, match="unknown parameter"):
        create_method("atnet", {"adm_params": {"windw": 3}})
    with pytest.raises(ConfigError, match="init_checkpoints file"):
        create_method("atnet", {"init_checkpoints": ["/nowhere/x.pt"]})


# --------------------------------------------------------------------------- toy data
def toy(n_per_class: int, seed: int, shuffle_labels: bool = False):
    """Clips whose apex image brightness pattern and ADM magnitudes depend on the class."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n_per_class)
    apex = rng.normal(120, 20, (len(labels), 24, 24))
    adm = rng.normal(0, 1, (len(labels), 8, 8)).astype(np.float32)
    for i, y in enumerate(labels):
        apex[i, :, 8 * y:8 * y + 8] += 60  # a bright band whose position is the class
        adm[i, 4:, 1::2] += 2.0 * y  # real rows (last 4) carry the class in their magnitudes
    adm[:, :4] = 0.0  # left padding
    if shuffle_labels:  # every true class gets each label equally often: no signal left at all
        labels = np.arange(len(labels)) % 3
    keys = [f"toy{seed}/s{i % 6}/c{i}" for i in range(len(labels))]
    table = pd.DataFrame({"key": keys, "subject": [k.rsplit("/", 1)[0] for k in keys], "label": labels})
    return table, torch.from_numpy(np.clip(apex, 0, 255).astype(np.float32))[:, None], torch.from_numpy(adm)


def patch_inputs(monkeypatch, data: dict[str, tuple[torch.Tensor, torch.Tensor]]):
    def inputs(self, table, ctx):
        apex, adm = data[table["key"].iloc[0]]
        return tuple(x for x, used in ((apex, self.uses_apex), (adm, self.uses_adm)) if used)

    monkeypatch.setattr(atnet_method.ATNetMethod, "inputs", inputs)


def ctx_for(tmp_path: Path, **kw) -> RunContext:
    return RunContext(run_dir=tmp_path, cache_dir=tmp_path / "cache", classes=CLASSES, progress=False,
                      log=logging.getLogger("test.atnet"), **kw)


@pytest.mark.parametrize("variant", ["spatial", "temporal", "fusion"])
def test_each_variant_learns_toy_data_and_not_shuffled_labels(variant, monkeypatch, tmp_path):
    """Fit on one toy set, predict another; real labels -> high accuracy, label-free data -> chance."""
    accs = {}
    for shuffled in (False, True):
        train, xa, xd = toy(12, seed=1, shuffle_labels=shuffled)
        # shuffled: train AND test labels are independent of the inputs, so only a label leak
        # (not the class-dependent inputs) could score above 1/3
        test, ta, td = toy(20, seed=2, shuffle_labels=shuffled)
        patch_inputs(monkeypatch, {train["key"].iloc[0]: (xa, xd), test["key"].iloc[0]: (ta, td)})
        m = create_method("atnet", {**SMALL, "variant": variant, "epochs": 20 if variant == "temporal" else 8, "step_size": 15, "lr": 0.1, "adm_standardise": True,
                                    "batch_size": 8 if variant == "temporal" else 12, "max_rotation": 2, "max_shift": 1})
        m.fit(train, ctx_for(tmp_path))
        proba = m.predict_proba(test, ctx_for(tmp_path))
        assert proba.shape == (60, 3) and np.allclose(proba.sum(axis=1), 1)
        accs[shuffled] = float((proba.argmax(axis=1) == test["label"].to_numpy()).mean())
    assert accs[False] > 0.8, accs
    assert accs[True] < 0.55, accs


def test_spatial_stream_starts_from_the_macro_pretrained_resnet_once_per_run(monkeypatch, tmp_path):
    torch.manual_seed(3)
    pretrained = resnet10(num_classes=5, base_width=4).state_dict()
    calls = []

    def fake_pretrain(self, ctx):  # stands in for the (shared) Micro-Attention pretraining
        calls.append(ctx.fold)
        return {k: v.clone() for k, v in pretrained.items()}

    monkeypatch.setattr(atnet_method.ATNetMethod, "macro_pretrain", fake_pretrain)
    monkeypatch.setattr(atnet_method, "train_model", lambda *a, **k: None)  # look at the initial weights
    train, xa, xd = toy(2, seed=0)
    patch_inputs(monkeypatch, {train["key"].iloc[0]: (xa, xd)})
    aux = {"ckplus": pd.DataFrame({"subject": ["ckplus/S001"]})}
    m = create_method("atnet", {**SMALL, "pretrain_macro": True})
    for fold in ("f1", "f2"):
        m.fit(train, ctx_for(tmp_path, aux_tables=aux, fold=fold))
        state = m.model_.spatial.state_dict()
        for k, v in pretrained.items():
            if not k.startswith("fc."):
                assert torch.equal(state[k], v), k
    assert calls == ["f1"]  # built once, reused by the second fold from the run directory
    assert (tmp_path / "stages" / "atnet_macro_pretrain-seed0.pt").is_file()
    with pytest.raises(ConfigError, match="no auxiliary macro-expression dataset"):
        m.fit(train, ctx_for(tmp_path))


def test_streams_load_from_saved_models_but_never_the_head(monkeypatch, tmp_path):
    train, xa, xd = toy(2, seed=0)
    patch_inputs(monkeypatch, {train["key"].iloc[0]: (xa, xd)})
    fusion = create_method("atnet", {**SMALL, "epochs": 1, "save_models": True})
    fusion.fit(train, ctx_for(tmp_path, fold="f1"))
    saved = tmp_path / "models" / "f1-seed0.pt"
    assert saved.is_file()
    monkeypatch.setattr(atnet_method, "train_model", lambda *a, **k: None)
    temporal = create_method("atnet", {**SMALL, "variant": "temporal", "init_checkpoints": [str(saved)]})
    temporal.fit(train, ctx_for(tmp_path, fold="f2"))
    ref = fusion.model_.state_dict()
    got = temporal.model_.state_dict()
    assert all(torch.equal(got[k], ref[k]) for k in got if k.startswith("temporal."))
    assert got["fc.weight"].shape != ref["fc.weight"].shape  # a fresh 16 -> 3 head, not the 48 -> 3 one


def test_each_fold_records_its_training_history(monkeypatch, tmp_path):
    from microexpr.training.history import collect_histories

    train, xa, xd = toy(6, seed=1)
    patch_inputs(monkeypatch, {train["key"].iloc[0]: (xa, xd)})
    with collect_histories() as entries:
        create_method("atnet", {**SMALL, "variant": "fusion", "epochs": 3, "batch_size": 6}).fit(train, ctx_for(tmp_path))
    ((stage, _, hist),) = entries
    assert stage.startswith("atnet fusion") and len(hist.train_loss) == len(hist.train_acc) == 3


def test_the_leakage_audit_scores_the_fold_being_trained(monkeypatch, tmp_path):
    from microexpr.training.audit import AuditRecorder, auditing

    train, xa, xd = toy(6, seed=1)
    test, ta, td = toy(4, seed=2)
    patch_inputs(monkeypatch, {train["key"].iloc[0]: (xa, xd), test["key"].iloc[0]: (ta, td)})
    rec = AuditRecorder(every=1, test=test.drop(columns=["label"]))
    with auditing([rec]):
        m = create_method("atnet", {**SMALL, "variant": "fusion", "epochs": 3, "batch_size": 6})
        m.fit(train, ctx_for(tmp_path))
    assert rec.epochs == [0, 1, 2]
    np.testing.assert_allclose(rec.probabilities[-1], m.predict_proba(test, ctx_for(tmp_path)), atol=1e-6)
