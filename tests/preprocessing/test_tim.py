"""TIM (path-graph Laplacian embedding) and linear resampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import dct

from microexpr.errors import PreprocessingError
from microexpr.motion.tim import linear_resample, path_graph_embedding, tim_interpolate


def trajectory(s: np.ndarray) -> np.ndarray:
    """A smooth 2-D trajectory (a blob's x, y) over normalised time s in [0, 1]."""
    return np.stack([10 + 6 * np.sin(np.pi * s) ** 2, 5 + 3 * np.cos(2 * np.pi * s) - 2 * s], axis=-1)


def test_eigenvectors_are_the_path_graph_cosines():
    t = 9
    y = path_graph_embedding(t)
    i = np.arange(t)
    for k in range(1, t):
        ref = np.cos(np.pi * k * (i + 0.5) / t)
        ref /= np.linalg.norm(ref)
        assert abs(abs(float(y[:, k - 1] @ ref)) - 1) < 1e-9


def test_tim_reproduces_a_known_smooth_trajectory():
    seq = trajectory(np.linspace(0, 1, 12))
    up = tim_interpolate(seq, 60)
    truth = trajectory(np.linspace(0, 1, 60))
    assert up.shape == (60, 2)
    np.testing.assert_allclose(up[[0, -1]], seq[[0, -1]], atol=1e-9)  # end frames kept
    assert np.abs(up - truth).max() < 0.05  # trajectory amplitude is ~6 units
    assert np.abs(tim_interpolate(seq, 12) - seq).max() < 1e-9  # same length: identity


def test_tim_equals_dct_ii_interpolant():
    # Independent reference: orthonormal DCT-II coefficients from scipy, evaluated continuously.
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(7, 3))
    coef = dct(seq, type=2, norm="ortho", axis=0)
    s = np.linspace(0, 6, 23)
    k = np.arange(7)
    basis = np.sqrt(2 / 7) * np.cos(np.pi * np.outer(s + 0.5, k) / 7)
    basis[:, 0] = np.sqrt(1 / 7)
    np.testing.assert_allclose(tim_interpolate(seq, 23), basis @ coef, atol=1e-9)


def test_uint8_frames_round_trip_and_downsample():
    rng = np.random.default_rng(2)
    clip = rng.integers(0, 256, (20, 4, 5, 3), dtype=np.uint8)
    out = tim_interpolate(clip, 10)
    assert out.dtype == np.uint8 and out.shape == (10, 4, 5, 3)
    np.testing.assert_array_equal(out[0], clip[0])
    np.testing.assert_array_equal(out[-1], clip[-1])


def test_linear_resample_by_hand():
    seq = np.array([0.0, 10.0, 30.0])
    np.testing.assert_allclose(linear_resample(seq, 5), [0, 5, 10, 20, 30])
    assert linear_resample(np.array([[1, 2]], np.uint8), 3).tolist() == [[1, 2]] * 3


def test_bad_lengths():
    with pytest.raises(PreprocessingError, match="positive integer"):
        tim_interpolate(np.zeros((3, 2)), 0)
    with pytest.raises(PreprocessingError, match="at least one frame"):
        linear_resample(np.zeros((0, 2)), 4)
