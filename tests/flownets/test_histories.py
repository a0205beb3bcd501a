"""Every fold of a run leaves its per-epoch training history in RUN_DIR/history/seed<S>/,
whichever path trained it (batched fused kernels, fold by fold), and stages leave theirs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from microexpr.config import config_from_dict
from microexpr.runs import execute_run
from microexpr.training.history import COLUMNS
from tests.flownets.synthetic import clip_table, flow_images, write_labels_csv, write_pngs


def _png_run(tmp_path: Path, batched: bool, val_fraction: float = 0.0):
    table = clip_table(n_subjects=2, clips_per_class=2)
    folder = write_pngs(table, flow_images(table), tmp_path / "png")
    labels = write_labels_csv(table, tmp_path / "labels.csv")
    raw = {"name": "h", "data": {"datasets": {"flow_png": str(folder)}, "options": {"flow_png": {"labels": str(labels)}},
                                 "scheme": "composite3", "synthetic": True},
           "protocol": {"name": "cde"}, "seeds": [0], "batched_folds": batched, "n_jobs": 1,
           "method": {"name": "ststnet", "params": {"epochs": 4, "lr": 1e-2, "batch_size": 8, "fold_chunk": 4,
                                                     "val_fraction": val_fraction}}}
    return execute_run(config_from_dict(raw), tmp_path / "run", progress=False)


@pytest.mark.parametrize("batched,val_fraction", [(True, 0.0), (False, 0.0), (False, 0.34)])
def test_each_fold_has_its_history(tmp_path, batched, val_fraction):
    res = _png_run(tmp_path, batched, val_fraction)
    files = sorted((res.run_dir / "history" / "seed0").glob("*.csv"))
    assert len(files) == len(res.folds) == 6
    for f in files:
        rows = list(csv.DictReader(f.open()))
        assert tuple(rows[0]) == COLUMNS and [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
        loss = np.array([float(r["train_loss"]) for r in rows])
        acc = np.array([float(r["train_acc"]) for r in rows])
        assert np.all(np.isfinite(loss)) and np.all((0 <= acc) & (acc <= 1))
        assert sum(int(r["kept"]) for r in rows) == 1
        assert all(r["val_loss"] != "" for r in rows) == (val_fraction > 0)
        assert rows[0]["stage"].startswith("ststnet")
