"""HOOF: known motion directions land in the right bins; a per-pixel reference agrees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microexpr.errors import ConfigError, PreprocessingError
from microexpr.features.hoof import HOOF, hoof_histograms


def _uniform_flow(angle_deg: float, mag: float = 1.0, shape=(3, 12, 10)) -> np.ndarray:
    """Flow fields all moving at ``angle_deg`` (counter-clockwise from right, up positive)."""
    a = math.radians(angle_deg)
    flow = np.zeros((*shape, 2), np.float32)
    flow[..., 0] = mag * math.cos(a)
    flow[..., 1] = -mag * math.sin(a)  # image rows grow downwards
    return flow


@pytest.mark.parametrize(
    "angle,n_bins,symmetric,expected_bin",
    [
        (90, 8, False, 2),  # up: full circle, bin n/4
        (-90, 8, False, 6),  # down: 3n/4
        (180, 8, False, 4),  # left: n/2
        (30, 8, False, 1),  # 30° in [22.5°, 67.5°)
        (150, 8, False, 3),  # 150° in [112.5°, 157.5°)
        (30, 4, True, 2),  # symmetric bins from -90°: [0°, 45°) is bin 2
        (150, 4, True, 2),  # mirrored left-right: same bin as 30°
        (90, 4, True, 3),  # straight up: last bin
        (-60, 4, True, 0),  # [-90°, -45°)
        (-120, 8, True, 1),  # mirrored to -60° -> [-67.5°, -45°) is bin 1 of 8
    ],
)
def test_known_direction_puts_all_mass_in_its_bin(angle, n_bins, symmetric, expected_bin):
    h = hoof_histograms(_uniform_flow(angle), n_bins=n_bins, symmetric=symmetric, temporal="pooled")
    expected = np.zeros(n_bins)
    expected[expected_bin] = 1.0
    np.testing.assert_allclose(h, expected)


def test_magnitude_weighting_and_grid_blocks():
    flow = np.concatenate([_uniform_flow(0, 1.0, (1, 4, 4)), _uniform_flow(90, 3.0, (1, 4, 4))], axis=2)
    weighted = hoof_histograms(flow, n_bins=4, symmetric=False)
    counted = hoof_histograms(flow, n_bins=4, symmetric=False, magnitude_weighted=False)
    np.testing.assert_allclose(weighted, [0.25, 0.75, 0, 0])
    np.testing.assert_allclose(counted, [0.5, 0.5, 0, 0])
    blocks = hoof_histograms(flow, n_bins=4, symmetric=False, grid=(1, 2))
    np.testing.assert_allclose(blocks, [1, 0, 0, 0, 0, 1, 0, 0])  # left block right, right block up


def test_per_frame_and_pooled_and_zero_motion():
    flow = np.concatenate([_uniform_flow(0, 2.0, (1, 5, 5)), _uniform_flow(180, 1.0, (1, 5, 5)),
                           np.zeros((1, 5, 5, 2), np.float32)])
    per_frame = hoof_histograms(flow, n_bins=4, symmetric=False, temporal="per_frame")
    np.testing.assert_allclose(per_frame, [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])  # still frame: zeros, no NaN
    pooled = hoof_histograms(flow, n_bins=4, symmetric=False, temporal="pooled")
    np.testing.assert_allclose(pooled, [2 / 3, 0, 1 / 3, 0])


def _reference_hoof(flows: np.ndarray, n_bins: int, symmetric: bool) -> np.ndarray:
    """Straightforward per-vector loop (pooled, magnitude weighted), from the definition."""
    hist = [0.0] * n_bins
    for frame in flows:
        for row in frame:
            for u, v in row:
                mag = math.hypot(u, v)
                if mag == 0:
                    continue
                if symmetric:
                    theta = math.degrees(math.atan2(-v, abs(u)))  # [-90, 90]
                    b = min(int((theta + 90) // (180 / n_bins)), n_bins - 1)
                else:
                    theta = math.degrees(math.atan2(-v, u)) % 360
                    b = int(((theta + 180 / n_bins) % 360) // (360 / n_bins))
                hist[b] += mag
    total = sum(hist)
    return np.array([h / total for h in hist])


@pytest.mark.parametrize("symmetric", [True, False])
def test_agrees_with_per_vector_reference(symmetric):
    rng = np.random.default_rng(0)
    flows = rng.normal(size=(3, 9, 7, 2)).astype(np.float32)
    ours = hoof_histograms(flows, n_bins=8, symmetric=symmetric, temporal="pooled")
    np.testing.assert_allclose(ours, _reference_hoof(flows.astype(np.float64), 8, symmetric), atol=1e-12)


def test_transformer_ragged_lengths():
    a, b = _uniform_flow(0, shape=(3, 6, 6)), _uniform_flow(90, shape=(5, 6, 6))
    pooled = HOOF(n_bins=4, symmetric=False, temporal="pooled").fit(None).transform([a, b])
    np.testing.assert_allclose(pooled, [[1, 0, 0, 0], [0, 1, 0, 0]])
    with pytest.raises(PreprocessingError, match="different numbers of flow fields"):
        HOOF(temporal="per_frame").transform([a, b])
    with pytest.raises(PreprocessingError, match="clip 1"):
        HOOF().transform([a, np.zeros((4, 4))])
    with pytest.raises(ConfigError, match="temporal"):
        HOOF(temporal="mean").fit(None)
