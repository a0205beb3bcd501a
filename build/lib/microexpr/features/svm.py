"""The SVM classifiers of the hand-crafted baselines: polynomial (degree 2), linear, χ².

One scikit-learn estimator, ``FeatureSVM``, so every baseline states the same options:

- ``kernel``: ``"poly"`` (ATNet's "polynomial SVM (N=2)", TLCNN's MDMO classifier):
  ``(gamma <x, y> + coef0) ** degree`` with ``degree=2``, ``coef0=1`` (inhomogeneous: the
  homogeneous kernel would drop the linear terms; the papers do not say which they used)
  and ``gamma="scale"``; ``"linear"``; ``"chi2"``: ``exp(-gamma * sum((x-y)^2/(x+y)))``
  through :func:`sklearn.metrics.pairwise.chi2_kernel` as a precomputed kernel, for
  histogram features (non-negative; ``chi2_gamma="mean"`` uses 1 / the mean χ² distance
  of the training pairs, a common default for histograms).
- ``standardize``: z-score each feature on the training fold first (off by default:
  histograms are already on one scale; not allowed with ``chi2``, which needs
  non-negative inputs).
- ``class_weight``: ``None`` or ``"balanced"`` (weights inversely proportional to the
  class counts of the training fold).
- Probabilities: ``predict_proba`` is the softmax of ``decision_function`` (one-vs-rest
  shape). It is deterministic (``SVC(probability=True)`` runs an internal, random
  cross-validation) and its argmax is exactly ``predict``: the SVC is built with
  ``break_ties=True``, so its own prediction is the argmax of the same decision values.
  These are scores on a probability scale, not calibrated probabilities.
- A training fold with a single class cannot train an SVM: the model then predicts that
  class for every clip (and says so in the log).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics.pairwise import additive_chi2_kernel
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..errors import ConfigError

KERNELS = ("poly", "linear", "chi2")
log = logging.getLogger("microexpr.features.svm")


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large scores."""
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class FeatureSVM(BaseEstimator, ClassifierMixin):
    """SVM over feature vectors with the options of the hand-crafted baselines (see module)."""

    def __init__(
        self,
        kernel: str = "poly",
        C: float = 1.0,
        degree: int = 2,
        coef0: float = 1.0,
        gamma: float | str = "scale",
        chi2_gamma: float | str = "mean",
        standardize: bool = False,
        class_weight: str | None = None,
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.degree = degree
        self.coef0 = coef0
        self.gamma = gamma
        self.chi2_gamma = chi2_gamma
        self.standardize = standardize
        self.class_weight = class_weight

    def _check_params(self) -> None:
        if self.kernel not in KERNELS:
            raise ConfigError(f"unknown SVM kernel {self.kernel!r}; choose one of {', '.join(KERNELS)}")
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"class_weight={self.class_weight!r}; use null or 'balanced'")
        if self.kernel == "chi2" and self.standardize:
            raise ConfigError("the chi2 kernel needs non-negative features: set standardize to false")
        if not (isinstance(self.chi2_gamma, (int, float)) and self.chi2_gamma > 0) and self.chi2_gamma != "mean":
            raise ConfigError(f"chi2_gamma={self.chi2_gamma!r} must be a positive number or 'mean'")
        if not float(self.C) > 0:
            raise ConfigError(f"SVM C={self.C!r} must be positive")

    def _chi2(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return np.exp(self.chi2_gamma_ * additive_chi2_kernel(A, B))

    def fit(self, X: Any, y: Any) -> "FeatureSVM":
        """Fit on features ``X`` (n, d) and integer labels ``y``."""
        self._check_params()
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or X.shape[0] != y.shape[0]:
            raise ConfigError(f"FeatureSVM.fit: X of shape {X.shape} does not match {y.shape[0]} labels")
        if not np.all(np.isfinite(X)):
            raise ConfigError("FeatureSVM.fit: the feature matrix contains NaN or infinite values")
        self.classes_ = np.unique(y)
        self.scaler_ = StandardScaler().fit(X) if self.standardize else None
        if self.scaler_ is not None:
            X = self.scaler_.transform(X)
        if self.kernel == "chi2" and np.any(X < 0):
            raise ConfigError("the chi2 kernel needs non-negative features; this feature matrix has negative values")
        if self.classes_.size < 2:
            log.warning("training fold has a single class (%s): predicting it for every clip", self.classes_)
            self.svc_ = None
            return self
        if self.kernel == "chi2":
            if self.chi2_gamma == "mean":
                dist = -additive_chi2_kernel(X, X)
                mean = dist[np.triu_indices(len(X), k=1)].mean() if len(X) > 1 else 0.0
                self.chi2_gamma_ = 1.0 / mean if mean > 0 else 1.0
            else:
                self.chi2_gamma_ = float(self.chi2_gamma)
            self.X_fit_ = X
            kernel_arg: dict[str, Any] = {"kernel": "precomputed"}
            fit_X = self._chi2(X, X)
        elif self.kernel == "poly":
            kernel_arg = {"kernel": "poly", "degree": self.degree, "coef0": self.coef0, "gamma": self.gamma}
            fit_X = X
        else:
            kernel_arg = {"kernel": "linear"}
            fit_X = X
        self.svc_ = SVC(
            C=float(self.C),
            class_weight=self.class_weight,
            decision_function_shape="ovr",
            break_ties=self.classes_.size > 2,
            **kernel_arg,
        ).fit(fit_X, y)
        return self

    def _prepare(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.scaler_ is not None:
            X = self.scaler_.transform(X)
        if self.kernel == "chi2":
            if np.any(X < 0):
                raise ConfigError("the chi2 kernel needs non-negative features; the test features have negative values")
            return self._chi2(X, self.X_fit_)
        return X

    def decision_scores(self, X: Any) -> np.ndarray:
        """(n, n_classes_) one-vs-rest decision values (two columns also for 2 classes)."""
        n = np.asarray(X).shape[0]
        if self.svc_ is None:
            return np.zeros((n, 1))
        d = self.svc_.decision_function(self._prepare(X))
        if d.ndim == 1:  # binary: positive means classes_[1]
            d = np.stack([-d / 2, d / 2], axis=1)
        return d

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax of the decision values, columns in the order of ``classes_``."""
        return softmax(self.decision_scores(X))

    def predict(self, X: Any) -> np.ndarray:
        """The SVM's own prediction (equal to the argmax of ``predict_proba``)."""
        if self.svc_ is None:
            return np.full(np.asarray(X).shape[0], self.classes_[0])
        return self.svc_.predict(self._prepare(X))

    def predict_proba_full(self, X: Any, n_classes: int) -> np.ndarray:
        """``predict_proba`` spread over classes 0..n_classes-1 (absent classes get 0)."""
        proba = self.predict_proba(X)
        full = np.zeros((proba.shape[0], n_classes))
        cls = self.classes_.astype(int)
        if np.any((cls < 0) | (cls >= n_classes)):
            raise ConfigError(f"labels {cls.tolist()} fall outside 0..{n_classes - 1}")
        full[:, cls] = proba
        return full
