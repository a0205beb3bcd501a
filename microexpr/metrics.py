"""Recognition metrics with the MEGC definitions: UF1, UAR, accuracy (WAR), per-class scores.

The default is to *pool* the per-clip predictions of every fold, then count per class c the
true positives TP_c, false positives FP_c and false negatives FN_c over all folds (the MEGC
definition, DESIGN.md "Metrics"). Per-fold means are computed only when asked for and are
always labelled ``per_fold_mean``.

Definitions (N_c = TP_c + FN_c true clips of c, P_c = TP_c + FP_c clips predicted as c):

``acc``       (= WAR) sum_c TP_c / N
``uar``       mean over classes *present in the truth* (N_c > 0) of recall_c = TP_c / N_c
``uf1``       mean over classes present in the truth *or* the predictions of
              F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)
``macro_f1``  equal to ``uf1`` by construction on pooled predictions (kept as its own key
              because papers name it differently); ``f1`` is an alias of ``macro_f1`` for
              tables whose paper column says "F1"
``macro_precision``  mean of precision_c = TP_c / P_c over the classes ``uf1`` averages,
              with precision_c = 0 for a class that is true but never predicted
``f1_macro_pr``  2 P R / (P + R) with P = ``macro_precision`` and R = ``uar``: the
              "F1-score" of the LAENet paper (its eq. 8, F1 of the macro averages)

Absent classes: a class of the scheme that occurs neither in the truth nor in the
predictions has undefined precision, recall and F1 (NaN here, ``null`` in JSON). It is
listed in ``absent_classes`` and excluded from every mean, as the MEGC scripts compute UF1
over the classes present. A class that is predicted but never true has F1_c = 0 (it is
counted in ``uf1``) and undefined recall (excluded from ``uar``; listed in
``classes_without_truth``). These rules make ``uf1`` equal scikit-learn's
``f1_score(average="macro")`` and ``uar`` equal ``balanced_accuracy_score``.

Note for readers of the STSTNet paper: the values it reports as "UAR" equal macro
*precision* computed from its own log (``macro_precision`` here); our ``uar`` is macro
recall, as MEGC defines it.

No function here catches an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import MicroexprError

SCALAR_METRICS: tuple[str, ...] = ("acc", "uar", "uf1", "macro_f1", "f1", "macro_precision", "f1_macro_pr")
"""Scalar metric keys of :func:`compute_metrics` (``n`` is the clip count)."""

METRIC_DEFINITIONS: dict[str, str] = {
    "acc": "Acc = accuracy (WAR): sum_c TP_c / N",
    "uar": "UAR = unweighted average recall: mean over classes of TP_c / N_c (MEGC)",
    "uf1": "UF1 = unweighted F1: mean over classes of 2 TP_c / (2 TP_c + FP_c + FN_c) (MEGC)",
    "macro_f1": "macro-F1 = mean per-class F1 (equal to UF1 on pooled predictions)",
    "f1": "F1 = mean per-class F1 (here an alias of UF1)",
    "macro_precision": "macro-P = mean over classes of precision TP_c / (TP_c + FP_c)",
    "f1_macro_pr": "F1(P,R) = 2 P R / (P + R) of macro precision P and macro recall R (LAENet eq. 8)",
}
"""What each scalar metric computes, for report footnotes: a paper's column is compared with
ours only under one of these definitions (``paper_reference`` names it per column)."""


def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Confusion matrix (rows = true class, columns = predicted class) as int64 counts."""
    t, p = _check_labels(y_true, y_pred, n_classes)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int], classes: Sequence[str]) -> dict[str, Any]:
    """All metrics of one pooled set of predictions (integer labels indexing ``classes``).

    Returns a dict with the scalar metrics of :data:`SCALAR_METRICS`, ``n``,
    ``per_class`` (name -> precision, recall, f1, support, predicted), ``confusion``
    (list of rows, true x predicted, in ``classes`` order), ``classes``,
    ``absent_classes`` and ``classes_without_truth``.
    """
    classes = [str(c) for c in classes]
    cm = confusion_counts(y_true, y_pred, len(classes))
    return metrics_from_confusion(cm, classes)


