"""The micro_attention / resnet10 methods on arrays built by the test (inputs layer stubbed).

Images here are synthetic blobs: they show the training pipeline works, not how the method
does on real micro-expressions.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from microexpr.errors import ConfigError, ModelError, ProtocolError
from microexpr.methods import RunContext, create_method
from microexpr.methods.apexnets import ApexResNetMethod, macro_emotion, write_attention_overlays
from microexpr.training.sampling import no_single_batches
from microexpr.models import create_model
from microexpr.training.transfer import adapt_first_conv

SIZE, LOAD = 32, 36
CENTRES = [(9, 9), (9, 26), (26, 17)]  # class c: a bright blob at CENTRES[c]
SMALL = dict(base_width=8, input_size=SIZE, load_size=LOAD, batch_size=16, lr=0.05, weight_decay=5e-4,
             step_size=10, max_rotation=5.0, pretrain_epochs=2, pretrain_batch_size=16, pretrain_lr=0.05)


def blob_image(cls: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[:LOAD, :LOAD]
    cy, cx = CENTRES[cls]
    cy, cx = cy + rng.integers(-2, 3), cx + rng.integers(-2, 3)
    img = 90 + 110 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18.0) + rng.normal(0, 12, (LOAD, LOAD))
    return np.clip(img, 0, 255).astype(np.uint8)


def micro_table(n_subjects: int = 6, per_class: int = 6, seed: int = 0) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    rows, images = [], {}
    for s in range(n_subjects):
        for c in range(3):
            for k in range(per_class):
                key = f"fake/s{s}/c{c}_{k}"
                rows.append(dict(dataset="fake", subject=f"fake/s{s}", clip=f"c{c}_{k}", key=key, label=c,
                                 emotion=str(c), onset=0, apex=0, offset=0))
                images[key] = blob_image(c, rng)
    return pd.DataFrame(rows), images


def macro_aux(seed: int = 1) -> tuple[pd.DataFrame, dict[str, int]]:
    """A CK+-like table: sequences of 8 frames whose last frame is the peak."""
    emotions = ["happy", "surprise", "anger", "fear", "disgust", "sadness"]
    rows = [dict(dataset="ckplus", subject=f"ckplus/S{s:03d}", clip=f"{q:03d}", key=f"ckplus/S{s:03d}/{q:03d}",
                 emotion=emotions[(s + q) % len(emotions)], onset=0, apex=7, offset=7)
            for s in range(4) for q in range(3)]
    return pd.DataFrame(rows), {}


@pytest.fixture
def stub_inputs(monkeypatch):
    """Replace the inputs layer: micro keys from a dict, macro frames drawn per row."""
    store: dict[str, np.ndarray] = {}
    calls: list[list[str]] = []

    def fake_images(self, table, ctx):
        calls.append(list(table["key"]))
        rng = np.random.default_rng(0)
        out = []
        for rec in table.to_dict("records"):
            if rec["key"] in store:
                out.append(store[rec["key"]])
            else:  # macro rows: blob of (label mod 3), the way a face carries its expression
                out.append(blob_image(int(rec["label"]) % 3, rng))
        return np.stack(out)

    monkeypatch.setattr(ApexResNetMethod, "apex_images", fake_images)
    return store, calls


def make_ctx(tmp_path: Path, **kw) -> RunContext:
    base = dict(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", classes=("a", "b", "c"), seed=0,
                progress=False)
    base.update(kw)
    return RunContext(**base)


def two_fold_accuracy(method_name: str, table, ctx_base, permutation: int | None, **params) -> float:
    """Train on half the subjects, test on the other half and back; accuracy against the TRUE labels.

    With ``permutation`` set, the training labels are a random permutation of the labels.
    """
    correct = 0
    subjects = sorted(table["subject"].unique())
    labels = table["label"].to_numpy().copy()
    if permutation is not None:
        labels = np.random.default_rng(permutation).permutation(labels)
    t = table.assign(label=labels)
    for half in (subjects[:3], subjects[3:]):
        test = t[t["subject"].isin(half)]
        train = t[~t["subject"].isin(half)]
        ctx = ctx_base.for_fold("half", frozenset(half))
        m = create_method(method_name, {**SMALL, "pretrain_macro": False, "save_attention": False, **params})
        m.fit(train, ctx)
        pred = m.predict_proba(test, ctx).argmax(1)
        correct += int((pred == table.loc[test.index, "label"].to_numpy()).sum())
    return correct / len(table)


@pytest.mark.parametrize("name", ["micro_attention", "resnet10"])
def test_learns_the_task(name, tmp_path, stub_inputs):
    store, _ = stub_inputs
    table, images = micro_table()
    store.update(images)
    assert two_fold_accuracy(name, table, make_ctx(tmp_path), None, epochs=12) > 0.8  # chance: 1/3


def test_shuffled_labels_stay_near_chance(tmp_path, stub_inputs):
    """Each class's images get one prediction, so a single shuffle is a coarse draw: average 4."""
    store, _ = stub_inputs
    table, images = micro_table()
    store.update(images)
    accs = [two_fold_accuracy("micro_attention", table, make_ctx(tmp_path), p, epochs=8) for p in range(4)]
    assert abs(np.mean(accs) - 1 / 3) < 0.15, accs


