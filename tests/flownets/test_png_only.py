"""STSTNet / LAENet from a flow-PNG folder ALONE (``flow_png`` dataset reader, no corpora).

Images are synthetic (``synthetic.py``: a class-specific motion patch per image); UF1
values here show the pipeline works, not how a method does on real micro-expressions.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from microexpr.config import config_from_dict, load_config, resolve_config, with_data_overrides
from microexpr.datasets import read_dataset
from microexpr.errors import ConfigError, ModelError
from microexpr.labels import apply_scheme
from microexpr.methods import RunContext, create_method
from microexpr.protocols import make_folds
from microexpr.runs import execute_run
from microexpr.cliptable import subset
from tests.flownets.synthetic import CLASSES, clip_table, flow_images, write_pngs
from tests.flownets.ststnet_reference import published_state, reference_forward

# Measured on these synthetic images (9 subjects of 3 corpora, CDE, FAST settings): UF1
# 0.87 with the true labels, 0.32 with shuffled labels (chance is 1/3); the bounds leave
# room for platform rounding.
UF1_BOUND = 0.75
SHUFFLED_MAX = 0.55
FAST = dict(epochs=6, lr=1e-2, batch_size=12)
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ststnet_cde_png.yaml"


def png_folder(tmp_path: Path, *, shuffle: bool = False) -> tuple[Path, Path]:
    """A flat folder ``<subject>_<clip> .png`` (class planted in each image) and a labels CSV
    ``subject,clip,label`` (labels permuted with ``shuffle``)."""
    table = clip_table(n_subjects=3, clips_per_class=2)
    folder = write_pngs(table, flow_images(table), tmp_path / "png")
    labels = table["label"].to_numpy()
    if shuffle:
        labels = np.random.default_rng(0).permutation(labels)
    path = tmp_path / f"labels{'_shuffled' if shuffle else ''}.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "clip", "label"])
        for s, c, y in zip(table["subject"], table["clip"], labels):
            w.writerow([s.split("/")[1], c, CLASSES[y]])
    return folder, path


def run_config(folder: Path, labels: Path, method: str = "ststnet", params: dict | None = None, protocol=None):
    raw = {
        "name": f"png_{method}", "data": {"datasets": {"flow_png": str(folder)}, "options": {"flow_png": {"labels": str(labels)}},
                                          "scheme": "composite3", "synthetic": True},
        "protocol": protocol or {"name": "cde"},
        "method": {"name": method, "params": {**FAST, **(params or {})}},
        "seeds": [0], "batched_folds": False, "n_jobs": 1,
    }
    return config_from_dict(raw)


def test_ststnet_cde_from_the_png_folder_alone(tmp_path):
    folder, labels = png_folder(tmp_path)
    res = execute_run(run_config(folder, labels), tmp_path / "run", progress=False)
    assert len(res.folds) == 9  # CDE: one fold per subject (3 per corpus)
    assert set(res.metrics["per_dataset"]) == {"casme2", "samm", "smic"}
    _, shuffled = png_folder(tmp_path, shuffle=True)
    res_sh = execute_run(run_config(folder, shuffled), tmp_path / "run_shuffled", progress=False)
    uf1, uf1_sh = res.metrics["overall"]["uf1"], res_sh.metrics["overall"]["uf1"]
    print(f"synthetic STSTNet CDE from PNGs alone: UF1 {uf1:.3f}, shuffled labels {uf1_sh:.3f}")
    assert uf1 >= UF1_BOUND and uf1_sh <= SHUFFLED_MAX


def test_laenet_hde_from_the_png_folder_needs_eye_mask_off(tmp_path):
    folder, labels = png_folder(tmp_path)
    hde = {"name": "hde", "train": ["casme2", "samm"], "test": "smic"}
    with pytest.raises(ConfigError, match="eye_mask cannot be applied to precomputed flow PNGs"):
        execute_run(run_config(folder, labels, "laenet", {"pretrain_ckplus": False}, hde), tmp_path / "r1", progress=False)
    res = execute_run(run_config(folder, labels, "laenet", {"pretrain_ckplus": False, "eye_mask": False}, hde),
                      tmp_path / "r2", progress=False)
    (fold,) = res.folds
    assert fold.name.endswith("test=smic") and all(k.startswith("smic/") for k in fold.test_keys)
    assert {k.split("/")[0] for k in fold.train_keys} == {"casme2", "samm"}
    assert set(res.metrics["per_dataset"]) == {"smic"}


def labelled_png_table(folder: Path, labels: Path):
    table, classes, _ = apply_scheme(read_dataset("flow_png", folder, labels=str(labels)).table, "composite3")
    return table, classes


def test_published_weights_evaluate_the_png_only_table_in_opencv_bgr255(tmp_path):
    folder, labels = png_folder(tmp_path)
    table, classes = labelled_png_table(folder, labels)
    wdir = tmp_path / "weights"
    wdir.mkdir()
    states = {}
    for i, subject in enumerate(sorted(table["subject"].unique())):
        st = published_state()
        st["fc.bias"] = st["fc.bias"] + i  # distinct per subject
        torch.save(st, wdir / f"{subject.split('/')[1]}.pth")  # sub01.pth, 006.pth, s01.pth
        states[subject] = st
    folds = make_folds(table, "cde")
    pairs = [(subset(table, f.train_keys), subset(table, f.test_keys)) for f in folds]
    ctx = RunContext(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", classes=classes, progress=False)
    method = create_method("ststnet", {"weights_dir": str(wdir)})  # no flow_png_dir: the table's PNGs
    probs = method.fit_predict_folds(pairs, ctx)
    for (_, test), p in zip(pairs, probs):
        # what the published code feeds: cv2.imread (BGR) as float 0..255, channels first
        x = torch.stack([torch.from_numpy(cv2.imread(f).astype(np.float32)).permute(2, 0, 1) for f in test["flow_png"]])
        ref = torch.softmax(reference_forward(states[test["subject"][0]], x).double(), 1).numpy()
        np.testing.assert_allclose(p, ref, atol=1e-5)
    # and through the run engine with the shipped config
    cfg = with_data_overrides(load_config(CONFIG), [f"flow_png={folder}"])
    raw = resolve_config(cfg)
    raw["data"]["options"]["flow_png"]["labels"] = str(labels)
    raw["method"]["params"]["weights_dir"] = str(wdir)
    res = execute_run(config_from_dict(raw), tmp_path / "run_cfg", progress=False)
    pred = res.predictions.set_index("key")
    for (_, test), p in zip(pairs, probs):
        np.testing.assert_array_equal(pred.loc[list(test["key"]), "y_pred"].to_numpy(), p.argmax(1))


def test_flow_png_dir_mismatch_mixed_tables_and_export_are_refused(tmp_path):
    folder, labels = png_folder(tmp_path)
    table, classes = labelled_png_table(folder, labels)
    ctx = RunContext(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", classes=classes, progress=False)
    other = tmp_path / "elsewhere"
    other.mkdir()
    with pytest.raises(ConfigError, match="flow_png_dir .*elsewhere is not the folder"):
        create_method("ststnet", {**FAST, "flow_png_dir": str(other)}).fit(table, ctx)
    same = create_method("ststnet", {**FAST, "epochs": 1, "flow_png_dir": str(folder)}).fit(table, ctx)
    with pytest.raises(ModelError, match="precomputed flow PNGs"):
        create_method("ststnet", {**FAST, "epochs": 1}).fit(table, ctx).export_payload()
    assert same.predict_proba(table, ctx).shape == (len(table), 3)
    mixed = table.copy()
    mixed.loc[0, "flow_png"] = None
    with pytest.raises(ConfigError, match="mixes precomputed flow PNGs"):
        create_method("ststnet", {**FAST}).fit(mixed, ctx)


def test_shipped_png_config_is_valid_and_states_the_paper_numbers():
    cfg = load_config(CONFIG)
    assert list(cfg.data.datasets) == ["flow_png"] and cfg.method.name == "ststnet"
    ref = yaml.safe_load(CONFIG.read_text())["paper_reference"]["rows"]["STSTNet"]
    assert ref["overall"]["uf1"] == 0.7353 and set(ref) == {"overall", "casme2", "samm", "smic"}
    with pytest.raises(ConfigError, match="paper_reference.rows.STSTNet.ckplus"):
        bad = yaml.safe_load(CONFIG.read_text())
        bad["paper_reference"]["rows"]["STSTNet"]["ckplus"] = {"uf1": 0.5}
        config_from_dict(bad)