def metrics_from_confusion(cm: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """The metrics of :func:`compute_metrics` from a confusion matrix of counts."""
    cm = np.asarray(cm, dtype=np.int64)
    k = len(classes)
    if cm.shape != (k, k):
        raise MicroexprError(f"confusion matrix shape {cm.shape} does not match {k} classes {list(classes)}")
    n = int(cm.sum())
    if n == 0:
        raise MicroexprError("no predictions to score: the pooled prediction set is empty")
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)  # N_c
    predicted = cm.sum(axis=0).astype(float)  # P_c
    fp = predicted - tp
    fn = support - tp
    present = (support > 0) | (predicted > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, np.where(present, 0.0, np.nan))
        f1 = np.where(present, 2 * tp / (2 * tp + fp + fn), np.nan)
    uar = float(np.mean(recall[support > 0]))
    uf1 = float(np.mean(f1[present]))
    macro_p = float(np.mean(precision[present]))
    f1_pr = 0.0 if macro_p + uar == 0 else 2 * macro_p * uar / (macro_p + uar)
    per_class = {
        c: {
            "precision": _num(precision[i]),
            "recall": _num(recall[i]),
            "f1": _num(f1[i]),
            "support": int(support[i]),
            "predicted": int(predicted[i]),
        }
        for i, c in enumerate(classes)
    }
    return {
        "n": n,
        "acc": float(tp.sum() / n),
        "uar": uar,
        "uf1": uf1,
        "macro_f1": uf1,
        "f1": uf1,
        "macro_precision": macro_p,
        "f1_macro_pr": float(f1_pr),
        "per_class": per_class,
        "confusion": cm.tolist(),
        "classes": list(classes),
        "absent_classes": [c for i, c in enumerate(classes) if not present[i]],
        "classes_without_truth": [c for i, c in enumerate(classes) if support[i] == 0 and predicted[i] > 0],
    }


def pooled_metrics(predictions: pd.DataFrame, classes: Sequence[str]) -> dict[str, Any]:
    """``{"overall": metrics, "per_dataset": {dataset: metrics}}`` from pooled predictions.

    ``predictions`` needs columns ``y_true``, ``y_pred`` and ``dataset`` (one seed's rows).
    """
    _need(predictions, ("y_true", "y_pred", "dataset"))
    out: dict[str, Any] = {"overall": compute_metrics(predictions["y_true"], predictions["y_pred"], classes)}
    out["per_dataset"] = {
        str(ds): compute_metrics(g["y_true"], g["y_pred"], classes)
        for ds, g in predictions.groupby("dataset", sort=True)
    }
    return out


def per_fold_mean(predictions: pd.DataFrame, classes: Sequence[str]) -> dict[str, Any]:
    """Mean and standard deviation over folds of each scalar metric (labelled ``per_fold_mean``).

    Provided because some papers average per-fold scores; it is *not* the MEGC definition
    (a LOSO fold often holds one or two classes only, which makes per-fold UF1 erratic).
    """
    _need(predictions, ("y_true", "y_pred", "fold"))
    groups = sorted(predictions.groupby("fold", sort=False), key=lambda kv: _fold_order(str(kv[0])))
    per = {str(f): compute_metrics(g["y_true"], g["y_pred"], classes) for f, g in groups}
    out: dict[str, Any] = {"label": "per_fold_mean", "n_folds": len(per)}
    for key in SCALAR_METRICS:
        vals = np.array([m[key] for m in per.values()], dtype=float)
        out[key] = float(np.mean(vals))
        out[f"{key}_std"] = float(np.std(vals))
    out["folds"] = {f: {key: m[key] for key in SCALAR_METRICS} for f, m in per.items()}  # in fold order
    return out


def _fold_order(name: str) -> tuple[str, int, str]:
    """Sort key of fold names: ``fold2`` before ``fold10`` (natural order), others by name."""
    head = name.rstrip("0123456789")
    tail = name[len(head):]
    return (head, int(tail) if tail else -1, name)


def mean_over_seeds(per_seed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and (population) standard deviation over seeds of every scalar metric.

    Returns ``{metric: mean, ..., "std": {metric: std}, "n": clips per seed, "n_seeds": k}``.
    """
    if not per_seed:
        raise MicroexprError("no per-seed metrics to average")
    out: dict[str, Any] = {"n": per_seed[0]["n"], "n_seeds": len(per_seed), "std": {}}
    for key in SCALAR_METRICS:
        vals = np.array([m[key] for m in per_seed], dtype=float)
        out[key] = float(np.mean(vals))
        out["std"][key] = float(np.std(vals))
    return out


def _check_labels(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1:
        raise MicroexprError(f"y_true and y_pred must be 1-D of equal length, got shapes {t.shape} and {p.shape}")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise MicroexprError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
            raise MicroexprError(f"{name} holds class indices outside 0..{n_classes - 1}: {sorted(set(arr.tolist()))}")
    return t.astype(np.int64), p.astype(np.int64)


def _need(df: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise MicroexprError(f"predictions lack column(s) {missing}; they have {list(df.columns)}")


def _num(x: float) -> float:
    return float("nan") if math.isnan(float(x)) else float(x)
