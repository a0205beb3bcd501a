"""The MTMNet recipe on tiny data: pairs and triplets, the frozen MacroNet, the loss switches,
the keyed stages, the label mapping of the macro corpora and the reconstruction figure."""

from __future__ import annotations

import copy
import logging
import re

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from skimage.data import astronaut

from microexpr.cliptable import new_clip_table
from microexpr.errors import ConfigError, ProtocolError
from microexpr.labels import apply_scheme
from microexpr.methods.base import RunContext
from microexpr.methods.mtmnet import MTMNetMethod, pair_set
from microexpr.methods.registry import create_method
from microexpr.models.mtmnet import EIDNet, EmbeddingDiscriminator
from microexpr.report.reconstructions import reconstruction_files, write_reconstruction_grid
from microexpr.training.mtm_losses import EIDWeights, MTMWeights
from microexpr.training.mtm_train import EIDConfig, MTMConfig, PairSet, train_eidnet, train_mtmnet, triplets
from microexpr.training.seeding import FoldSeeds

from tests.preprocessing.synthclips import FACE_WINDOW, clip_row, planted_clip, write_clip

CLASSES = ("negative", "positive", "surprise")
TINY = dict(colour="grey", image_size=16, widths=[4, 4, 8, 8], embedding=8, decoder_widths=[8, 4], eid_epochs=2,
            eid_batch_size=8, mtm_epochs=2, mtm_batch_size=8, disc_channels=2, disc_layers=1, expression_frames=3,
            macro_frames=1, reconstructions=2)


def tiny_pairs(n_clips: int, k: int, labels: list[int], subjects: list[int], seed: int, size: int = 16) -> PairSet:
    g = torch.Generator().manual_seed(seed)
    windows = torch.randint(0, 256, (n_clips, k + 1, 1, size, size), generator=g, dtype=torch.uint8)
    return pair_set(windows, np.array(labels), np.array(subjects))


def tiny_net(n_subjects: int = 2, seed: int = 0) -> EIDNet:
    torch.manual_seed(seed)
    return EIDNet(3, n_subjects, in_chans=1, image_size=16, widths=(4, 4, 8, 8), embedding=8, decoder_widths=(8, 4))


# --------------------------------------------------------------------------- data plumbing
def test_pair_set_keeps_each_expression_image_with_its_own_clips_neutral():
    windows = torch.arange(2 * 4).view(2, 4, 1, 1, 1).to(torch.uint8)  # clip c, frame f -> value 4c + f
    pairs = pair_set(windows, np.array([2, 0]), np.array(["b/s2", "a/s1"]))
    assert pairs.expression.flatten().tolist() == [1, 2, 3, 5, 6, 7]  # frame 0 of each clip is the neutral
    assert pairs.neutral.flatten().tolist() == [0, 4]
    assert pairs.neutral[pairs.clip].flatten().tolist() == [0, 0, 0, 4, 4, 4]
    assert pairs.clip.tolist() == [0, 0, 0, 1, 1, 1]
    assert pairs.labels.tolist() == [2, 2, 2, 0, 0, 0]
    assert pairs.subjects.tolist() == [1, 1, 1, 0, 0, 0] and pairs.n_subjects == 2


def test_triplets_pair_each_anchor_with_a_same_class_macro_image_and_another_class_micro_image():
    micro = torch.tensor([0, 0, 1, 1, 2, 2])
    macro = {0: torch.tensor([10, 11]), 1: torch.tensor([12])}  # no macro image of class 2
    pos, neg, has = triplets(micro, micro, macro, torch.Generator().manual_seed(0))
    assert has.tolist() == [True, True, True, True, False, False]
    for i in range(4):
        assert int(pos[i]) in macro[int(micro[i])].tolist()
        assert int(micro[neg[i]]) != int(micro[i])
    draws = {int(triplets(micro, micro, macro, torch.Generator().manual_seed(s))[0][0]) for s in range(20)}
    assert draws == {10, 11}  # drawn among every positive of the class, not always the first