def test_same_seed_same_predictions(tmp_path, stub_inputs):
    store, _ = stub_inputs
    table, images = micro_table(n_subjects=2, per_class=3)
    store.update(images)
    ctx = make_ctx(tmp_path)
    probs = []
    for _ in range(2):
        m = create_method("micro_attention", {**SMALL, "epochs": 2, "pretrain_macro": False, "save_attention": False})
        probs.append(m.fit(table, ctx).predict_proba(table, ctx))
    np.testing.assert_array_equal(probs[0], probs[1])


def test_macro_pretraining_runs_once_per_run(tmp_path, stub_inputs, monkeypatch, caplog):
    store, calls = stub_inputs
    table, images = micro_table(n_subjects=2, per_class=2)
    store.update(images)
    aux, _ = macro_aux()
    built = []
    original = ApexResNetMethod.macro_pretrain

    def counting(self, ctx):
        built.append(ctx.fold)
        return original(self, ctx)

    monkeypatch.setattr(ApexResNetMethod, "macro_pretrain", counting)
    ctx = make_ctx(tmp_path, aux_tables={"ckplus": aux})
    with caplog.at_level(logging.INFO, logger="microexpr"):
        for s in ("fake/s0", "fake/s1"):
            fold_ctx = ctx.for_fold(s, frozenset({s}))
            m = create_method("micro_attention", {**SMALL, "epochs": 1, "save_attention": False})
            m.fit(table[table["subject"] != s], fold_ctx)
    assert built == ["fake/s0"]
    assert (ctx.run_dir / "stages" / "microattention_macro_pretrain-seed0.pt").is_file()
    assert "starting from random weights" in caplog.text
    # pretraining saw the last three frames of every clip of the 5 kept emotions (fear left out)
    macro_calls = [c for c in calls if c and c[0].startswith("ckplus/")]
    assert len(macro_calls) == 1
    kept = aux[aux["emotion"] != "fear"]
    assert len(macro_calls[0]) == 3 * len(kept)
    assert {k.rsplit("__f", 1)[1] for k in macro_calls[0]} == {"5", "6", "7"}


def test_macro_table_labels_and_frames(tmp_path):
    aux, _ = macro_aux()
    ctx = make_ctx(tmp_path, aux_tables={"ckplus": aux})
    m = create_method("micro_attention", {**SMALL, "macro_frames": 2})
    mt = m.macro_table(ctx)
    assert set(mt["label_name"]) == {"happiness", "surprise", "anger", "disgust", "sadness"}
    assert sorted(mt["apex"].unique().tolist()) == [6, 7]
    assert mt["key"].is_unique
    assert macro_emotion("Happy") == "happiness" and macro_emotion("contempt") is None


def test_pretraining_subject_in_test_fold_is_refused(tmp_path, stub_inputs):
    table, _ = micro_table(n_subjects=1, per_class=1)
    aux, _ = macro_aux()
    ctx = make_ctx(tmp_path, aux_tables={"ckplus": aux}).for_fold("ckplus/S000", frozenset({"ckplus/S000"}))
    with pytest.raises(ProtocolError, match="ckplus/S000"):
        create_method("micro_attention", SMALL).fit(table, ctx)


def test_pretrain_without_aux_data_is_a_config_error(tmp_path, stub_inputs):
    table, _ = micro_table(n_subjects=1, per_class=1)
    with pytest.raises(ConfigError, match="pretrain_macro: false"):
        create_method("micro_attention", SMALL).fit(table, make_ctx(tmp_path))


