"""TLCNN's three stages: hand-over of weights, which stages each variant runs, stage keys
(a changed setting rebuilds its stage and every later one), crops and window averaging.

In-memory toy clips: the inputs layer is bypassed (``clips`` / ``expression_images`` patched)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from microexpr.errors import ConfigError
from microexpr.methods import create_method
from microexpr.methods.base import RunContext
from microexpr.methods.tlcnn import FrameInput, RandomCrop, TLCNNMethod, centre_crop, window_average
from microexpr.training.loop import TrainConfig, train_model
from microexpr.training.seeding import FoldSeeds

CLASSES = ("positive", "negative", "surprise", "others")
H, W, CROP, T = 72, 80, 67, 6
TINY = dict(widths=[4, 6, 8, 8, 6], fc=16, input_size=CROP, frame_height=H, frame_width=W, tim_length=T, window=4,
            lstm_hidden=8, expression_epochs=2, expression_batch_size=8, expression_patience=0,
            frame_epochs=1, frame_batch_size=32, lstm_epochs=2, lstm_batch_size=4)


def toy_clip(key: str, label: int) -> torch.Tensor:
    """(T, 3, H, W) uint8: a bright square whose place depends on the label, drifting over time."""
    rng = np.random.default_rng(abs(hash(key)) % 2**32)
    x = rng.integers(0, 60, (T, 3, H, W), dtype=np.uint8)
    for t in range(T):
        r, c = 10 + 12 * label, 10 + 2 * t
        x[t, label % 3, r:r + 10, c:c + 10] = 250
    return torch.from_numpy(x)


def micro_table(n_subjects: int = 4, per_subject: int = 4) -> pd.DataFrame:
    rows = []
    for s in range(n_subjects):
        for i in range(per_subject):
            label = (s + i) % 4
            rows.append({"key": f"casme2/s{s}/c{i}", "subject": f"casme2/s{s}", "clip": f"c{i}", "dataset": "casme2",
                         "label": label, "label_name": CLASSES[label]})
    return pd.DataFrame(rows)


def aux_table() -> pd.DataFrame:
    emotions = ["happy", "sad", "angry", "surprised", "neutral", "afraid", "disgusted", "contempt"]
    return pd.DataFrame([{"key": f"manifest/p{i % 3}/img{i}", "clip": f"img{i}", "subject": f"manifest/p{i % 3}",
                          "dataset": "manifest", "emotion": emotions[i % len(emotions)], "onset": 0, "apex": 0,
                          "offset": 0} for i in range(12)])


@pytest.fixture
def patched(monkeypatch):
    """Toy inputs, and a record of every stage's training call: (what, state before, state after)."""
    calls: list[tuple[str, dict, dict]] = []
    original = TLCNNMethod._train

    def record(self, model, x, y, cfg, seeds, **kw):
        before = {k: v.clone() for k, v in model.state_dict().items()}
        original(self, model, x, y, cfg, seeds, **kw)
        calls.append((kw["what"].split(":")[0], before, {k: v.clone() for k, v in model.state_dict().items()}))

    monkeypatch.setattr(TLCNNMethod, "_train", record)
    monkeypatch.setattr(TLCNNMethod, "clips",
                        lambda self, table, ctx: torch.stack([toy_clip(k, int(y)) for k, y in zip(table["key"], table["label"])]))
    monkeypatch.setattr(TLCNNMethod, "expression_images",
                        lambda self, table, ctx: torch.stack([toy_clip(k, i % 4)[0] for i, k in enumerate(table["key"])]))
    return calls


def context(tmp_path, aux: bool = True, fold: str = "fold1") -> RunContext:
    return RunContext(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", classes=CLASSES, progress=False,
                      aux_tables={"manifest": aux_table()} if aux else {}, fold=fold,
                      test_subjects=frozenset({"casme2/s9"}))


def stages_of(calls) -> list[str]:
    return [c[0] for c in calls]


def test_each_stage_starts_from_the_previous_ones_weights(tmp_path, patched):
    m = create_method("tlcnn", TINY)
    m.fit(micro_table(), context(tmp_path))
    assert stages_of(patched) == ["tlcnn stage 1", "tlcnn stage 2", "tlcnn stage 3"]
    (_, _, s1), (_, s2_before, s2), (_, s3_before, _) = patched
    # stage 2 = the stage-1 network with a new 4-class FC8 (stage 1 had 9 classes)
    assert s1["fc.weight"].shape[0] == 9 and s2_before["fc.weight"].shape[0] == 4
    for k, v in s1.items():
        if not k.startswith("fc."):
            assert torch.equal(s2_before[k], v), k
    # stage 3 = the stage-2 CNN up to FC6 (FC7/FC8 are not part of it), a new LSTM and FC
    cnn_keys = [k for k in s3_before if k.startswith("cnn.")]
    assert sorted(k[4:] for k in cnn_keys) == sorted(k for k in s2 if not k.startswith(("fc.", "fc7.")))
    for k in cnn_keys:
        assert torch.equal(s3_before[k], s2[k[4:]]), k
    assert not torch.equal(s2["c1.weight"], s1["c1.weight"])  # stage 2 did train