def test_macro3_maps_macro_emotions_to_the_papers_composite_classes():
    """Paper 003 §4.1: happiness -> positive, surprise unchanged, disgust/anger/contempt/fear/sadness -> negative."""
    words = ["happy", "surprise", "disgust", "anger", "contempt", "fear", "sadness", "neutral"]
    table = pd.DataFrame({"dataset": "mmi", "subject": "mmi/s", "clip": words, "key": [f"mmi/s/{w}" for w in words],
                          "emotion": words})
    labelled, classes, report = apply_scheme(table, "macro3")
    assert classes == CLASSES
    assert dict(zip(labelled["emotion"], labelled["label_name"])) == {
        "happy": "positive", "surprise": "surprise", "disgust": "negative", "anger": "negative",
        "contempt": "negative", "fear": "negative", "sadness": "negative"}
    assert report.excluded == {("mmi", "neutral"): 1}


# --------------------------------------------------------------------------- loops
def test_macronet_is_bit_identical_after_mtmnet_training():
    """Parameters and BatchNorm statistics of the frozen MacroNet do not move (seen to fail with the
    MacroNet left in training mode), while the MicroNet and the discriminator do."""
    micro_data = tiny_pairs(6, 2, [0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1], seed=1)
    macro_data = tiny_pairs(4, 1, [0, 1, 2, 1], [0, 1, 2, 3], seed=2)
    micro, macro = tiny_net(2, 0), tiny_net(4, 1)
    disc = EmbeddingDiscriminator(8, 2, 1)
    before = copy.deepcopy(macro.state_dict())
    micro_before, disc_before = copy.deepcopy(micro.state_dict()), copy.deepcopy(disc.state_dict())
    cfg = MTMConfig(epochs=2, batch_size=4, lr=1e-2, weights=MTMWeights(1.0, 1.0, 1.0, 1.0))
    terms = train_mtmnet(micro, macro, disc, micro_data, macro_data, cfg, FoldSeeds(1, 2, 3, 4), desc="t")
    assert set(terms) == {"total", "L_cls", "L_tri", "L_adv", "L_D", "L_LIR"}
    after = macro.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), [k for k in before if not torch.equal(before[k], after[k])]
    assert not torch.equal(micro_before["encoder.conv1.weight"], micro.state_dict()["encoder.conv1.weight"])
    assert not torch.equal(disc_before["fc.weight"], disc.state_dict()["fc.weight"])
    assert all(p.grad is None for p in macro.parameters())


def test_switched_off_terms_are_not_computed_and_cls_alone_needs_no_macronet():
    micro_data = tiny_pairs(6, 2, [0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1], seed=1)
    cfg = MTMConfig(epochs=1, batch_size=4, weights=MTMWeights(1.0, 0.0, 0.0, 0.0))
    assert not cfg.needs_macro
    assert set(train_mtmnet(tiny_net(), None, None, micro_data, None, cfg, FoldSeeds(1, 2, 3, 4), desc="t")) == {
        "total", "L_cls"}
    with pytest.raises(ConfigError, match="need the MacroNet"):
        train_mtmnet(tiny_net(), None, None, micro_data, None, MTMConfig(epochs=1), FoldSeeds(1, 2, 3, 4), desc="t")
    eid_off = EIDConfig(epochs=1, batch_size=4, weights=EIDWeights(1.0, 0.0, 0.0, 0.0))
    assert set(train_eidnet(tiny_net(), micro_data, eid_off, FoldSeeds(1, 2, 3, 4), desc="t")) == {"total", "L_c"}


def test_reconstruction_loss_falls_during_eidnet_training():
    grey = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY)
    patches = [cv2.resize(grey[y:y + 128, x:x + 128], (16, 16), interpolation=cv2.INTER_AREA)
               for y, x in [(0, 0), (100, 180), (300, 50), (200, 350)] for _ in range(3)]
    windows = torch.from_numpy(np.stack(patches).reshape(4, 3, 1, 16, 16))
    data = pair_set(windows, np.array([0, 1, 2, 0]), np.array([0, 0, 1, 1]))
    cfg = EIDConfig(epochs=30, batch_size=8, lr=1e-3, decoder_lr=1e-2)
    terms = train_eidnet(tiny_net(), data, cfg, FoldSeeds(5, 6, 7, 8), desc="t")
    assert set(terms) == {"total", "L_c", "L_rec", "L_sim", "L_s"}
    assert np.mean(terms["L_rec"][-5:]) < 0.7 * np.mean(terms["L_rec"][:5])