def test_imagenet_checkpoint_initialises_the_fold_model(tmp_path, stub_inputs):
    store, _ = stub_inputs
    table, images = micro_table(n_subjects=1, per_class=2)
    store.update(images)
    src = create_model("resnet10", in_chans=3).state_dict()  # same key layout as torchvision
    torch.save(src, tmp_path / "imagenet.pth")
    m = create_method("micro_attention", {**SMALL, "base_width": 64, "epochs": 1, "lr": 1e-12, "weight_decay": 0.0,
                                          "pretrain_macro": False, "imagenet_checkpoint": str(tmp_path / "imagenet.pth")})
    m.fit(table, make_ctx(tmp_path))
    got = m.model_.state_dict()
    # one SGD step at lr 1e-12 leaves the ImageNet values in place
    assert torch.allclose(got["conv1.weight"], adapt_first_conv(src["conv1.weight"], 1), atol=1e-6)
    assert torch.allclose(got["layer4.0.conv2.weight"], src["layer4.0.conv2.weight"], atol=1e-6)
    assert not torch.allclose(got["layer4.0.conv2.weight"], torch.zeros(1), atol=1e-3)


def test_attention_overlays_written_for_test_clips(tmp_path, stub_inputs):
    store, _ = stub_inputs
    table, images = micro_table(n_subjects=2, per_class=1)
    store.update(images)
    ctx = make_ctx(tmp_path).for_fold("fake/s1", frozenset({"fake/s1"}))
    m = create_method("micro_attention", {**SMALL, "epochs": 1, "pretrain_macro": False})
    test = table[table["subject"] == "fake/s1"]
    proba = m.fit(table[table["subject"] == "fake/s0"], ctx).predict_proba(test, ctx)
    assert proba.shape == (3, 3) and np.allclose(proba.sum(1), 1)
    folder = ctx.run_dir / "attention" / "seed0" / "fake__s1"
    with open(folder / "index.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["key"] for r in rows] == list(test["key"])
    for r in rows:
        img = cv2.imread(str(folder / r["file"]))
        assert img.shape == (SIZE, SIZE, 3)
        assert 0.0 < float(r["attention_min"]) <= float(r["attention_max"]) < 1.0
    # the plain ResNet-10 has no attention units and writes none
    ctx2 = make_ctx(tmp_path / "plain").for_fold("fake/s1", frozenset({"fake/s1"}))
    plain = create_method("resnet10", {**SMALL, "epochs": 1, "pretrain_macro": False})
    plain.fit(table[table["subject"] == "fake/s0"], ctx2).predict_proba(test, ctx2)
    assert not (ctx2.run_dir / "attention").exists()


def test_overlay_colours_follow_the_map(tmp_path):
    img = np.full((1, 1, 16, 16), 128.0)
    att = np.full((1, 1, 16, 16), 0.2)
    att[0, 0, :8, :8] = 0.9  # attention on the top-left quadrant
    (path,) = write_attention_overlays(tmp_path, ["d/s/c"], img, att, np.array([[0.7, 0.3]]), ("x", "y"))
    bgr = cv2.imread(str(path)).astype(int)
    assert bgr[2, 2, 2] > bgr[2, 2, 0] + 50  # JET: high attention -> red
    assert bgr[12, 12, 0] > bgr[12, 12, 2] + 50  # low attention -> blue
    assert path.name == "d__s__c.png"


def test_epoch_order_is_balanced_and_never_ends_with_a_lone_sample():
    cfg = create_method("micro_attention", {**SMALL, "batch_size": 4}).finetune.train_config()
    y = torch.tensor([0] * 5 + [1] * 2 + [2] * 1)  # balanced: 15 = 3 batches of 4 + 3
    order = no_single_batches(cfg.sampler(), cfg.batch_size)(y, torch.Generator().manual_seed(0))
    assert np.bincount(y[order].numpy()).tolist() == [5, 5, 5]
    y2 = torch.tensor([0] * 3 + [1] * 2)  # balanced: 6 -> 4 + 2, untouched; 9 -> 4 + 4 + 1 -> trimmed
    assert len(no_single_batches(cfg.sampler(), cfg.batch_size)(y2, torch.Generator().manual_seed(0))) == 6
    y3 = torch.tensor([0] * 3 + [1] * 1 + [2] * 1)
    assert len(no_single_batches(cfg.sampler(), cfg.batch_size)(y3, torch.Generator().manual_seed(0))) == 8


def test_bad_parameters(tmp_path):
    with pytest.raises(ConfigError, match="unknown parameter"):
        create_method("micro_attention", {"depth": 18})
    with pytest.raises(ConfigError, match="lr"):
        create_method("resnet10", {"lr": 0.0})
    with pytest.raises(ConfigError, match="load_size"):
        create_method("micro_attention", {"input_size": 224, "load_size": 200})


def test_rgb_crops_feed_a_three_channel_model_and_bad_shapes_are_refused(tmp_path, stub_inputs):
    store, _ = stub_inputs
    table, images = micro_table(n_subjects=1, per_class=2)
    store.update({k: np.repeat(v[..., None], 3, axis=2) for k, v in images.items()})  # (H, W, 3) as apex_crop rgb
    m = create_method("micro_attention", {**SMALL, "colour": "rgb", "epochs": 1, "pretrain_macro": False,
                                          "save_attention": False})
    proba = m.fit(table, make_ctx(tmp_path)).predict_proba(table, make_ctx(tmp_path))
    assert m.model_.conv1.weight.shape[1] == 3 and proba.shape == (len(table), 3)
    grey = create_method("micro_attention", {**SMALL, "pretrain_macro": False})
    with pytest.raises(ModelError, match=r"expected \(n, 36, 36\)"):
        grey.fit(table, make_ctx(tmp_path))  # the stub now returns RGB crops to a grey model
    with pytest.raises(ConfigError, match="'grey' or 'rgb'"):
        create_method("micro_attention", {"colour": True})


def test_changed_pretraining_settings_rebuild_the_stage(tmp_path, stub_inputs, monkeypatch):
    """A run that crashed after pretraining with pretrain_epochs 2 and is rerun with 1 (allowed
    while no fold file exists) must not finish on the 2-epoch stage."""
    store, _ = stub_inputs
    table, images = micro_table(n_subjects=2, per_class=2)
    store.update(images)
    aux, _ = macro_aux()
    epochs_built = []
    original = ApexResNetMethod.macro_pretrain

    def counting(self, ctx):
        epochs_built.append(self.pretrain_epochs)
        return original(self, ctx)

    monkeypatch.setattr(ApexResNetMethod, "macro_pretrain", counting)
    ctx = make_ctx(tmp_path, aux_tables={"ckplus": aux}).for_fold("fake/s0", frozenset({"fake/s0"}))
    train = table[table["subject"] != "fake/s0"]
    for pretrain_epochs in (2, 2, 1):
        create_method("micro_attention", {**SMALL, "epochs": 1, "save_attention": False,
                                          "pretrain_epochs": pretrain_epochs}).fit(train, ctx)
    assert epochs_built == [2, 1]


def test_fold_and_pretraining_histories_are_recorded(tmp_path, stub_inputs):
    from microexpr.training.history import collect_histories

    store, _ = stub_inputs
    table, images = micro_table(n_subjects=2, per_class=2)
    store.update(images)
    aux, _ = macro_aux()
    ctx = make_ctx(tmp_path, aux_tables={"ckplus": aux}).for_fold("fake/s0", frozenset({"fake/s0"}))
    with collect_histories() as entries:
        create_method("micro_attention", {**SMALL, "epochs": 2, "save_attention": False}).fit(
            table[table["subject"] != "fake/s0"], ctx)
    assert [len(h.train_loss) for _, _, h in entries] == [2]  # the fold's fine-tuning
    (stage,) = (ctx.run_dir / "history" / "seed0").glob("stage-*.csv")  # pretraining: its own file
    assert stage.read_text().count("macro pretraining") == SMALL["pretrain_epochs"]
    assert all(0 <= a <= 1 for _, _, h in entries for a in h.train_acc)


def test_the_leakage_audit_scores_the_fold_being_trained(tmp_path, stub_inputs):
    from microexpr.training.audit import AuditRecorder, auditing

    store, _ = stub_inputs
    table, images = micro_table(n_subjects=2, per_class=2)
    store.update(images)
    ctx = make_ctx(tmp_path).for_fold("fake/s0", frozenset({"fake/s0"}))
    test = table[table["subject"] == "fake/s0"].drop(columns=["label"])
    rec = AuditRecorder(every=2, test=test)
    with auditing([rec]):
        m = create_method("micro_attention", {**SMALL, "epochs": 5, "pretrain_macro": False, "save_attention": False})
        m.fit(table[table["subject"] != "fake/s0"], ctx)
    assert rec.epochs == [1, 3, 4] and all(p.shape == (len(test), 3) for p in rec.probabilities)
    np.testing.assert_allclose(rec.probabilities[-1], m.predict_proba(test, ctx), atol=1e-6)  # the last epoch: the model kept
