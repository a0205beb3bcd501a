"""The baseline configs load, build their methods, and carry the papers' numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from microexpr.config import load_config, resolve_config
from microexpr.methods import create_method

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("baselines_*.yaml"))


def test_there_is_a_config_per_paper_row():
    names = {p.stem for p in CONFIGS}
    assert len([n for n in names if n.startswith("baselines_atnet_cde_")]) == 8
    assert len([n for n in names if n.startswith("baselines_atnet_hde_")]) == 8
    assert {"baselines_megc2019_lbptop_cde", "baselines_tlcnn_lbptop_rgb_tim32", "baselines_tlcnn_mdmo_tim64"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_resolves_and_builds_its_method(path):
    cfg = load_config(path)
    resolved = resolve_config(cfg, require_roots=False)
    create_method(cfg.method.name, resolved["method"]["params"])
    assert cfg.paper_reference is not None and cfg.paper_reference.rows


def test_reference_values_agree_with_the_papers_prose():
    """ATNet's text: LBP-TOP best CDE result 'Acc of 0.405, UF1 of 0.329 and UAR of 0.335' at
    TIM=10 ({3,3,3,4}); TLCNN's Table 3 means are the means of the per-fold values."""
    atnet = load_config(next(p for p in CONFIGS if p.stem == "baselines_atnet_cde_lbptop_3334_tim10"))
    row = next(iter(atnet.paper_reference.rows.values()))["overall"]
    assert row == {"acc": 0.405, "uf1": 0.329, "uar": 0.335}
    tl = load_config(next(p for p in CONFIGS if p.stem == "baselines_tlcnn_lbptop_rgb_tim64"))
    folds = [62.50, 66.96, 67.86, 66.96, 74.11]
    acc = next(iter(tl.paper_reference.rows.values()))["overall"]["acc"]
    assert acc == pytest.approx(sum(folds) / 5 / 100, abs=1e-4)
    assert tl.method.params["lam" if tl.method.name == "mdmo_svm" else "colour"] == "rgb"