def test_ablation_settings_become_loss_weights():
    full = MTMNetMethod(**TINY)
    assert vars(full.mtm_config().weights) == {"classification": 1.0, "triplet": 1e-3, "adversarial": 1e-3, "lir": 1e-3}
    assert vars(full.eid_config().weights) == {"classification": 1.0, "reconstruction": 0.1, "similarity": 0.1,
                                               "identity_adversary": 0.1}
    tri = MTMNetMethod(**{**TINY, "losses": ["cls", "tri"], "eid_pretraining": False})
    assert vars(tri.mtm_config().weights) == {"classification": 1.0, "triplet": 1e-3, "adversarial": 0.0, "lir": 0.0}
    assert vars(tri.eid_config().weights) == {"classification": 1.0, "reconstruction": 0.0, "similarity": 0.0,
                                              "identity_adversary": 0.0}
    with pytest.raises(ConfigError, match="must include 'cls'"):
        MTMNetMethod(losses=["tri"])
    with pytest.raises(ConfigError, match="unknown label scheme"):
        MTMNetMethod(macro_scheme="nope")
    with pytest.raises(Exception, match="image_size 48 must be a multiple"):
        MTMNetMethod(image_size=48)  # 5 decoder widths need a multiple of 32


# --------------------------------------------------------------------------- figure
def test_reconstruction_png_is_rgb_as_cv2_reads_it(tmp_path):
    """Pinned to cv2.imread: an RGB grid written through OpenCV must come back with R and B in place
    (seen to fail without the RGB -> BGR conversion)."""
    rgb = astronaut()[100:132, 180:212]
    assert np.abs(rgb[..., 0].astype(int) - rgb[..., 2]).mean() > 10  # R and B differ: a swap shows
    ex, rec, neu = rgb[None], rgb[None, ::-1], rgb[None, :, ::-1]
    path = write_reconstruction_grid(tmp_path / "r" / "grid.png", ex, rec, neu)
    back = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert back.shape == (32, 3 * 32 + 4, 3)
    np.testing.assert_array_equal(back[:, :32], rgb)
    np.testing.assert_array_equal(back[:, 34:66], rgb[::-1])
    np.testing.assert_array_equal(back[:, 68:], rgb[:, ::-1])
    assert (back[:, 32:34] == 255).all()


# --------------------------------------------------------------------------- the method on clips
@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """6 micro clips (3 subjects x negative/positive) and 3 macro sequences (happy, disgust, a still)."""
    from microexpr.face import detect_landmarks

    lm = (detect_landmarks(astronaut(), where="astronaut") - np.array(FACE_WINDOW[:2], np.float32)).astype(np.float32)
    root = tmp_path_factory.mktemp("mtm")
    micro, macro = [], []
    for i in range(6):
        frames, _ = planted_clip(n_frames=8, apex=4, seed=i)
        paths = write_clip(root / f"m{i}", frames, np.repeat(lm[None], len(frames), 0))
        row = clip_row(f"casme2/s{i // 2}/c{i}", paths, 0, 4, 7, str(root / f"m{i}" / "landmarks68.npy"))
        row["label"], row["label_name"] = i % 2, CLASSES[i % 2]
        micro.append(row)
    for i, emotion in enumerate(["happy", "disgust", "surprise"]):
        frames, _ = planted_clip(n_frames=4, apex=3, seed=10 + i)
        frames = frames if i < 2 else frames[-1:]  # the third is a still: its own peak, no neutral frame
        paths = write_clip(root / f"k{i}", frames, np.repeat(lm[None], len(frames), 0))
        row = clip_row(f"mmi/k{i}/seq{i}", paths, 0, len(frames) - 1, len(frames) - 1, str(root / f"k{i}" / "landmarks68.npy"))
        row["emotion"] = emotion
        macro.append(row)
    return new_clip_table(micro), new_clip_table(macro)


