"""Executors: the same run directory from ``local``, ``processes`` and ``ray``, also when a worker
process is killed mid-run (every fold present exactly once, metrics equal to the local run's)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from microexpr.runs import execute_run
from microexpr.runs.executors import FAILPOINT_ENV
from tests.runs.runs_helpers import feature_file, labelled_table, run_config, run_data


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    base = tmp_path_factory.mktemp("executors")
    table = labelled_table({"casme2": 3, "samm": 3, "smic": 2})
    feats = feature_file(base / "f.npz", table)
    method = {"name": "logistic", "params": {"features": str(feats), "C": 0.5}}
    local = execute_run(run_config(method, {"name": "cde"}, datasets=("casme2", "samm", "smic"), seeds=[0, 1]),
                        base / "local", progress=False, data=run_data(table))
    return base, table, method, local


def _run(study, name, executor, **extra):
    base, table, method, _ = study
    cfg = run_config(method, {"name": "cde"}, datasets=("casme2", "samm", "smic"), seeds=[0, 1],
                     executor=executor, n_jobs=2, **extra)
    return execute_run(cfg, base / name, progress=False, data=run_data(table))


def _same_as_local(study, result) -> None:
    local = study[3]
    folds = sorted(p.relative_to(result.run_dir / "folds").as_posix() for p in (result.run_dir / "folds").rglob("*.csv"))
    assert folds == sorted(p.relative_to(local.run_dir / "folds").as_posix()
                           for p in (local.run_dir / "folds").rglob("*.csv"))
    assert len(folds) == 2 * 8  # 2 seeds x 8 subjects (CDE = LOSO over the composite)
    assert result.metrics["overall"] == local.metrics["overall"]
    assert result.metrics["per_seed"] == local.metrics["per_seed"]
    pd.testing.assert_frame_equal(result.predictions, local.predictions)
    assert result.predictions.groupby(["seed", "key"]).size().max() == 1  # every clip once per seed


def test_processes_executor_gives_the_local_run(study):
    result = _run(study, "processes", "processes")
    _same_as_local(study, result)
    assert len(result.computed) == 16


def test_a_killed_worker_process_is_resubmitted_and_every_fold_appears_once(study, tmp_path, monkeypatch, caplog):
    marker = tmp_path / "killed"
    monkeypatch.setenv(FAILPOINT_ENV, str(marker))
    result = _run(study, "processes_killed", "processes")
    assert marker.read_text().startswith("killed worker")  # a worker really died mid-run
    _same_as_local(study, result)
    log = (result.run_dir / "run.log").read_text()
    assert "resubmitting" in log and "[worker " in log


def test_ray_executor_survives_a_killed_worker(study, tmp_path, monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setenv(FAILPOINT_ENV, str(marker))
    result = _run(study, "ray", "ray")
    assert marker.read_text().startswith("killed worker")
    _same_as_local(study, result)
    assert json.loads((result.run_dir / "metrics.json").read_text())["overall"] == study[3].metrics["overall"]
