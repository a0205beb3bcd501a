"""Apex spotting on synthetic clips with a planted apex (synthetic data: shows the spotters
work, not how they do on real micro-expressions)."""

from __future__ import annotations

import numpy as np
import pytest

from microexpr.errors import ConfigError
from microexpr.motion.apex import divide_and_conquer_peak, spot_apex

from tests.preprocessing.synthclips import planted_clip

APEX = 19


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    return planted_clip(n_frames=31, apex=APEX)[0]


def test_middle(clip):
    assert spot_apex(clip, "middle") == 15
    assert spot_apex(clip[:4], "middle") == 1


def test_flow_peak_lands_on_planted_apex(clip):
    err = abs(spot_apex(clip, "flow_peak") - APEX)
    print(f"flow_peak error on the planted clip: {err} frames (synthetic)")
    assert err <= 1


def test_dc_rois_lands_on_planted_apex(clip, window_landmarks):
    with_lm = abs(spot_apex(clip, "dc_rois", landmarks=window_landmarks) - APEX)
    without = abs(spot_apex(clip, "dc_rois") - APEX)
    print(f"dc_rois error on the planted clip: {with_lm} frames with landmarks, {without} without (synthetic)")
    assert with_lm <= 2 and without <= 3


def test_divide_and_conquer_by_hand():
    # local maxima at 2 (0.9), 6 (0.5), 8 (0.6): right half {6, 8} sums 1.1 > 0.9 -> then 8 wins.
    curve = np.array([0, 0.5, 0.9, 0.4, 0.1, 0.3, 0.5, 0.4, 0.6, 0.2])
    assert divide_and_conquer_peak(curve) == 8
    assert divide_and_conquer_peak(np.arange(5.0)) == 4  # monotonic: the last frame


def test_unknown_method(clip):
    with pytest.raises(ConfigError, match="flow_peak"):
        spot_apex(clip, "biggest")
