"""Fixtures of the preprocessing tests: real-face landmarks measured once per session."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.data import astronaut

from tests.preprocessing.synthclips import FACE_WINDOW


@pytest.fixture(scope="session")
def astronaut_landmarks() -> np.ndarray:
    """dlib HOG + 68-point landmarks of the full 512x512 astronaut image."""
    from microexpr.face import detect_landmarks

    return detect_landmarks(astronaut(), where="skimage.data.astronaut()")


@pytest.fixture(scope="session")
def window_landmarks(astronaut_landmarks: np.ndarray) -> np.ndarray:
    """The same landmarks in the coordinates of synthclips.face_image()."""
    return (astronaut_landmarks - np.array(FACE_WINDOW[:2], np.float32)).astype(np.float32)
