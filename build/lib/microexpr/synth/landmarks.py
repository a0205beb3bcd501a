"""The 68-point iBUG landmark layout of a synthetic face, built from identity parameters.

Points follow the iBUG 300-W / dlib convention (0-based here; the papers' 1-based numbers
are one higher): 0-16 jaw (image left to right), 17-21 and 22-26 the brows, 27-30 nose
bridge, 31-35 nostrils, 36-41 the eye on the image left (the subject's right eye), 42-47
the other eye, 48-59 outer lip contour, 60-67 inner lip contour.

The face is first laid out in *face units* (x across, y down, origin between the eyes,
jaw half-width about 1), then scaled and placed in the frame. The renderer draws the face
from these very points, so the landmarks are exact by construction: tests and the
preprocessing layer can skip face detection on synthetic data.
"""

from __future__ import annotations

import numpy as np

N_POINTS = 68

# iBUG mirror permutation: MIRROR[i] is the point symmetric to i about the face midline.
MIRROR: tuple[int, ...] = (
    tuple(range(16, -1, -1))
    + tuple(range(26, 21, -1))
    + tuple(range(21, 16, -1))
    + (27, 28, 29, 30)
    + (35, 34, 33, 32, 31)
    + (45, 44, 43, 42, 47, 46)
    + (39, 38, 37, 36, 41, 40)
    + (54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55)
    + (64, 63, 62, 61, 60, 67, 66, 65)
)

RIGHT_EYE = tuple(range(36, 42))  # subject's right eye = image left
LEFT_EYE = tuple(range(42, 48))
RIGHT_BROW = tuple(range(17, 22))
LEFT_BROW = tuple(range(22, 27))
OUTER_LIPS = tuple(range(48, 60))
INNER_LIPS = tuple(range(60, 68))
JAW = tuple(range(0, 17))


def face_units_layout(shape: dict[str, float]) -> np.ndarray:
    """68 points (x, y) in face units for the identity parameters in ``shape``.

    Keys (all floats, typical range in brackets): ``jaw_width`` [0.9, 1.1], ``chin`` (y of
    the chin) [1.25, 1.45], ``jaw_square`` [0, 0.3], ``eye_spacing`` (half distance of the
    eye centres) [0.38, 0.48], ``eye_width`` [0.36, 0.44], ``eye_open`` [0.12, 0.17],
    ``brow_y`` [-0.30, -0.22] (above the eye line), ``brow_arch`` [0.03, 0.09],
    ``nose_y`` [0.48, 0.58], ``nose_width`` [0.15, 0.22], ``mouth_y`` [0.82, 0.92],
    ``mouth_width`` [0.30, 0.40], ``lip_upper`` [0.05, 0.09], ``lip_lower`` [0.06, 0.11].
    """
    s = shape
    pts = np.zeros((N_POINTS, 2), dtype=np.float64)
    # Jaw: a squircle-like U from ear level (y ~ 0.05) to the chin.
    top_y = 0.05
    t = np.linspace(0.0, np.pi, 17)
    p = 1.0 - s["jaw_square"]  # 1: elliptical jaw; < 1: squarer
    c, sn = np.cos(t), np.sin(t)
    pts[0:17, 0] = -np.sign(c) * np.abs(c) ** p * s["jaw_width"]
    pts[0:17, 1] = top_y + np.abs(sn) ** p * (s["chin"] - top_y)
    # Eyes: outer corner, two upper-lid points, inner corner, two lower-lid points.
    for side, (ids, sign) in enumerate(((RIGHT_EYE, -1.0), (LEFT_EYE, 1.0))):
        cx = sign * s["eye_spacing"]
        hw, ho = s["eye_width"] / 2.0, s["eye_open"] / 2.0
        outer, inner = cx + sign * hw, cx - sign * hw
        xs_up = (cx + sign * hw * 0.35, cx - sign * hw * 0.35)
        if side == 0:  # 36 outer, 37, 38 upper (outer->inner), 39 inner, 40, 41 lower (inner->outer)
            order = [(outer, 0.0), (xs_up[0], -ho), (xs_up[1], -ho), (inner, 0.0), (xs_up[1], ho * 0.9), (xs_up[0], ho * 0.9)]
        else:  # 42 inner, 43, 44 upper (inner->outer), 45 outer, 46, 47 lower (outer->inner)
            order = [(inner, 0.0), (xs_up[1], -ho), (xs_up[0], -ho), (outer, 0.0), (xs_up[0], ho * 0.9), (xs_up[1], ho * 0.9)]
        for k, (x, y) in zip(ids, order):
            pts[k] = (x, y)
    # Brows: five points from outer to inner (right brow), inner to outer (left brow).
    bx = np.linspace(-s["eye_spacing"] - 0.24, -0.10, 5)
    u = (bx - bx.mean()) / (bx[-1] - bx[0]) * 2.0  # -1..1
    by = s["brow_y"] - s["brow_arch"] * (1.0 - u**2) + 0.02 * u
    pts[17:22] = np.column_stack([bx, by])
    pts[22:27] = np.column_stack([-bx[::-1], by[::-1]])
    # Nose bridge (27-30) and nostril line (31-35).
    pts[27:31, 0] = 0.0
    pts[27:31, 1] = np.linspace(0.02, s["nose_y"] - 0.06, 4)
    nw = s["nose_width"]
    pts[31:36, 0] = np.array([-1.0, -0.5, 0.0, 0.5, 1.0]) * nw
    pts[31:36, 1] = s["nose_y"] + np.array([0.0, 0.025, 0.04, 0.025, 0.0])
    # Lips: outer contour 48..59 clockwise from the image-left corner; inner 60..67.
    my, mw = s["mouth_y"], s["mouth_width"] / 2.0
    lu, ll = s["lip_upper"], s["lip_lower"]
    outer = [
        (-mw, my), (-mw * 0.6, my - lu * 0.85), (-mw * 0.2, my - lu), (0.0, my - lu * 0.8),
        (mw * 0.2, my - lu), (mw * 0.6, my - lu * 0.85), (mw, my),
        (mw * 0.6, my + ll * 0.85), (mw * 0.3, my + ll), (0.0, my + ll * 1.05),
        (-mw * 0.3, my + ll), (-mw * 0.6, my + ll * 0.85),
    ]
    pts[48:60] = outer
    gap = 0.008
    inner = [
        (-mw * 0.85, my), (-mw * 0.35, my - gap), (0.0, my - gap), (mw * 0.35, my - gap),
        (mw * 0.85, my), (mw * 0.35, my + gap), (0.0, my + gap), (-mw * 0.35, my + gap),
    ]
    pts[60:68] = inner
    return pts


def place_in_frame(
    points_fu: np.ndarray, *, centre_xy: tuple[float, float], scale_px: float, roll_deg: float = 0.0
) -> np.ndarray:
    """Face-unit points -> pixel (x, y): scale, in-plane rotation ``roll_deg``, translate."""
    a = np.deg2rad(roll_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points_fu * scale_px) @ rot.T + np.asarray(centre_xy, dtype=np.float64)


def interocular_distance(points: np.ndarray) -> float:
    """Distance between the two eye centres (mean of points 36-41 and 42-47)."""
    return float(np.linalg.norm(points[list(RIGHT_EYE)].mean(0) - points[list(LEFT_EYE)].mean(0)))
