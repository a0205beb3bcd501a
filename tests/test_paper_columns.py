"""Paper columns mean what the paper meant: each shipped ``paper_reference`` names the metric
definition behind every number, checked against the papers' own printed confusion matrices.

The independent references are the LAENet paper's Tables 5 and 6 (confusion matrices in %,
typed in below from ``shared/papers/001_*``; rows x the composite counts 250/109/83, 70/51/43,
88/32/25, 92/26/15 give the clip counts) and scikit-learn's precision/recall/F1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from microexpr.config import METRIC_NAMES, load_config
from microexpr.metrics import METRIC_DEFINITIONS, metrics_from_confusion
from microexpr.report import build_report
from microexpr.runs import execute_run

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
COUNTS = {"overall": (250, 109, 83), "smic": (70, 51, 43), "casme2": (88, 32, 25), "samm": (92, 26, 15)}
TABLE5_STSTNET = {
    "overall": [[87.60, 8.80, 3.60], [36.70, 56.88, 6.42], [25.30, 3.61, 71.08]],
    "smic": [[77.14, 14.29, 8.57], [33.33, 58.82, 7.84], [32.56, 2.33, 65.12]],
    "casme2": [[94.32, 5.68, 0], [37.50, 59.38, 3.13], [8, 0, 92]],
    "samm": [[89.13, 7.61, 3.26], [42.31, 50.00, 7.69], [33.33, 13.33, 53.33]],
}
TABLE6_LAENET = {
    "overall": [[89.60, 7.2, 3.2], [31.19, 61.47, 7.34], [22.89, 6.02, 71.08]],
    "smic": [[77.14, 15.71, 7.14], [29.41, 62.75, 7.84], [34.88, 9.30, 55.81]],
    "casme2": [[95.45, 4.55, 0], [15.63, 78.13, 6.25], [0, 0, 100]],
    "samm": [[93.48, 3.26, 3.26], [53.85, 38.46, 7.69], [26.67, 6.67, 66.67]],
}


def counts(percent: list[list[float]], scope: str) -> np.ndarray:
    cm = np.rint(np.array(percent) * np.array(COUNTS[scope])[:, None] / 100).astype(int)
    assert tuple(cm.sum(1)) == COUNTS[scope]  # the percentages are of these clip counts
    return cm


def sklearn_scores(cm: np.ndarray) -> dict[str, float]:
    """Every definition computed by scikit-learn from the clips the matrix counts."""
    k = cm.shape[0]
    yt = np.repeat(np.repeat(np.arange(k), k), cm.ravel())
    yp = np.repeat(np.tile(np.arange(k), k), cm.ravel())
    p = precision_score(yt, yp, average="macro", zero_division=0)
    r = recall_score(yt, yp, average="macro")
    f = f1_score(yt, yp, average="macro")
    return {"acc": accuracy_score(yt, yp), "uar": r, "uf1": f, "macro_f1": f, "f1": f, "macro_precision": p,
            "f1_macro_pr": 2 * p * r / (p + r)}


@pytest.mark.parametrize("config,row,table", [("laenet_cde", "LAENet", TABLE6_LAENET), ("laenet_cde", "STSTNet", TABLE5_STSTNET),
                                              ("ststnet_cde", "STSTNet", TABLE5_STSTNET),
                                              ("ststnet_cde_png", "STSTNet", TABLE5_STSTNET)])
def test_laenet_table4_numbers_are_recomputed_from_its_confusion_matrices(config, row, table):
    ref = load_config(CONFIGS / f"{config}.yaml").paper_reference
    checked = 0
    for scope, printed in ref.rows[row].items():
        cm = counts(table[scope], scope)
        ours = metrics_from_confusion(cm, ["negative", "positive", "surprise"])
        theirs = sklearn_scores(cm)
        for metric, value in printed.items():
            assert round(theirs[metric], 4) == pytest.approx(value, abs=1e-9), (scope, metric)  # the paper's definition
            assert ours[metric] == pytest.approx(theirs[metric], abs=1e-12)  # and ours computes it
            checked += 1
    assert checked >= 10


def test_the_wrong_definitions_do_not_reproduce_the_printed_numbers():
    """What the report did before: UF1 under LAENet's 'F1-score', recall under STSTNet's 'UAR'."""
    laenet = sklearn_scores(counts(TABLE6_LAENET["overall"], "overall"))
    ststnet = sklearn_scores(counts(TABLE5_STSTNET["overall"], "overall"))
    assert round(laenet["uf1"], 4) == 0.7568 != 0.7597 == round(laenet["f1_macro_pr"], 4)
    assert round(ststnet["uf1"], 4) == 0.7353 != 0.7389 == round(ststnet["f1_macro_pr"], 4)
    assert round(ststnet["uar"], 4) == 0.7186 != 0.7605 == round(ststnet["macro_precision"], 4)


def test_every_shipped_paper_column_names_a_defined_metric():
    seen = set()
    for path in sorted(CONFIGS.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        ref = raw.get("paper_reference")
        if not ref:
            continue
        load_config(path)
        for row, scopes in ref["rows"].items():
            for scope, values in scopes.items():
                assert "f1" not in values, f"{path.name}: {row}.{scope} uses the ambiguous 'f1'; name its definition"
                seen.update(values)
        assert ref.get("notes") or ref.get("printed_as"), f"{path.name}: say how the paper defines its columns"
    assert seen <= set(METRIC_DEFINITIONS) <= set(METRIC_NAMES)
    assert {"f1_macro_pr", "macro_precision", "macro_f1", "uf1", "uar", "acc"} <= seen


def test_report_prints_ours_under_the_papers_definitions_with_footnotes(tmp_path):
    from tests.runs.runs_helpers import feature_file, labelled_table, run_config, run_data

    ref = yaml.safe_load((CONFIGS / "laenet_cde.yaml").read_text())["paper_reference"]
    table = labelled_table({"casme2": 3, "samm": 3, "smic": 2}, seed=4)
    feats = feature_file(tmp_path / "f.npz", table, seed=4)
    cfg = run_config({"name": "logistic", "params": {"features": str(feats)}}, {"name": "cde"},
                     datasets=("casme2", "samm", "smic"), paper_reference=ref)
    res = execute_run(cfg, tmp_path / "run", progress=False, data=run_data(table))
    text = build_report(tmp_path / "run", markdown=True)
    header = next(line for line in text.splitlines() if line.startswith("| Scope"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["Scope", "Source", "Acc", "F1(P,R)", "UF1", "UAR", "macro-P", "N"]
    ours = next(line for line in text.splitlines() if line.startswith("| overall | ours"))
    o = res.metrics["overall"]
    assert [c.strip() for c in ours.strip("|").split("|")][2:7] == [
        f"{o[m]:.4f}" for m in ("acc", "f1_macro_pr", "uf1", "uar", "macro_precision")]
    assert "paper: STSTNet printed F1(P,R) as 'F1-score', macro-P as 'UAR'" in text
    assert METRIC_DEFINITIONS["f1_macro_pr"] in text and METRIC_DEFINITIONS["macro_precision"] in text
