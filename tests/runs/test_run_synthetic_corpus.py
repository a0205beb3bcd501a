"""End to end through the real readers and label scheme: ``microexpr run`` on the synthetic corpus.

Slow (generates the quick synthetic corpus, ~20 s): run with ``-m slow``.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from microexpr.cli import main

pytestmark = pytest.mark.slow


def test_cli_run_reads_the_corpus_and_resumes(tmp_path, capsys):
    from microexpr.synth import generate_corpus

    roots = generate_corpus(tmp_path / "corpus", size="quick", seed=0, progress=False)
    cfg = tmp_path / "hde.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "majority_hde",
        "data": {"datasets": {"casme2": None, "samm": None, "smic": None}, "options": {"smic": {"apex": "middle"}},
                 "scheme": "composite3", "synthetic": True},
        "protocol": {"name": "hde", "test": ["casme2", "samm", "smic"]},
        "method": {"name": "majority"},
    }))
    args = ["run", str(cfg), "--out", str(tmp_path / "run"), "--quiet", "--data", *[f"{k}={roots[k]}" for k in ("casme2", "samm", "smic")]]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Synthetic data: these numbers show the pipeline works" in out and "train=samm+smic_test=casme2" in out
    pred = pd.read_csv(tmp_path / "run" / "predictions.csv")
    clips = pd.read_csv(tmp_path / "run" / "clips.csv")
    assert sorted(pred["key"]) == sorted(clips["key"])  # 3 HDE folds test every clip once
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics["per_dataset"]) == {"casme2", "samm", "smic"}
    assert main(args) == 0  # resume: everything reused
    assert "(0 fold(s) computed, 3 reused)" in capsys.readouterr().out
