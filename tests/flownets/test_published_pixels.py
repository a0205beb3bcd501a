"""Published STSTNet weights see exactly what the authors' code fed them.

The reference is outside microexpr: ``cv2.imread(path, cv2.IMREAD_COLOR)`` as float32,
channels first (BGR: strain, v, u for these PNGs). The PNGs hold different values in their
three channels, and the hand-made weights below read only the first input channel with
small weights, so the outputs are far from saturated: feeding the channels in RGB order
(the bug this pins) changes every probability by far more than the tolerance.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

import microexpr.methods.flownets as flownets
from microexpr.cli import main
from microexpr.cliptable import subset
from microexpr.datasets import read_dataset
from microexpr.identity import key_identity
from microexpr.labels import apply_scheme
from microexpr.methods import RunContext, create_method
from microexpr.protocols import make_folds
from tests.flownets.synthetic import CLASSES, clip_table, flow_images, write_labels_csv, write_pngs

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ststnet_cde_png.yaml"
F = torch.nn.functional


def channel0_state(seed: int) -> dict[str, torch.Tensor]:
    """Released STSTNet key layout; every conv reads input channel 0 only, small weights."""
    g = torch.Generator().manual_seed(seed)
    st: dict[str, torch.Tensor] = {}
    for i, w in enumerate((3, 5, 8), start=1):
        weight = torch.zeros(w, 3, 3, 3)
        weight[:, 0] = torch.randn(w, 3, 3, generator=g) * 0.01
        st[f"conv{i}.weight"], st[f"conv{i}.bias"] = weight, torch.zeros(w)
        st[f"bn{i}.weight"], st[f"bn{i}.bias"] = torch.ones(w), torch.zeros(w)
        st[f"bn{i}.running_mean"], st[f"bn{i}.running_var"] = torch.zeros(w), torch.ones(w)
        st[f"bn{i}.num_batches_tracked"] = torch.tensor(0)
    st["fc.weight"] = torch.randn(3, 400, generator=g) * 0.01
    st["fc.bias"] = torch.zeros(3)
    return st


def reference_proba(st: dict[str, torch.Tensor], x: torch.Tensor) -> np.ndarray:
    """Eval-mode STSTNet written from METHODS.md with torch.nn.functional (not our model class)."""
    outs = []
    for i in (1, 2, 3):
        h = F.relu(F.conv2d(x, st[f"conv{i}.weight"], st[f"conv{i}.bias"], padding=2))
        h = F.batch_norm(h, st[f"bn{i}.running_mean"], st[f"bn{i}.running_var"], st[f"bn{i}.weight"], st[f"bn{i}.bias"], False)
        outs.append(F.max_pool2d(h, 3, 3, 1))
    logits = F.linear(F.avg_pool2d(torch.cat(outs, 1), 2).flatten(1), st["fc.weight"], st["fc.bias"])
    return torch.softmax(logits.double(), 1).numpy()


def imread_tensor(path: str) -> torch.Tensor:
    return torch.from_numpy(cv2.imread(path, cv2.IMREAD_COLOR).astype(np.float32).transpose(2, 0, 1))


@pytest.fixture()
def published(tmp_path):
    """A flat PNG folder, its labels CSV and a folder of per-subject channel-0 weights."""
    table = clip_table(n_subjects=2, clips_per_class=1)
    imgs = flow_images(table)
    imgs[..., 2] = 255 - imgs[..., 0] // 2  # strain (B) clearly unlike u (R) and v (G)
    folder = write_pngs(table, imgs, tmp_path / "png")
    labels = write_labels_csv(table, tmp_path / "labels.csv")
    wdir = tmp_path / "weights"
    wdir.mkdir()
    states = {}
    for i, subject in enumerate(sorted(table["subject"].unique())):
        states[subject] = channel0_state(i)
        torch.save(states[subject], wdir / f"{subject.split('/')[1]}.pth")
    return folder, labels, wdir, states


def test_the_tensor_handed_to_published_weights_is_cv2_imread(tmp_path, published, monkeypatch):
    folder, labels, wdir, _ = published
    table, classes, _ = apply_scheme(read_dataset("flow_png", folder, labels=str(labels)).table, "composite3")
    seen: list[torch.Tensor] = []
    real = flownets.predict_proba
    monkeypatch.setattr(flownets, "predict_proba", lambda model, x: (seen.append(x.clone()), real(model, x))[1])
    folds = make_folds(table, "cde")
    pairs = [(subset(table, f.train_keys), subset(table, f.test_keys)) for f in folds]
    ctx = RunContext(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", classes=classes, progress=False)
    create_method("ststnet", {"weights_dir": str(wdir)}).fit_predict_folds(pairs, ctx)
    assert len(seen) == len(pairs)
    for x, (_, test) in zip(seen, pairs):
        ref = torch.stack([imread_tensor(p) for p in test["flow_png"]])
        assert x.dtype == torch.float32
        torch.testing.assert_close(x, ref, rtol=0, atol=0)  # exactly, channel order included


def test_published_weights_end_to_end_through_microexpr_run(tmp_path, published, capsys):
    folder, labels, wdir, states = published
    out = tmp_path / "run"
    code = main(["run", str(CONFIG), "--data", f"flow_png={folder}", "--option", f"flow_png.labels={labels}",
                 "--set", f"method.params.weights_dir={wdir}", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    pred = pd.read_csv(out / "predictions.csv")
    table = read_dataset("flow_png", folder, labels=str(labels)).table.set_index("key")
    n_checked = 0
    for subject, st in states.items():
        rows = pred[[key_identity(k)[:2] == key_identity(subject + "/x")[:2] for k in pred["key"]]]  # smic/s1 = smic/s01
        x = torch.stack([imread_tensor(table.loc[k, "flow_png"]) for k in rows["key"]])
        ref = reference_proba(st, x)
        rgb = reference_proba(st, x.flip(1))  # what the doubled flip fed the model
        assert np.abs(ref - rgb).max() > 0.02 and 0.01 < ref.min() and ref.max() < 0.99  # not saturated
        got = rows[[f"p_{c}" for c in CLASSES]].to_numpy()
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
        n_checked += len(rows)
    assert n_checked == len(pred) == len(table)
    resolved = (out / "config.yaml").read_text()
    assert f"weights_dir: {wdir}" in resolved  # the override is recorded
