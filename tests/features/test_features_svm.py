"""FeatureSVM: kernels against scikit-learn references, probabilities consistent with predict."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import chi2_kernel
from sklearn.svm import SVC

from microexpr.errors import ConfigError
from microexpr.features.svm import FeatureSVM


def _data(n=90, d=12, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.random((n, d)) + 0.6 * np.eye(classes, d)[y]  # non-negative, weakly separable
    return X, y


@pytest.mark.parametrize("kernel", ["poly", "linear", "chi2"])
@pytest.mark.parametrize("classes", [2, 3])
def test_argmax_of_proba_is_the_svm_prediction(kernel, classes):
    X, y = _data(classes=classes)
    Xt, _ = _data(n=60, seed=1, classes=classes)
    m = FeatureSVM(kernel=kernel).fit(X, y)
    proba = m.predict_proba(Xt)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(m.classes_[proba.argmax(axis=1)], m.predict(Xt))


def test_chi2_equals_svc_with_a_callable_chi2_kernel():
    X, y = _data()
    Xt, _ = _data(n=40, seed=2)
    m = FeatureSVM(kernel="chi2", chi2_gamma=0.7, C=3.0).fit(X, y)
    ref = SVC(kernel=lambda a, b: chi2_kernel(a, b, gamma=0.7), C=3.0, break_ties=True).fit(X, y)
    np.testing.assert_array_equal(m.predict(Xt), ref.predict(Xt))
    np.testing.assert_allclose(m.decision_scores(Xt), ref.decision_function(Xt), atol=1e-8)
    # "mean": 1 / mean chi2 distance between training pairs
    auto = FeatureSVM(kernel="chi2").fit(X, y)
    d = [0.5 * np.sum((a - b) ** 2 / (a + b)) * 2 for i, a in enumerate(X) for b in X[i + 1 :]]
    assert auto.chi2_gamma_ == pytest.approx(1 / np.mean(d))


def test_poly_is_a_degree_2_inhomogeneous_kernel():
    X, y = _data()
    m = FeatureSVM(kernel="poly").fit(X, y)
    ref = SVC(kernel="poly", degree=2, coef0=1.0, gamma="scale", break_ties=True).fit(X, y)
    np.testing.assert_allclose(m.decision_scores(X), ref.decision_function(X))


def test_standardize_and_class_weight_change_the_model():
    rng = np.random.default_rng(3)
    y = np.array([0] * 80 + [1] * 10)
    X = rng.normal(size=(90, 4)) + 0.8 * y[:, None]
    X[:, 3] *= 20  # one feature on a larger scale
    plain = FeatureSVM(kernel="linear").fit(X, y)
    balanced = FeatureSVM(kernel="linear", class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()
    std = FeatureSVM(kernel="linear", standardize=True).fit(X, y)
    np.testing.assert_allclose(std.scaler_.transform(X).std(axis=0), 1.0)


def test_missing_classes_and_single_class_folds():
    X, y = _data(classes=3)
    keep = y != 1
    m = FeatureSVM(kernel="linear").fit(X[keep], y[keep])
    full = m.predict_proba_full(X, 4)
    assert full.shape == (90, 4) and np.all(full[:, [1, 3]] == 0)
    np.testing.assert_allclose(full.sum(axis=1), 1.0)
    one = FeatureSVM().fit(X[y == 2], y[y == 2])
    np.testing.assert_array_equal(one.predict_proba_full(X[:3], 3), [[0, 0, 1]] * 3)


def test_bad_options_are_config_errors():
    X, y = _data()
    with pytest.raises(ConfigError, match="non-negative features: set standardize"):
        FeatureSVM(kernel="chi2", standardize=True).fit(X, y)
    with pytest.raises(ConfigError, match="negative values"):
        FeatureSVM(kernel="chi2").fit(X - 1, y)
    with pytest.raises(ConfigError, match="unknown SVM kernel"):
        FeatureSVM(kernel="rbf").fit(X, y)
    with pytest.raises(ConfigError, match="class_weight"):
        FeatureSVM(class_weight="auto").fit(X, y)
    with pytest.raises(ConfigError, match="NaN"):
        FeatureSVM().fit(np.full_like(X, np.nan), y)
