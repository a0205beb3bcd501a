"""Eye masks from 68-point landmarks (LAENet eye masking).

The two polygons of landmarks 37-42 and 43-48 (1-based; 0-based 36-41 and 42-47) are
filled, then grown by ``dilation`` pixels (a disc of that radius), because the polygon
through the eyelid landmarks leaves the lashes and lid edge - where a blink moves most -
outside.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import PreprocessingError
from .crop import LEFT_EYE, RIGHT_EYE, _check_landmarks


def eye_mask(landmarks: np.ndarray, shape: tuple[int, ...], dilation: int = 0) -> np.ndarray:
    """Boolean (H, W) mask, True inside either eye polygon (grown by ``dilation`` pixels)."""
    lm = _check_landmarks(landmarks)
    if int(dilation) != dilation or dilation < 0:
        raise PreprocessingError(f"eye-mask dilation must be a non-negative integer, got {dilation!r}")
    h, w = int(shape[0]), int(shape[1])
    mask = np.zeros((h, w), np.uint8)
    # fillPoly with fractional coordinates: 8 bits of sub-pixel precision (shift=8).
    polys = [np.round(lm[sl] * 256).astype(np.int32) for sl in (RIGHT_EYE, LEFT_EYE)]
    cv2.fillPoly(mask, polys, 1, lineType=cv2.LINE_8, shift=8)
    if dilation:
        d = int(dilation)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * d + 1, 2 * d + 1))
        mask = cv2.dilate(mask, kernel)
    return mask.astype(bool)
