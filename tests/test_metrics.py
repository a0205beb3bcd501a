"""Metrics: cross-checked against scikit-learn, plus hand-worked cases for the MEGC rules."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from microexpr.errors import MicroexprError
from microexpr.metrics import compute_metrics, mean_over_seeds, per_fold_mean, pooled_metrics


@st.composite
def predictions(draw):
    k = draw(st.integers(2, 5))
    n = draw(st.integers(1, 60))
    y_true = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    return k, np.array(y_true), np.array(y_pred)


@settings(max_examples=50, deadline=None, database=None)
@given(predictions())
def test_metrics_match_scikit_learn(data):
    k, t, p = data
    classes = [f"c{i}" for i in range(k)]
    m = compute_metrics(t, p, classes)
    assert m["acc"] == pytest.approx(accuracy_score(t, p))
    # UF1 = sklearn macro F1 over the labels present in truth or prediction
    assert m["uf1"] == pytest.approx(f1_score(t, p, average="macro", zero_division=0))
    assert m["macro_f1"] == m["f1"] == m["uf1"]
    # UAR = macro recall over the classes present in the truth = balanced accuracy
    present = np.unique(t)
    assert m["uar"] == pytest.approx(recall_score(t, p, labels=present, average="macro", zero_division=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns when y_pred has classes y_true lacks
        assert m["uar"] == pytest.approx(balanced_accuracy_score(t, p))
    assert m["macro_precision"] == pytest.approx(precision_score(t, p, average="macro", zero_division=0))
    assert m["confusion"] == confusion_matrix(t, p, labels=list(range(k))).tolist()
    union = np.union1d(t, p)
    f1s = f1_score(t, p, labels=union, average=None, zero_division=0)
    for lab, f in zip(union, f1s):
        assert m["per_class"][classes[lab]]["f1"] == pytest.approx(f)
    assert m["absent_classes"] == [classes[i] for i in range(k) if i not in union]
    assert m["n"] == len(t)


def test_uar_differs_from_macro_precision_on_an_asymmetric_confusion_matrix():
    # truth: 4 of class a, 2 of class b; predictions: a a a b | b b
    t = np.array([0, 0, 0, 0, 1, 1])
    p = np.array([0, 0, 0, 1, 1, 1])
    m = compute_metrics(t, p, ["a", "b"])
    # recall a = 3/4, b = 2/2 -> UAR 0.875; precision a = 3/3, b = 2/3 -> macro-P 0.8333
    assert m["uar"] == pytest.approx(0.875)
    assert m["macro_precision"] == pytest.approx(5 / 6)
    assert m["uar"] != pytest.approx(m["macro_precision"])
    # F1 a = 6/7, b = 4/5
    assert m["uf1"] == pytest.approx((6 / 7 + 4 / 5) / 2)
    assert m["f1_macro_pr"] == pytest.approx(2 * 0.875 * (5 / 6) / (0.875 + 5 / 6))
    assert m["acc"] == pytest.approx(5 / 6)


def test_a_class_absent_from_truth_and_predictions_is_reported_and_excluded():
    m = compute_metrics([0, 0, 1], [0, 1, 1], ["neg", "pos", "sur"])
    assert m["absent_classes"] == ["sur"]
    assert all(math.isnan(m["per_class"]["sur"][k]) for k in ("precision", "recall", "f1"))
    f_neg, f_pos = 2 / 3, 2 / 3  # neg: TP1 FN1 -> 2/3 ; pos: TP1 FP1 -> 2/3
    assert m["uf1"] == pytest.approx((f_neg + f_pos) / 2)
    assert m["uar"] == pytest.approx((0.5 + 1.0) / 2)


def test_a_class_predicted_but_never_true_counts_zero_f1_and_no_recall():
    m = compute_metrics([0, 0, 0], [0, 0, 2], ["neg", "pos", "sur"])
    assert m["classes_without_truth"] == ["sur"]
    assert m["absent_classes"] == ["pos"]
    assert m["per_class"]["sur"]["f1"] == 0.0 and math.isnan(m["per_class"]["sur"]["recall"])
    assert m["uar"] == pytest.approx(2 / 3)  # only class neg has truth
    assert m["uf1"] == pytest.approx((0.8 + 0.0) / 2)  # neg F1 = 4/5


def test_pooled_metrics_differ_from_the_per_fold_mean_which_is_labelled():
    df = pd.DataFrame(
        {
            "fold": ["f1"] * 2 + ["f2"] * 4,
            "dataset": ["casme2"] * 2 + ["samm"] * 4,
            "y_true": [0, 0, 0, 1, 1, 1],
            "y_pred": [0, 1, 0, 1, 1, 1],
        }
    )
    pooled = pooled_metrics(df, ["a", "b"])
    assert pooled["overall"]["acc"] == pytest.approx(5 / 6)
    assert pooled["overall"]["uar"] == pytest.approx((2 / 3 + 1) / 2)
    assert set(pooled["per_dataset"]) == {"casme2", "samm"}
    assert pooled["per_dataset"]["casme2"]["acc"] == pytest.approx(0.5)
    pf = per_fold_mean(df, ["a", "b"])
    assert pf["label"] == "per_fold_mean" and pf["n_folds"] == 2
    assert pf["acc"] == pytest.approx((0.5 + 1.0) / 2)
    # fold f1: only class a true, recall 1/2 -> UAR 0.5 ; fold f2: all right -> 1
    assert pf["uar"] == pytest.approx((0.5 + 1.0) / 2)
    assert pf["uar"] != pytest.approx(pooled["overall"]["uar"])


def test_mean_over_seeds():
    a = compute_metrics([0, 1], [0, 1], ["a", "b"])
    b = compute_metrics([0, 1], [0, 0], ["a", "b"])
    m = mean_over_seeds([a, b])
    assert m["acc"] == pytest.approx(0.75) and m["std"]["acc"] == pytest.approx(0.25)
    assert m["n_seeds"] == 2 and m["n"] == 2


@pytest.mark.parametrize(
    "t,p,match",
    [([0, 3], [0, 1], r"y_true holds class indices outside 0..2"), ([0], [0, 1], "equal length"), ([], [], "empty"), ([0.5], [0], "integer")],
)
def test_bad_input_is_an_error(t, p, match):
    with pytest.raises(MicroexprError, match=match):
        compute_metrics(np.array(t), np.array(p), ["a", "b", "c"])
