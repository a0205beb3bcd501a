"""Reports: paper numbers beside ours, the synthetic-data line, the CLI commands."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from tests.runs.runs_helpers import feature_file, labelled_table, run_config, run_data

from microexpr.cli import main
from microexpr.report import SYNTHETIC_LINE, build_report
from microexpr.runs import execute_run

PAPER = {
    "source": "LAENet (Lien & Chiang, 2020), Table 4",
    "metric_names": ["acc", "f1", "uf1", "uar"],
    "rows": {"LAENet": {"overall": {"uf1": 0.7353, "uar": 0.7605}, "samm": {"acc": 0.5321}}},
}


@pytest.fixture()
def finished_run(tmp_path):
    table = labelled_table({"casme2": 3, "samm": 3}, seed=4)
    feats = feature_file(tmp_path / "f.npz", table, seed=4)
    cfg = run_config({"name": "logistic", "params": {"features": str(feats)}}, {"name": "cde"}, paper_reference=PAPER)
    res = execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    return tmp_path / "run", res


def _rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]


def test_report_prints_the_papers_numbers_beside_ours_for_each_scope(finished_run):
    run_dir, res = finished_run
    rows = _rows(build_report(run_dir, markdown=True))
    assert rows[0] == ["Scope", "Source", "Acc", "F1", "UF1", "UAR", "N"]
    scoped = [r[:2] for r in rows[1:6]]
    assert scoped == [
        ["overall", "ours: logistic"],
        ["overall", "paper: LAENet"],
        ["casme2", "ours: logistic"],
        ["samm", "ours: logistic"],
        ["samm", "paper: LAENet"],
    ]
    assert rows[2][2:] == ["—", "—", "0.7353", "0.7605", "—"]
    assert rows[5][2:6] == ["0.5321", "—", "—", "—"]
    o = res.metrics["overall"]
    assert rows[1][2:] == [f"{o['acc']:.4f}", f"{o['f1']:.4f}", f"{o['uf1']:.4f}", f"{o['uar']:.4f}", str(o["n"])]
    assert "LAENet (Lien & Chiang, 2020), Table 4" in build_report(run_dir)


def test_synthetic_line_appears_only_for_synthetic_runs(finished_run, tmp_path):
    run_dir, _ = finished_run
    assert SYNTHETIC_LINE in build_report(run_dir)
    assert SYNTHETIC_LINE == (
        "Synthetic data: these numbers show the pipeline works; they say nothing about accuracy on real micro-expressions."
    )
    table = labelled_table({"casme2": 3})
    cfg = run_config({"name": "majority"}, {"name": "loso"}, datasets=("casme2",))
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, synthetic=False))
    data = run_data(table)
    data.synthetic = False
    execute_run(cfg, tmp_path / "real", progress=False, data=data)
    assert SYNTHETIC_LINE not in build_report(tmp_path / "real")


def test_cli_report_prints_tables_and_writes_report_md(finished_run, capsys):
    run_dir, res = finished_run
    assert main(["report", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "paper: LAENet" in out and "Confusion matrix" in out and "Folds (cde, 6 folds)" in out
    md = (run_dir / "report.md").read_text()
    assert md.startswith("# Report: t") and "| overall | paper: LAENet |" in md


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "lacks ['metrics.json'" in capsys.readouterr().err
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "x", "data": {"datasets": {"casme2": None}, "scheme": "composite3"},
        "protocol": {"name": "loso"}, "method": {"name": "majority"},
    }))
    assert main(["run", str(cfg), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "give each with --data NAME=DIR" in capsys.readouterr().err
    assert main(["run", str(cfg), "--data", "samm=/x", "--quiet"]) == 2
    assert "'samm' is not a dataset of this config" in capsys.readouterr().err
    assert main(["run", str(cfg), "--data", "casme2=/x", "--option", "casme2.labels=gt.csv", "--quiet"]) == 2
    assert "the casme2 reader has no option 'labels'" in capsys.readouterr().err


def test_report_of_several_runs_prints_one_table_of_all_beside_the_paper(finished_run, tmp_path, capsys):
    run_dir, res = finished_run
    table = labelled_table({"casme2": 3, "samm": 3}, seed=4)
    cfg = run_config({"name": "majority", "params": {}}, {"name": "cde"}, paper_reference=PAPER)
    other = execute_run(cfg, tmp_path / "other", progress=False, data=run_data(table))
    capsys.readouterr()
    assert main(["report", str(run_dir), str(tmp_path / "other"), "--markdown"]) == 0
    out = capsys.readouterr().out
    section = out[out.index("### Runs beside the paper's table"):]
    rows = _rows(section)
    assert rows[0][:4] == ["Method", "overall Acc", "overall F1", "overall UF1"]
    assert [r[0] for r in rows[1:4]] == ["run", "other", "paper: LAENet"]
    assert rows[1][1] == f"{res.metrics['overall']['acc']:.4f}"
    assert rows[2][1] == f"{other.metrics['overall']['acc']:.4f}"
