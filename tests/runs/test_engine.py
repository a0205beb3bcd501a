"""The protocol engine: resumable runs, leakage guards, output files, batched folds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from tests.runs.runs_helpers import CLASSES, feature_file, labelled_table, run_config, run_data

from microexpr.errors import ConfigError, ModelError, ProtocolError
from microexpr.methods.registry import register_method
from microexpr.methods.simple import LogisticMethod
from microexpr.metrics import compute_metrics
from microexpr.runs import execute_run


class Interrupted(RuntimeError):
    pass


@register_method("_test_counting_logistic")
class CountingLogistic(LogisticMethod):
    """``logistic`` that counts fits and can simulate a crash after N fits (test only)."""

    fits: ClassVar[list[str]] = []
    crash_after: ClassVar[int | None] = None
    seen_test_columns: ClassVar[list[list[str]]] = []

    def fit(self, train, ctx):
        if CountingLogistic.crash_after is not None and len(CountingLogistic.fits) >= CountingLogistic.crash_after:
            raise Interrupted(f"simulated kill before fold {ctx.fold}")
        CountingLogistic.fits.append(ctx.fold)
        return super().fit(train, ctx)

    def predict_proba(self, test, ctx):
        CountingLogistic.seen_test_columns.append(list(test.columns))
        return super().predict_proba(test, ctx)


@register_method("_test_bad_proba")
class BadProba:
    def __init__(self) -> None:
        pass

    def fit(self, train, ctx):
        return self

    def predict_proba(self, test, ctx):
        return np.full((len(test), ctx.n_classes), 0.5)


@register_method("_test_batched")
class Batched:
    calls: ClassVar[list[int]] = []
    fits: ClassVar[int] = 0

    def __init__(self) -> None:
        pass

    def fit(self, train, ctx):
        Batched.fits += 1
        self.label_ = int(train["label"].mode().min())
        return self

    def predict_proba(self, test, ctx):
        p = np.zeros((len(test), ctx.n_classes))
        p[:, self.label_] = 1
        return p

    def fit_predict_folds(self, folds, ctx):
        Batched.calls.append(len(folds))
        out = []
        for train, test in folds:
            self.fit(train, ctx)
            out.append(self.predict_proba(test, ctx))
        return out


@register_method("_test_batched_chunks")
class BatchedChunks(Batched):
    """Trains folds in groups of ``fold_chunk``; crashes on the group numbered ``crash_on``."""

    fold_chunk: ClassVar[int] = 2
    crash_on: ClassVar[int | None] = None

    def fit_predict_folds(self, folds, ctx):
        if BatchedChunks.crash_on is not None and len(Batched.calls) == BatchedChunks.crash_on:
            raise RuntimeError("killed")
        return super().fit_predict_folds(folds, ctx)


@pytest.fixture()
def setup(tmp_path):
    table = labelled_table({"casme2": 4, "samm": 3}, clips_per_subject=4, seed=1)
    feats = feature_file(tmp_path / "feats.npz", table, seed=1)
    CountingLogistic.fits.clear()
    CountingLogistic.crash_after = None
    CountingLogistic.seen_test_columns.clear()
    cfg = run_config({"name": "_test_counting_logistic", "params": {"features": str(feats)}}, {"name": "cde"})
    return table, feats, cfg


def _files(run_dir: Path) -> dict[str, str]:
    return {n: (run_dir / n).read_text() for n in ("predictions.csv", "metrics.json", "folds.json", "clips.csv")}


def test_interrupted_run_resumes_without_recomputing_and_matches_an_uninterrupted_run(setup, tmp_path):
    table, _, cfg = setup
    n_folds = table["subject"].nunique()
    full = execute_run(cfg, tmp_path / "full", progress=False, data=run_data(table))
    assert len(CountingLogistic.fits) == n_folds and len(full.computed) == n_folds

    CountingLogistic.fits.clear()
    CountingLogistic.crash_after = 3
    with pytest.raises(Interrupted):
        execute_run(cfg, tmp_path / "resumed", progress=False, data=run_data(table))
    assert len(list((tmp_path / "resumed" / "folds" / "seed0").glob("*.csv"))) == 3
    assert not (tmp_path / "resumed" / "metrics.json").exists()

    CountingLogistic.fits.clear()
    CountingLogistic.crash_after = None
    resumed = execute_run(cfg, tmp_path / "resumed", progress=False, data=run_data(table))
    assert len(CountingLogistic.fits) == n_folds - 3  # finished folds are not recomputed
    assert len(resumed.skipped) == 3 and len(resumed.computed) == n_folds - 3
    assert resumed.metrics == full.metrics
    assert _files(tmp_path / "resumed") == _files(tmp_path / "full")
    # a deleted fold file is recomputed, and only that one
    CountingLogistic.fits.clear()
    next((tmp_path / "resumed" / "folds" / "seed0").glob("samm__*.csv")).unlink()
    again = execute_run(cfg, tmp_path / "resumed", progress=False, data=run_data(table))
    assert len(CountingLogistic.fits) == 1 and again.metrics == full.metrics


def test_outputs_are_complete_and_consistent(setup, tmp_path):
    table, _, cfg = setup
    res = execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    pred = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert list(pred.columns) == ["key", "dataset", "subject", "fold", "seed", "y_true", "y_pred", *[f"p_{c}" for c in CLASSES]]
    assert sorted(pred["key"]) == sorted(table["key"])  # each clip predicted once
    assert (pred["fold"] == pred["subject"]).all()  # CDE: the fold is the test subject
    truth = dict(zip(table["key"], table["label"]))
    assert (pred["y_true"] == pred["key"].map(truth)).all()
    probs = pred[[f"p_{c}" for c in CLASSES]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1) and (pred["y_pred"] == probs.argmax(axis=1)).all()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    ref = compute_metrics(pred["y_true"], pred["y_pred"], CLASSES)
    assert metrics["overall"]["uf1"] == pytest.approx(ref["uf1"]) and metrics["overall"]["confusion"] == ref["confusion"]
    samm = pred[pred["dataset"] == "samm"]
    assert metrics["per_dataset"]["samm"]["uar"] == pytest.approx(compute_metrics(samm["y_true"], samm["y_pred"], CLASSES)["uar"])
    assert metrics["synthetic"] is True and metrics["overall"]["uf1"] > 0.6  # separable synthetic features
    folds = json.loads((tmp_path / "run" / "folds.json").read_text())
    assert {f["name"]: f["n_test"] for f in folds["folds"]} == table.groupby("subject").size().to_dict()
    assert all(f["n_train"] == len(table) - f["n_test"] for f in folds["folds"])
    log = (tmp_path / "run" / "run.log").read_text()
    assert "fold casme2/s00" in log and "finished" in log
    assert res.predictions.shape[0] == len(table)
    # methods never see the test labels
    assert CountingLogistic.seen_test_columns and not any("label" in c for c in CountingLogistic.seen_test_columns)


def test_restart_with_a_different_config_or_different_clips_is_refused(setup, tmp_path):
    table, feats, cfg = setup
    execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    other = run_config({"name": "_test_counting_logistic", "params": {"features": str(feats), "C": 0.1}}, {"name": "cde"})
    with pytest.raises(ConfigError, match=r"different config \(method.params.C: 1.0 in the run dir vs 0.1 now\)"):
        execute_run(other, tmp_path / "run", progress=False, data=run_data(table))
    changed = table.copy()
    changed.loc[0, ["label", "label_name"]] = [(changed.loc[0, "label"] + 1) % 3, CLASSES[(changed.loc[0, "label"] + 1) % 3]]
    with pytest.raises(ConfigError, match="clips or their labels changed"):
        execute_run(cfg, tmp_path / "run", progress=False, data=run_data(changed))
    # extra seeds are not a different run: the existing seed is reused
    CountingLogistic.fits.clear()
    two = run_config({"name": "_test_counting_logistic", "params": {"features": str(feats)}}, {"name": "cde"}, seeds=[0, 1])
    res = execute_run(two, tmp_path / "run", progress=False, data=run_data(table))
    n = table["subject"].nunique()
    assert len(res.skipped) == n and len(res.computed) == n
    assert set(res.metrics["per_seed"]) == {"0", "1"} and "std" in res.metrics["overall"]


def test_bad_probabilities_name_the_method_and_fold(tmp_path):
    table = labelled_table({"casme2": 3})
    cfg = run_config({"name": "_test_bad_proba"}, {"name": "loso"}, datasets=("casme2",))
    with pytest.raises(ModelError, match=r"method '_test_bad_proba', fold 'casme2/s00': predict_proba: rows must sum to 1"):
        execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))


def test_auxiliary_data_holding_a_test_subject_is_refused(tmp_path):
    table = labelled_table({"casme2": 3})
    cfg = run_config({"name": "majority"}, {"name": "loso"}, datasets=("casme2",))
    aux = table[table["subject"] == "casme2/s01"].drop(columns=["label", "label_name"])
    with pytest.raises(ProtocolError, match=r"auxiliary dataset 'ck' contains subject\(s\) \['casme2/s01'\]"):
        execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table, {"ck": aux}))


def test_hde_run_tests_only_the_held_out_dataset_with_the_majority_baseline(tmp_path):
    table = labelled_table({"casme2": 3, "samm": 2, "smic": 2}, seed=3)
    cfg = run_config({"name": "majority"}, {"name": "hde", "test": "smic"}, datasets=("casme2", "samm", "smic"))
    res = execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    (fold,) = res.folds
    assert fold.name == "train=casme2+samm_test=smic"
    assert set(res.predictions["dataset"]) == {"smic"} and set(res.metrics["per_dataset"]) == {"smic"}
    train_labels = table.loc[table["dataset"] != "smic", "label"]
    majority = int(np.argmax(np.bincount(train_labels, minlength=3)))
    assert (res.predictions["y_pred"] == majority).all()
    assert (tmp_path / "run" / "folds" / "seed0" / "train=casme2+samm_test=smic.csv").is_file()


@pytest.mark.parametrize("batched", [True, False])
def test_batched_methods_get_all_pending_folds_at_once(tmp_path, batched):
    table = labelled_table({"casme2": 4}, seed=2)
    Batched.calls.clear()
    Batched.fits = 0
    cfg = run_config({"name": "_test_batched"}, {"name": "loso"}, datasets=("casme2",), batched_folds=batched)
    res = execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    assert Batched.calls == ([4] if batched else [])
    assert Batched.fits == 4 and len(list((tmp_path / "run" / "folds" / "seed0").glob("*.csv"))) == 4
    if batched:  # resume: only the missing fold goes to fit_predict_folds
        (tmp_path / "run" / "folds" / "seed0" / "casme2__s02.csv").unlink()
        again = execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
        assert Batched.calls == [4, 1] and again.metrics == res.metrics


def test_batched_folds_are_saved_group_by_group_so_a_crash_keeps_finished_groups(tmp_path):
    table = labelled_table({"casme2": 5}, seed=2)
    Batched.calls.clear()
    BatchedChunks.crash_on = 2  # the third group (folds 5) dies
    cfg = run_config({"name": "_test_batched_chunks"}, {"name": "loso"}, datasets=("casme2",), batched_folds=True)
    with pytest.raises(RuntimeError, match="killed"):
        execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    assert Batched.calls == [2, 2]
    assert len(list((tmp_path / "run" / "folds" / "seed0").glob("*.csv"))) == 4  # two groups kept
    BatchedChunks.crash_on = None
    res = execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    assert Batched.calls == [2, 2, 1] and len(res.predictions) == len(table)


def test_clip_level_kfold_warning_reaches_the_metrics_notes(tmp_path):
    table = labelled_table({"casme2": 3}, clips_per_subject=6)
    cfg = run_config({"name": "majority"}, {"name": "kfold", "k": 3, "grouped": False}, datasets=("casme2",))
    with pytest.warns(UserWarning, match="subjects mix"):
        res = execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    assert any("subjects mix" in n for n in res.metrics["notes"])
    assert "subjects mix" in (tmp_path / "run" / "run.log").read_text()


def test_a_run_that_failed_before_any_fold_finished_can_restart_with_a_fixed_config(tmp_path):
    table = labelled_table({"casme2": 3})
    wrong = run_config({"name": "logistic", "params": {"features": str(tmp_path / "typo.npz")}}, {"name": "loso"}, datasets=("casme2",))
    with pytest.raises(Exception, match="typo.npz not found"):
        execute_run(wrong, tmp_path / "run", progress=False, data=run_data(table))
    fixed = run_config({"name": "logistic", "params": {"features": str(feature_file(tmp_path / "f.npz", table))}}, {"name": "loso"}, datasets=("casme2",))
    res = execute_run(fixed, tmp_path / "run", progress=False, data=run_data(table))
    assert len(res.computed) == 3


def test_shuffled_labels_permute_label_and_name_together_and_keep_the_rest():
    table = labelled_table({"casme2": 4, "samm": 3}, clips_per_subject=4, seed=5)
    data = run_data(table)
    a, b = data.with_shuffled_labels(1), data.with_shuffled_labels(1)
    assert a.table["label"].tolist() == b.table["label"].tolist()  # deterministic per seed
    assert a.table["label"].tolist() != data.with_shuffled_labels(2).table["label"].tolist()
    assert sorted(a.table["label"]) == sorted(table["label"]) and a.table["label"].tolist() != table["label"].tolist()
    assert all(data.classes[int(l)] == n for l, n in zip(a.table["label"], a.table["label_name"]))
    assert a.table["key"].tolist() == table["key"].tolist() and data.table["label"].tolist() == table["label"].tolist()
    assert a.classes == data.classes and a.aux_tables is data.aux_tables
    a.check()