@pytest.mark.parametrize("variant,expected", [
    ("tlcnn_e", ["tlcnn stage 2", "tlcnn stage 3"]),
    ("tlcnn_em", ["tlcnn stage 3"]),
    ("c5_svm", ["tlcnn stage 1", "tlcnn stage 2"]),
])
def test_variants_skip_exactly_their_stages(tmp_path, patched, variant, expected):
    m = create_method("tlcnn", {**TINY, "variant": variant})
    table = micro_table()
    m.fit(table, context(tmp_path, aux=variant == "c5_svm"))  # (E) and (EM) need no expression images
    assert stages_of(patched) == expected
    if variant == "tlcnn_em":  # TLCNN(EM): no stage file; the CNN starts from its seeded random initialisation
        assert not (tmp_path / "run" / "stages").exists()
    proba = m.predict_proba(table.iloc[:5], context(tmp_path, aux=False))
    assert proba.shape == (5, 4) and np.allclose(proba.sum(1), 1)


def test_changed_settings_rebuild_their_stage_and_every_later_one(tmp_path, patched):
    table = micro_table()
    create_method("tlcnn", TINY).fit(table, context(tmp_path))
    assert stages_of(patched) == ["tlcnn stage 1", "tlcnn stage 2", "tlcnn stage 3"]
    patched.clear()
    create_method("tlcnn", TINY).fit(table, context(tmp_path))  # same settings: stages 1 and 2 reused
    assert stages_of(patched) == ["tlcnn stage 3"]
    patched.clear()
    create_method("tlcnn", {**TINY, "lstm_lr": 0.02}).fit(table, context(tmp_path))  # stage 3 only
    assert stages_of(patched) == ["tlcnn stage 3"]
    patched.clear()
    create_method("tlcnn", {**TINY, "frame_lr": 0.002}).fit(table, context(tmp_path))  # stage 2 and 3
    assert stages_of(patched) == ["tlcnn stage 2", "tlcnn stage 3"]
    patched.clear()
    changed = {**TINY, "frame_lr": 0.002, "expression_lr": 0.002}  # only stage 1's setting differs from the last fit
    create_method("tlcnn", changed).fit(table, context(tmp_path))  # all three
    assert stages_of(patched) == ["tlcnn stage 1", "tlcnn stage 2", "tlcnn stage 3"]
    patched.clear()
    other_fold = table[table["subject"] != "casme2/s3"]  # another training set: stage 2 rebuilt, stage 1 kept
    create_method("tlcnn", changed).fit(other_fold, context(tmp_path))
    assert stages_of(patched) == ["tlcnn stage 2", "tlcnn stage 3"]


def test_expression_pretraining_never_sees_a_test_subject(tmp_path, patched):
    ctx = RunContext(run_dir=tmp_path / "run", cache_dir=None, classes=CLASSES, progress=False,
                     aux_tables={"manifest": aux_table()}, fold="fold1", test_subjects=frozenset({"manifest/p1"}))
    with pytest.raises(Exception, match="manifest/p1.*test fold"):
        create_method("tlcnn", TINY).fit(micro_table(), ctx)
    with pytest.raises(ConfigError, match="add data.aux"):
        create_method("tlcnn", TINY).fit(micro_table(), context(tmp_path, aux=False))


def test_expression_labels_follow_section_4_1(tmp_path, caplog):
    m = create_method("tlcnn", TINY)
    with caplog.at_level(logging.INFO, logger="microexpr"):
        table = m.expression_table(context(tmp_path))
    # KDEF's "afraid" is fear; 9 outputs in §4.1's order; shame has no image and is named in the log
    assert dict(zip(table["emotion"], table["label_name"]))["afraid"] == "fear"
    assert dict(zip(table["emotion"], table["label"]))["contempt"] == 8
    assert any("no image of ['shame']" in r.getMessage() for r in caplog.records)


