"""compute_flow: every method and preset recovers a known sub-pixel translation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexpr.errors import ConfigError, PreprocessingError
from microexpr.motion.flow import FLOW_PRESETS, compute_flow

from tests.preprocessing.synthclips import face_image


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    grey = cv2.cvtColor(face_image(), cv2.COLOR_RGB2GRAY)[40:136, 40:136]
    m = np.float32([[1, 0, 0.8], [0, 1, -0.4]])  # content moves +0.8 px in x, -0.4 px in y
    nxt = cv2.warpAffine(grey, m, grey.shape[::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return np.ascontiguousarray(grey), nxt


@pytest.mark.parametrize(
    "method,preset",
    [(m, p) for m in FLOW_PRESETS for p in FLOW_PRESETS[m] if (m, p) != ("tvl1", "accurate")],
)
def test_translation_recovered(pair, method, preset):
    flow = compute_flow(*pair, method=method, preset=preset)
    assert flow.shape == pair[0].shape + (2,) and flow.dtype == np.float32
    mid = flow[20:-20, 20:-20].reshape(-1, 2)
    np.testing.assert_allclose(np.median(mid, axis=0), [0.8, -0.4], atol=0.12)


def test_errors_name_the_problem(pair):
    prev, nxt = pair
    with pytest.raises(ConfigError, match="choose one of"):
        compute_flow(prev, nxt, method="horn")
    with pytest.raises(ConfigError, match="preset"):
        compute_flow(prev, nxt, method="dis", preset="slow")
    with pytest.raises(PreprocessingError, match="uint8 greyscale"):
        compute_flow(prev.astype(np.float32), nxt)
    with pytest.raises(PreprocessingError, match="equal shape"):
        compute_flow(prev, nxt[:-1])
