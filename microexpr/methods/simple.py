"""Sanity baselines: ``majority`` (always the training majority class) and ``logistic``.

They need no preprocessing and run in milliseconds, so they serve tests of the protocol
engine and as floors for real results: a method that does not beat ``majority`` on UF1/UAR
has learned nothing (``majority`` scores accuracy = share of the largest class, but
UAR = 1 / n_classes present).

``logistic`` reads a pre-computed feature file (``.npz`` with ``X`` and ``keys``, see
:mod:`microexpr.sources.feature_npz`), standardises the features on the training fold
only, and fits a multinomial scikit-learn ``LogisticRegression``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .base import RunContext, training_labels
from .registry import register_method


@register_method("majority")
class MajorityMethod:
    """Predict the most frequent training class with probability 1 (ties: lowest label)."""

    def __init__(self) -> None:
        pass

    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "MajorityMethod":
        y = training_labels(train, ctx, "majority")
        self.majority_ = int(np.argmax(np.bincount(y, minlength=ctx.n_classes)))
        return self

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        proba = np.zeros((len(test), ctx.n_classes))
        proba[:, self.majority_] = 1.0
        return proba


@register_method("logistic")
class LogisticMethod:
    """Standardise + multinomial logistic regression on a feature ``.npz`` (keys = clip keys).

    ``features``: path of the ``.npz``; ``C``: inverse regularisation strength;
    ``class_weight``: ``null`` or ``balanced``; ``max_iter``: solver iterations.
    """

    def __init__(self, features: str, C: float = 1.0, class_weight: str | None = None, max_iter: int = 1000) -> None:
        self.features = features
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, train: pd.DataFrame, ctx: RunContext) -> "LogisticMethod":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from ..sources.feature_npz import load_feature_file

        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"method 'logistic': class_weight must be null or 'balanced', got {self.class_weight!r}")
        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise ConfigError(f"method 'logistic': C must be a positive number, got {self.C!r}")
        y = training_labels(train, ctx, "logistic")
        X = load_feature_file(self.features, train["key"].tolist())
        self.classes_seen_ = np.unique(y)
        if len(self.classes_seen_) == 1:  # a one-class fold: nothing to discriminate
            self.model_ = None
            return self
        self.model_ = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=float(self.C), class_weight=self.class_weight, max_iter=int(self.max_iter), random_state=ctx.seed),
        )
        self.model_.fit(X, y)
        return self

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray:
        from ..sources.feature_npz import load_feature_file

        proba = np.zeros((len(test), ctx.n_classes))
        if self.model_ is None:
            proba[:, self.classes_seen_[0]] = 1.0
            return proba
        X = load_feature_file(self.features, test["key"].tolist())
        # classes absent from the training fold get probability 0
        proba[:, self.model_.classes_] = self.model_.predict_proba(X)
        return proba