def test_random_crop_takes_one_window_and_one_crop_per_clip():
    n = 12
    clips = torch.arange(n * 8 * 3 * 10 * 12, dtype=torch.int64).reshape(n, 8, 3, 10, 12)
    out = RandomCrop(5, window=4)(clips, torch.Generator().manual_seed(0))
    assert out.shape == (n, 4, 3, 5, 5)
    found = []
    for i in range(n):
        hits = [(s, r, c) for s in range(5) for r in range(6) for c in range(8)
                if torch.equal(out[i], clips[i, s:s + 4, :, r:r + 5, c:c + 5])]
        assert len(hits) == 1  # consecutive frames, the same crop for every frame of the clip
        found += hits
    starts, tops, lefts = (len({h[j] for h in found}) for j in range(3))
    assert starts > 1 and tops > 1 and lefts > 1  # drawn per clip, not fixed
    frames = RandomCrop(5)(clips[:, 0], torch.Generator().manual_seed(1))
    assert frames.shape == (n, 3, 5, 5)
    assert torch.equal(centre_crop(clips, 5), clips[..., 2:7, 3:8])


def test_test_time_prediction_averages_every_window():
    torch.manual_seed(0)

    class MeanFrame(torch.nn.Module):  # logits from the mean of a window's frames: each window differs
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 4)

        def forward(self, x):  # (B, T, C, h, w)
            return self.lin(x.float().mean(dim=(1, 3, 4)) / 64)  # moderate logits: no saturated softmax

    net = MeanFrame()
    clips = torch.randint(0, 255, (2, 7, 3, 6, 6), dtype=torch.uint8)
    got = window_average(net, clips, 4)
    ref = np.mean([torch.softmax(net(clips[:, s:s + 4]), 1).detach().numpy() for s in range(4)], axis=0)
    assert ref.min() > 0.01  # every probability informative
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    assert not np.allclose(got, torch.softmax(net(clips[:, :4]), 1).detach().numpy())  # not the first window only
    # a clip no longer than the window is one window
    np.testing.assert_allclose(window_average(net, clips[:, :3], 4), torch.softmax(net(clips[:, :3]), 1).detach().numpy(),
                               rtol=1e-5)


def test_frame_input_centres_and_standardises():
    seen = {}

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen["x"] = x
            return x.flatten(1)[:, :4]

    x = torch.randint(0, 255, (2, 3, 9, 11), dtype=torch.uint8)
    FrameInput(Probe(), 5)(x)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(seen["x"], (x[..., 2:7, 3:8].float() / 255 - mean) / std)


def test_c5_svm_reads_the_mean_c5_map_of_the_frames(tmp_path, patched):
    m = create_method("tlcnn", {**TINY, "variant": "c5_svm"})
    table = micro_table()
    m.fit(table, context(tmp_path))
    clips = TLCNNMethod.clips(m, table.iloc[:2], None)
    feats = m.c5_features(clips)
    with torch.no_grad():
        one = FrameInput(m.cnn_, CROP).eval()
        ref = [np.mean([m.cnn_.conv(one.standardise(centre_crop(clips[i, t], CROP).float()[None])).flatten().numpy()
                        for t in range(T)], axis=0) for i in range(2)]
    np.testing.assert_allclose(feats, np.stack(ref), rtol=1e-4, atol=1e-5)
    assert m.cnn_.map_sizes()["c5"] == 3 and feats.shape[1] == 6 * 3 * 3  # widths[4] x the C5 map of a 67 px crop


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="variant must be one of"):
        create_method("tlcnn", {"variant": "tlcnn_x"})
    with pytest.raises(ConfigError, match="cannot give 227 px crops"):
        create_method("tlcnn", {"frame_height": 200})
    with pytest.raises(ConfigError, match="patience"):
        create_method("tlcnn", {"frame_patience": 3})


def test_patience_stops_training_after_that_many_epochs_without_improvement():
    torch.manual_seed(0)
    x = torch.randn(60, 5)
    y = torch.randint(0, 3, (60,))  # labels unrelated to x: validation accuracy soon stops improving
    groups = np.repeat(np.arange(6), 10)
    model = torch.nn.Linear(5, 3)
    cfg = TrainConfig(epochs=200, lr=0.05, batch_size=10, optimizer="sgd", val_fraction=0.34, val_metric="accuracy",
                      patience=3)
    hist = train_model(model, x, y, cfg, FoldSeeds.for_fold(0, ["a"]), groups=groups)
    assert len(hist.train_loss) == hist.kept_epoch + 1 + 3 < 200
    assert hist.val_acc[hist.kept_epoch] == max(hist.val_acc)
    assert hist.val_acc.index(max(hist.val_acc)) == hist.kept_epoch  # ties: the earlier epoch
