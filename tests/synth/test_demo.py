"""``microexpr demo`` wiring: corpus reuse, two runs (CDE, HDE), run directories, disclaimer.

The deep method is swapped for ``majority`` (``--method``) so the test checks the demo's
plumbing in seconds; LAENet itself is exercised by running ``microexpr demo`` (see
benchmarks/demo_bench.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from microexpr.cli import main
from microexpr.errors import ConfigError
from microexpr.synth import GENERATOR_VERSION

import microexpr.runs  # noqa: F401


def _cache_with_corpus(tmp_path: Path, corpus: Path) -> Path:
    cache = tmp_path / "cache"
    (cache / "synth").mkdir(parents=True)
    (cache / "synth" / f"quick-seed0-v{GENERATOR_VERSION}").symlink_to(corpus, target_is_directory=True)
    return cache


def test_demo_runs_cde_and_hde_and_says_results_are_synthetic(quick_corpus, tmp_path: Path, capsys) -> None:
    corpus, _ = quick_corpus
    cache = _cache_with_corpus(tmp_path, corpus)
    before = (corpus / "synth_manifest.json").stat().st_mtime_ns
    code = main(["demo", "--method", "majority", "--cache", str(cache), "--out", str(tmp_path / "runs"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "say nothing about accuracy on real micro-expressions" in out
    assert (corpus / "synth_manifest.json").stat().st_mtime_ns == before  # corpus reused
    cde, hde = tmp_path / "runs" / "demo_majority_cde", tmp_path / "runs" / "demo_majority_hde"
    for run in (cde, hde):
        for name in ("predictions.csv", "metrics.json", "report.md", "config.yaml"):
            assert (run / name).is_file(), run / name
        assert json.loads((run / "metrics.json").read_text())["synthetic"] is True
    cde_pred, hde_pred = pd.read_csv(cde / "predictions.csv"), pd.read_csv(hde / "predictions.csv")
    assert cde_pred["key"].nunique() == 60  # every composite clip of the quick corpus tested once
    assert set(cde_pred["key"].str.split("/").str[0]) == {"casme2", "samm", "smic"}
    assert set(hde_pred["key"].str.split("/").str[0]) == {"smic"}  # HDE: train CASME II + SAMM, test SMIC
    assert "demo_majority_cde" in out and "demo_majority_hde" in out


def test_demo_names_missing_methods(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    from microexpr.cli import demo_cmd
    from microexpr.methods import registry

    monkeypatch.setattr(registry, "list_methods", lambda: ["majority"])
    with pytest.raises(ConfigError, match="neither method is installed.*--method"):
        demo_cmd.choose_method(None)
    monkeypatch.setattr(registry, "list_methods", lambda: ["majority", "ststnet"])
    assert demo_cmd.choose_method(None) == "ststnet"
    monkeypatch.setattr(registry, "list_methods", lambda: ["laenet", "ststnet"])
    assert demo_cmd.choose_method(None) == "laenet"
    code = main(["demo", "--method", "nope", "--cache", str(tmp_path), "--out", str(tmp_path / "runs")])
    assert code == 2 and "'nope' is not a registered method" in capsys.readouterr().err
