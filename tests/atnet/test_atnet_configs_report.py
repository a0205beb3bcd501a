"""The ATNet paper configs (Tables II and III) and the reports built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from microexpr.config import dump_config, load_config, resolve_config
from microexpr.methods import create_method
from microexpr.report.compare import comparison_table as variants_table
from microexpr.report import build_report
from microexpr.report.tables import render

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
VARIANTS = ("fusion", "spatial", "temporal")


@pytest.mark.parametrize("table", ["cde", "hde"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_paper_configs_build_and_carry_the_papers_numbers(table, variant):
    cfg = load_config(CONFIGS / f"atnet_{table}_{variant}.yaml")
    method = create_method(cfg.method.name, cfg.method.params)
    assert method.variant == variant
    assert method.adm_shape == (64, 128) and method.input_size == 224
    assert (method.lr, method.momentum, method.weight_decay, method.epochs, method.step_size) == (0.01, 0.9, 5e-6, 50, 10)
    assert (method.max_rotation, method.max_shift, method.aug_p) == (5.0, 10, 0.5)
    assert cfg.data.scheme == "composite3" and set(cfg.data.datasets) == {"casme2", "samm", "smic"}
    assert cfg.data.options["smic"] == {"apex": "middle"}
    assert method.pretrain_macro == (variant != "temporal") and ("ckplus" in cfg.data.aux) == (variant != "temporal")
    rows = cfg.paper_reference.rows
    assert len(rows) == 12 and {"ATNet fusion", "ATNet spatial stream", "ATNet temporal stream"} <= set(rows)
    if table == "cde":
        assert cfg.protocol.name == "cde" and cfg.paper_reference.metric_names == ["acc", "uf1", "uar"]
        # Table II, Full (442) and CASME II columns; text: "Acc, UF1 and UAR reach 0.693, 0.631 and 0.613"
        assert rows["ATNet fusion"]["overall"] == {"acc": 0.693, "uf1": 0.631, "uar": 0.613}
        assert rows["ATNet fusion"]["casme2"] == {"acc": 0.834, "uf1": 0.798, "uar": 0.775}
        assert rows["ATNet temporal stream"]["smic"] == {"acc": 0.530, "uf1": 0.527, "uar": 0.530}
        assert rows["LBP-TOP {3,3,3,4} TIM=10"]["overall"] == {"acc": 0.405, "uf1": 0.329, "uar": 0.335}
        assert rows["HOOF N=8, TIM=64"]["samm"] == {"acc": 0.602, "uf1": 0.316, "uar": 0.326}
    else:
        assert cfg.protocol.name == "hde" and cfg.protocol.params["test"] == ["casme2", "samm", "smic"]
        assert cfg.paper_reference.metric_names == ["uf1", "uar"]
        assert all("overall" not in r for r in rows.values())
        assert rows["ATNet temporal stream"] == {"casme2": {"uf1": 0.631, "uar": 0.643}, "samm": {"uf1": 0.450, "uar": 0.458},
                                                 "smic": {"uf1": 0.503, "uar": 0.524}}
        assert rows["ATNet fusion"]["smic"] == {"uf1": 0.497, "uar": 0.489}
        assert rows["Micro-Attention [19]"]["casme2"] == {"uf1": 0.338, "uar": 0.369}


def fake_run(root: Path, config_path: Path, scores: dict[str, dict[str, float]], protocol: str) -> Path:
    """A finished-looking run directory (metrics.json, config.yaml, folds.json) with given scores."""
    root.mkdir(parents=True)
    cfg = resolve_config(load_config(config_path), require_roots=False)
    (root / "config.yaml").write_text(dump_config(cfg))
    per_class = {c: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 1, "predicted": 1} for c in ("negative", "positive", "surprise")}
    block = {"overall": {**scores["overall"], "per_class": per_class, "classes": ["negative", "positive", "surprise"],
                         "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}}
    metrics = {"name": cfg["name"], "method": "atnet", "protocol": protocol, "seeds": [0], "synthetic": True,
               "overall": {**scores["overall"], "n": 3},
               "per_dataset": {k: {**v, "n": 1} for k, v in scores.items() if k != "overall"},
               "per_seed": {"0": block}}
    (root / "metrics.json").write_text(json.dumps(metrics))
    (root / "folds.json").write_text(json.dumps({"protocol": protocol, "folds": [{"name": "f", "n_train": 2, "n_test": 1}]}))
    return root


def test_reports_put_the_three_variants_and_the_paper_rows_side_by_side(tmp_path):
    scores = {v: {s: {"acc": 0.5 + i / 10, "uf1": 0.4 + i / 10, "uar": 0.45 + i / 10} for s in ("overall", "casme2", "samm", "smic")}
              for i, v in enumerate(VARIANTS)}
    runs = {f"ATNet {v} (ours)": fake_run(tmp_path / v, CONFIGS / f"atnet_hde_{v}.yaml", scores[v], "hde") for v in VARIANTS}
    # each run's own report prints the paper's numbers beside ours
    text = build_report(runs["ATNet fusion (ours)"])
    assert "paper: ATNet fusion" in text and "0.5230" in text and "ours: atnet" in text
    # the combined table: our three variants first, then the paper's rows; Table III has no Full column
    table = variants_table(runs)
    assert table.header == ["Method", "casme2 UF1", "casme2 UAR", "samm UF1", "samm UAR", "smic UF1", "smic UAR"]
    assert [r[0] for r in table.rows[:3]] == ["ATNet fusion (ours)", "ATNet spatial (ours)", "ATNet temporal (ours)"]
    assert table.rows[1][1:3] == ["0.5000", "0.5500"]  # spatial: uf1 0.4 + 0.1, uar 0.45 + 0.1
    paper = {r[0]: r[1:] for r in table.rows[3:]}
    assert paper["paper: ATNet temporal stream"] == ["0.6310", "0.6430", "0.4500", "0.4580", "0.5030", "0.5240"]
    assert len(paper) == 12
    assert any("Synthetic data" in n for n in table.notes)
    assert "Runs beside the paper's table" in render([table], markdown=True)
    # Table II layout: Full (overall) first, Acc/UF1/UAR per scope
    cde = {f"{v}": fake_run(tmp_path / f"cde_{v}", CONFIGS / f"atnet_cde_{v}.yaml", scores[v], "cde") for v in VARIANTS}
    t2 = variants_table(cde)
    assert t2.header[1:4] == ["overall Acc", "overall UF1", "overall UAR"] and len(t2.header) == 13
    assert {r[0]: r for r in t2.rows}["paper: ATNet fusion"][1:4] == ["0.6930", "0.6310", "0.6130"]
    assert yaml.safe_load((cde["fusion"] / "config.yaml").read_text())["method"]["params"]["variant"] == "fusion"
