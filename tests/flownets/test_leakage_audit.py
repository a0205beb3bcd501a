"""The leakage audit makes the leak visible: on SHUFFLED labels (nothing to learn) the honest
score stays near chance while "the best epoch of each test fold" scores clearly above it.

Synthetic flow images (``synthetic.py``): the numbers show what the audit measures, not how a
method does on real micro-expressions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from microexpr.cli import main
from microexpr.config import config_from_dict
from microexpr.report import build_report
from microexpr.runs import execute_run
from tests.flownets.synthetic import clip_table, flow_images, write_labels_csv, write_pngs


def _shuffled_png_run(tmp_path: Path, batched: bool, epochs: int = 30):
    table = clip_table(n_subjects=3, clips_per_class=2)
    folder = write_pngs(table, flow_images(table), tmp_path / "png")
    labels = np.random.default_rng(5).permutation(table["label"].to_numpy())  # nothing left to learn
    path = write_labels_csv(table, tmp_path / "labels.csv", labels)
    raw = {"name": "audit", "data": {"datasets": {"flow_png": str(folder)}, "options": {"flow_png": {"labels": str(path)}},
                                     "scheme": "composite3", "synthetic": True},
           "protocol": {"name": "cde"}, "seeds": [0], "batched_folds": batched, "n_jobs": 1, "audit": {"test_every": 1},
           "method": {"name": "ststnet", "params": {"epochs": epochs, "lr": 1e-2, "batch_size": 12, "fold_chunk": 9}}}
    return execute_run(config_from_dict(raw), tmp_path / "run", progress=False)


def test_oracle_epoch_selection_inflates_a_chance_level_score(tmp_path):
    res = _shuffled_png_run(tmp_path, batched=True)
    audit = res.metrics["audit"]
    files = sorted((res.run_dir / "audit" / "seed0").glob("*.csv"))
    assert len(files) == len(res.folds) == 9
    df = pd.read_csv(files[0])
    assert sorted(df["epoch"].unique()) == list(range(30))  # every epoch scored, stored apart
    honest, oracle = audit["honest"]["uf1"], audit["oracle"]["uf1"]
    print(f"shuffled labels (synthetic): honest UF1 {honest:.3f}, best epoch per test fold {oracle:.3f}")
    assert abs(honest - res.metrics["overall"]["uf1"]) < 1e-12  # the run's own result is the honest one
    assert honest < 0.5 and oracle > honest + 0.15 and oracle > 0.5
    text = build_report(res.run_dir)
    assert "Leakage audit" in text and "oracle inflation" in text
    from microexpr.report.html import write_html_report

    assert 'id="fig-audit"' in write_html_report(res.run_dir).read_text()  # shown as a figure too


def test_fold_by_fold_training_is_audited_too_and_predictions_do_not_change(tmp_path):
    audited = _shuffled_png_run(tmp_path / "a", batched=False, epochs=4)
    assert len(list((audited.run_dir / "audit" / "seed0").glob("*.csv"))) == 9
    raw = json.loads(json.dumps(__import__("yaml").safe_load((audited.run_dir / "config.yaml").read_text())))
    raw["audit"] = {"test_every": 0}
    plain = execute_run(config_from_dict(raw), tmp_path / "plain", progress=False)
    pa = audited.predictions.set_index("key").sort_index()
    pp = plain.predictions.set_index("key").sort_index()
    np.testing.assert_array_equal(pa["y_pred"], pp["y_pred"])  # the audit never changes what is trained
    prob_cols = [c for c in pa.columns if c.startswith("p_")]
    np.testing.assert_allclose(pa[prob_cols].to_numpy(), pp[prob_cols].to_numpy(), rtol=0, atol=1e-12)


def test_kfold_mixed_rerun_prints_the_gap(tmp_path, capsys):
    res = _shuffled_png_run(tmp_path, batched=True, epochs=3)
    assert main(["audit", str(res.run_dir), "--kfold-mixed", "--k", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "honest: cde (subjects kept apart)" in out and "leaky: clip-level 3-fold" in out and "gap" in out
    mixed = json.loads((res.run_dir / "audit" / "kfold_mixed" / "metrics.json").read_text())
    assert "mixes subjects" in " ".join(mixed["notes"]) or mixed["protocol"] == "kfold"
