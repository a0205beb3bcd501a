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


def test_a_sweep_on_ray_survives_a_killed_worker_and_equals_local_runs(study, tmp_path, monkeypatch, capsys):
    """2 methods (logistic with a 2-value grid, majority) x 2 seeds on a local Ray with 2 CPUs, one
    worker killed mid-run: every point's run equals the same run made locally, fold for fold."""
    from microexpr.cli import main
    from microexpr.runs import execute_sweep

    base, table, method, local = study
    marker = tmp_path / "killed"
    monkeypatch.setenv(FAILPOINT_ENV, str(marker))
    sweep = run_config(method, {"name": "cde"}, name="sw", datasets=("casme2", "samm", "smic"), seeds=[0, 1],
                       executor="ray", n_jobs=2,
                       sweep={"methods": ["logistic", "majority"], "grid": {"method.params.C": [0.1, 0.5]}})
    result = execute_sweep(sweep, tmp_path / "sweep", progress=False, data=run_data(table))
    assert marker.read_text().startswith("killed worker")  # a Ray worker really died mid-run
    assert sorted(result.points) == ["logistic_C-0.1", "logistic_C-0.5", "majority"]
    _same_as_local(study, result.points["logistic_C-0.5"])  # C 0.5 is the local study's run
    monkeypatch.delenv(FAILPOINT_ENV)
    majority = execute_run(run_config({"name": "majority"}, {"name": "cde"}, datasets=("casme2", "samm", "smic"),
                                      seeds=[0, 1]), tmp_path / "majority_local", progress=False, data=run_data(table))
    pd.testing.assert_frame_equal(result.points["majority"].predictions, majority.predictions)
    assert result.points["logistic_C-0.1"].metrics["overall"] != local.metrics["overall"]  # the grid value mattered
    index = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert [p["values"] for p in index["points"]] == [{"method.params.C": 0.1}, {"method.params.C": 0.5}, {}]
    assert main(["report", str(tmp_path / "sweep")]) == 0
    out = capsys.readouterr().out
    uf1 = local.metrics["overall"]["uf1"], local.metrics["overall"]["std"]["uf1"]
    assert f"{uf1[0]:.4f} ± {uf1[1]:.4f}" in out and "majority" in out and out.count("±") >= 9


def test_a_local_sweep_keeps_each_points_log_apart_and_resumes(study, tmp_path):
    from microexpr.runs import execute_sweep

    base, table, method, local = study
    cfg = run_config(method, {"name": "cde"}, name="sw", datasets=("casme2", "samm", "smic"), seeds=[0],
                     sweep={"grid": {"method.params.C": [0.1, 0.5]}})
    first = execute_sweep(cfg, tmp_path / "sweep", progress=False, data=run_data(table))
    assert [len(r.computed) for r in first.points.values()] == [8, 8]
    for name, other in (("logistic_C-0.1", "C: 0.5"), ("logistic_C-0.5", "C: 0.1")):
        assert "C: " + name.rsplit("-", 1)[1] in (tmp_path / "sweep" / name / "config.yaml").read_text()
        log = (tmp_path / "sweep" / name / "run.log").read_text()
        assert log.count("fold accuracy") == 8  # its own folds, not the other point's
    again = execute_sweep(cfg, tmp_path / "sweep", progress=False, data=run_data(table))
    assert all(r.computed == [] and len(r.skipped) == 8 for r in again.points.values())
    assert again.points["logistic_C-0.5"].metrics["per_seed"]["0"] == local.metrics["per_seed"]["0"]
