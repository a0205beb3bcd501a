"""Face boxes from landmarks, cropping, and eye-line alignment.

The box (LAENet §2.1.1): the extent of the 68 landmarks enlarged by ``margins`` =
(top, bottom, left, right) pixels, by default (25, 0, 5, 5). The paper's margins are
pixels of a CK+/CASME II-sized face; with ``reference_face_size`` (the width in pixels
of the landmark extent that those margins were meant for), the margins are multiplied
by ``face_width / reference_face_size`` so a face twice as large (SAMM's 2040x1088
frames) gets twice the margin. ``None`` uses the margins as absolute pixels.

The same box crops every frame of a clip (computed once, from the onset frame). Parts of
a box that fall outside the image are filled by replicating the border pixels (so flow
sees no artificial edge). Crops are resized to their output size without keeping the
aspect ratio, as the papers do.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..errors import PreprocessingError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive), pixels

RIGHT_EYE = slice(36, 42)  # subject's right eye (image left); 1-based 37-42
LEFT_EYE = slice(42, 48)  # 1-based 43-48


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise PreprocessingError(f"need finite (68, 2) landmarks, got shape {lm.shape}")
    return lm


def face_box(
    landmarks: np.ndarray,
    margins: tuple[float, float, float, float] = (25, 0, 5, 5),
    reference_face_size: float | None = None,
) -> Box:
    """Integer crop box (x0, y0, x1, y1) around ``landmarks`` with (top, bottom, left, right) margins."""
    lm = _check_landmarks(landmarks)
    if len(margins) != 4 or any(m < 0 for m in margins):
        raise PreprocessingError(f"margins must be four non-negative numbers (top, bottom, left, right), got {margins}")
    x_min, y_min = lm.min(axis=0)
    x_max, y_max = lm.max(axis=0)
    scale = 1.0
    if reference_face_size is not None:
        if reference_face_size <= 0:
            raise PreprocessingError(f"reference_face_size must be positive, got {reference_face_size}")
        scale = (x_max - x_min) / float(reference_face_size)
    top, bottom, left, right = (m * scale for m in margins)
    box = (
        int(math.floor(x_min - left)),
        int(math.floor(y_min - top)),
        int(math.ceil(x_max + right)) + 1,
        int(math.ceil(y_max + bottom)) + 1,
    )
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        raise PreprocessingError(f"face box {box} is smaller than 8x8 pixels; check the landmarks")
    return box


def crop(image: np.ndarray, box: Box, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Cut ``box`` out of ``image`` (border-replicated outside it), resized to ``size`` if given.

    ``size`` is an int (square) or (width, height); shrinking uses area averaging,
    enlarging bilinear interpolation.
    """
    img = np.asarray(image)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        raise PreprocessingError(f"empty crop box {box}")
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    if pad:
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    out = img[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
    if size is not None:
        tw, th = (size, size) if isinstance(size, int) else size
        shrink = tw * th < out.shape[0] * out.shape[1]
        out = cv2.resize(out, (tw, th), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.ascontiguousarray(out)


def landmarks_in_crop(landmarks: np.ndarray, box: Box, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Map image landmarks into the coordinates of ``crop(image, box, size)`` (float32).

    Uses OpenCV's pixel-centre convention for the resize: ``x' = (x - x0 + 0.5) * s - 0.5``.
    """
    lm = np.asarray(landmarks, dtype=np.float64) - np.array(box[:2], dtype=np.float64)
    if size is None:
        return lm.astype(np.float32)
    tw, th = (size, size) if isinstance(size, int) else size
    s = np.array([tw / (box[2] - box[0]), th / (box[3] - box[1])])
    return ((lm + 0.5) * s - 0.5).astype(np.float32)


def eye_line_transform(landmarks: np.ndarray) -> np.ndarray:
    """2x3 affine matrix rotating about the eyes' midpoint so the eye line is horizontal."""
    lm = _check_landmarks(landmarks)
    right_eye = lm[RIGHT_EYE].mean(axis=0)  # image left
    left_eye = lm[LEFT_EYE].mean(axis=0)  # image right
    dx, dy = left_eye - right_eye
    angle = math.degrees(math.atan2(dy, dx))
    centre = tuple(float(c) for c in (right_eye + left_eye) / 2.0)
    return cv2.getRotationMatrix2D(centre, angle, 1.0)


def warp_image(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine ``matrix`` to ``image`` (same size, bilinear, replicated border)."""
    img = np.asarray(image)
    return cv2.warpAffine(img, matrix, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def warp_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine ``matrix`` to (N, 2) points."""
    pts = np.asarray(points, dtype=np.float64)
    return (pts @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]).astype(np.float32)