def test_fit_predict_with_stages_built_once_and_reused(clips, tmp_path, caplog):
    micro, macro = clips
    ctx = RunContext(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", classes=CLASSES, seed=0, progress=False,
                     aux_tables={"mmi": macro})
    train, test = micro[micro.subject != "casme2/s2"], micro[micro.subject == "casme2/s2"]
    fctx = ctx.for_fold("casme2/s2", frozenset(test.subject))
    with caplog.at_level(logging.INFO, logger="microexpr"):
        method = create_method("mtmnet", TINY).fit(train, fctx)
        proba = method.predict_proba(test, fctx)
    assert proba.shape == (2, 3) and np.allclose(proba.sum(1), 1.0)
    assert "1 clip(s) have no neutral frame before their peak" in caplog.text  # the still is counted, not used
    assert re.search(r"MacroNet \(once per run\) on 2 images of 2 clips", caplog.text)
    stages = sorted(p.name for p in (tmp_path / "run" / "stages").iterdir())
    assert stages == ["mtmnet_macronet-seed0.pt", "mtmnet_micronet-casme2__s2-seed0.pt"]
    assert [p.name for p in reconstruction_files(tmp_path / "run")] == ["macronet-seed0.png",
                                                                       "micronet-casme2__s2-seed0.png"]
    grid = cv2.imread(str(tmp_path / "run" / "reconstructions" / "macronet-seed0.png"), cv2.IMREAD_UNCHANGED)
    assert grid.shape == (2 * 16 + 2, 3 * 16 + 4)  # 2 macro clips x (expression, reconstruction, neutral), grey
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="microexpr"):
        again = create_method("mtmnet", TINY).fit(train, fctx).predict_proba(test, fctx)
    assert "reusing mtmnet_macronet" in caplog.text and "reusing mtmnet_micronet-casme2__s2" in caplog.text
    np.testing.assert_allclose(again, proba, atol=1e-6)  # same seeds, same stages: the same predictions
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="microexpr"):
        create_method("mtmnet", {**TINY, "lambda_sim": 0.2}).fit(train, fctx)  # another EIDNet setting
    assert re.search(r"stage mtmnet_macronet in .* was built under other settings", caplog.text)
    assert re.search(r"stage mtmnet_micronet-casme2__s2 in .* was built under other settings", caplog.text)
    only_cls = create_method("mtmnet", {**TINY, "losses": ["cls"]})
    only_cls.fit(train, RunContext(run_dir=tmp_path / "cls", cache_dir=tmp_path / "cache", classes=CLASSES,
                                   progress=False, fold="casme2/s2"))  # no aux corpus: none needed
    assert only_cls.macronet_ is None and not (tmp_path / "cls" / "stages" / "mtmnet_macronet-seed0.pt").exists()


def test_a_macro_subject_in_the_test_fold_is_refused(clips, tmp_path):
    micro, macro = clips
    ctx = RunContext(run_dir=tmp_path, cache_dir=tmp_path / "cache", classes=CLASSES, progress=False,
                     aux_tables={"mmi": macro}).for_fold("mmi/k0", frozenset({"mmi/k0"}))
    with pytest.raises(ProtocolError, match="MTMNet MacroNet pretraining uses subject"):
        create_method("mtmnet", TINY).fit(micro, ctx)


def test_training_curves_show_the_total_not_the_loss_terms(tmp_path):
    """A fold's history ends with its loss-term breakdown; the figure's fold curve is still the total."""
    from microexpr.report.figures import read_histories

    folder = tmp_path / "history" / "seed0"
    folder.mkdir(parents=True)
    rows = ["stage,epoch,train_loss,train_acc,val_loss,val_acc,kept",
            "mtmnet MTMNet f1,0,1.5,0.4,,,0", "mtmnet MTMNet f1 [L_cls],0,1.4,,,,0", "mtmnet MTMNet f1 [L_tri],0,0.9,,,,0"]
    (folder / "f1.csv").write_text("\n".join(rows) + "\n")
    (folder / "stage-mtmnet_macronet.csv").write_text("\n".join(
        [rows[0], "mtmnet MacroNet EIDNet pretraining,0,2.0,0.3,,,0", "mtmnet MacroNet EIDNet pretraining [L_rec],0,0.1,,,,0"]))
    hist = read_histories(tmp_path)
    assert list(hist) == ["folds", "stage: mtmnet MacroNet EIDNet pretraining"]
    assert hist["folds"][0]["train_loss"].tolist() == [1.5]
