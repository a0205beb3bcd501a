"""Procedural faces: per-subject identity parameters and a neutral-face renderer.

A subject is an :class:`Identity` (face shape, eye spacing, brow and lip shapes, skin
tone, hair, skin texture seed, lighting). :func:`render_neutral` draws the subject's
neutral face *from its 68 landmarks* (jaw polygon, eye polygons, brow polylines, lip
polygons), so the landmarks match the drawing exactly. Skin carries a multi-scale texture
(pores, blotches) because optical flow needs texture to see sub-pixel skin motion, as on
real skin. Expressions are not drawn here: :mod:`microexpr.synth.clips` warps the neutral
image with action-unit displacement fields.

Shapes are drawn on a 4x supersampled canvas and area-averaged down, giving anti-aliased
edges (sub-pixel motion of an edge then changes intensities smoothly, as in a camera).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .landmarks import (
    INNER_LIPS,
    LEFT_BROW,
    LEFT_EYE,
    OUTER_LIPS,
    RIGHT_BROW,
    RIGHT_EYE,
    face_units_layout,
    place_in_frame,
)

_SS = 4  # supersampling factor of the shape masks

# Skin tones (RGB) spanning light to dark; a subject's tone is a random blend of two.
_SKIN_TONES = np.array(
    [[236, 200, 175], [224, 180, 150], [198, 150, 115], [160, 115, 85], [120, 82, 58], [88, 60, 44]],
    dtype=np.float64,
)


@dataclass(frozen=True)
class Identity:
    """Everything that makes one synthetic subject look like themself across clips."""

    shape: dict[str, float]
    skin_rgb: tuple[float, float, float]
    lip_rgb: tuple[float, float, float]
    brow_rgb: tuple[float, float, float]
    iris_rgb: tuple[float, float, float]
    hair_rgb: tuple[float, float, float]
    background_rgb: tuple[float, float, float]
    brow_thickness: float  # face units
    hair_line: float  # y of the hair line in face units (negative: above the eyes)
    texture_seed: int
    texture_strength: float  # grey levels of the fine skin texture
    light_angle: float  # radians, direction the key light comes from (image plane)
    light_strength: float  # relative brightness change across the face


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw a random subject identity."""
    u = rng.uniform
    shape = {
        "jaw_width": u(0.9, 1.1),
        "chin": u(1.25, 1.45),
        "jaw_square": u(0.0, 0.3),
        "eye_spacing": u(0.38, 0.48),
        "eye_width": u(0.36, 0.44),
        "eye_open": u(0.12, 0.17),
        "brow_y": u(-0.30, -0.22),
        "brow_arch": u(0.03, 0.09),
        "nose_y": u(0.48, 0.58),
        "nose_width": u(0.15, 0.22),
        "mouth_y": u(0.84, 0.94),
        "mouth_width": u(0.62, 0.78),
        "lip_upper": u(0.05, 0.09),
        "lip_lower": u(0.06, 0.11),
    }
    i = rng.integers(0, len(_SKIN_TONES) - 1)
    w = u(0.0, 1.0)
    skin = (1 - w) * _SKIN_TONES[i] + w * _SKIN_TONES[i + 1]
    lip = skin * np.array([0.85, 0.62, 0.62]) + np.array([20.0, 0.0, 5.0]) * u(0.5, 1.0)
    hair_dark = u(0.1, 0.6)
    hair = np.array([90.0, 65.0, 45.0]) * hair_dark * 2 + rng.normal(0, 8, 3)
    brow = np.minimum(hair * 0.9, skin * 0.45)
    iris = np.array([[60, 40, 25], [70, 90, 110], [80, 100, 60], [40, 30, 25]], dtype=float)[rng.integers(0, 4)]
    bg = rng.uniform(60, 200) + rng.normal(0, 15, 3)
    return Identity(
        shape=shape,
        skin_rgb=_rgb(skin),
        lip_rgb=_rgb(lip),
        brow_rgb=_rgb(brow),
        iris_rgb=_rgb(iris),
        hair_rgb=_rgb(hair),
        background_rgb=_rgb(bg),
        brow_thickness=u(0.05, 0.09),
        hair_line=u(-0.95, -0.65),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        texture_strength=u(5.0, 9.0),
        light_angle=u(0.0, 2 * np.pi),
        light_strength=u(0.05, 0.18),
    )


def _rgb(a: np.ndarray) -> tuple[float, float, float]:
    a = np.clip(np.asarray(a, dtype=float), 0, 255)
    return (float(a[0]), float(a[1]), float(a[2]))


def neutral_landmarks(
    identity: Identity, frame_hw: tuple[int, int], scale_px: float, *, offset_xy: tuple[float, float] = (0.0, 0.0), roll_deg: float = 0.0
) -> np.ndarray:
    """Pixel landmarks (68, 2) of the neutral face, eye line at 42% of the frame height."""
    h, w = frame_hw
    centre = (w / 2.0 + offset_xy[0], h * 0.42 + offset_xy[1])
    return place_in_frame(face_units_layout(identity.shape), centre_xy=centre, scale_px=scale_px, roll_deg=roll_deg)


def _mask(hw: tuple[int, int], draw) -> np.ndarray:  # noqa: ANN001 - internal helper
    """Anti-aliased coverage mask in [0, 1] from a drawing callback on the 4x canvas."""
    h, w = hw
    canvas = np.zeros((h * _SS, w * _SS), dtype=np.uint8)
    draw(canvas)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0


def _pts(points: np.ndarray) -> np.ndarray:
    return np.round(points * _SS + (_SS - 1) / 2.0).astype(np.int32)


def _smooth_noise(rng: np.random.Generator, hw: tuple[int, int], sigma: float) -> np.ndarray:
    n = rng.standard_normal(hw)
    n = cv2.GaussianBlur(n, (0, 0), sigma) if sigma > 0 else n
    return n / (n.std() + 1e-9)


def render_neutral(identity: Identity, landmarks: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray:
    """Draw the neutral face described by ``landmarks`` (68, 2); float64 RGB (H, W, 3) 0..255."""
    h, w = frame_hw
    lm = np.asarray(landmarks, dtype=np.float64)
    scale = float(np.linalg.norm(lm[16] - lm[0]) / 2.0)  # px per face unit (jaw half-width ~1)
    rng = np.random.default_rng(identity.texture_seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)

    img = np.empty((h, w, 3), dtype=np.float64)
    img[:] = identity.background_rgb
    img += 6.0 * _smooth_noise(rng, (h, w), 6.0)[..., None]

    # Head: jaw polygon closed by an elliptical cranium arc over the forehead.
    jaw = lm[0:17]
    centre_x = (lm[0, 0] + lm[16, 0]) / 2.0
    eye_y = lm[36:48, 1].mean()
    top = eye_y - 1.25 * scale
    arc_t = np.linspace(0.0, np.pi, 25)
    rx = (lm[16, 0] - lm[0, 0]) / 2.0 * 1.02
    arc = np.column_stack([centre_x + rx * np.cos(arc_t), lm[0, 1] - (lm[0, 1] - top) * np.sin(arc_t)])
    head_poly = np.vstack([jaw, arc])
    head = _mask((h, w), lambda c: cv2.fillPoly(c, [_pts(head_poly)], 255, cv2.LINE_AA))
    # Neck below the chin.
    neck_poly = np.array([[lm[4, 0] + 0.1 * scale, lm[4, 1]], [lm[12, 0] - 0.1 * scale, lm[12, 1]],
                          [lm[12, 0] - 0.05 * scale, h + 5], [lm[4, 0] + 0.05 * scale, h + 5]])
    neck = _mask((h, w), lambda c: cv2.fillPoly(c, [_pts(neck_poly)], 255, cv2.LINE_AA))

    # Skin with lighting and texture.
    skin = np.empty((h, w, 3), dtype=np.float64)
    skin[:] = identity.skin_rgb
    lx, ly = np.cos(identity.light_angle), np.sin(identity.light_angle)
    shade = 1.0 + identity.light_strength * (((xx - centre_x) * lx + (yy - eye_y) * ly) / (2 * scale))
    tex = (
        identity.texture_strength * _smooth_noise(rng, (h, w), 0.8)
        + 0.6 * identity.texture_strength * _smooth_noise(rng, (h, w), 2.0)
        + 4.0 * _smooth_noise(rng, (h, w), 8.0)
    )
    skin = skin * shade[..., None] + tex[..., None]
    neck_skin = skin * 0.85
    img = img * (1 - neck[..., None]) + neck_skin * neck[..., None]
    img = img * (1 - head[..., None]) + skin * head[..., None]

    # Hair: the part of the head above the hair line, with strand texture.
    hair_y = eye_y + identity.hair_line * scale
    hair_region = head * np.clip((hair_y - yy) / 2.0 + 0.5, 0.0, 1.0)
    strands = cv2.GaussianBlur(rng.standard_normal((h, w)), (0, 0), sigmaX=0.6, sigmaY=3.0) * 25.0
    hair_col = np.asarray(identity.hair_rgb)[None, None, :] + strands[..., None]
    img = img * (1 - hair_region[..., None]) + hair_col * hair_region[..., None]

    def darken(mask: np.ndarray, rgb: tuple[float, float, float] | np.ndarray, alpha: float = 1.0) -> None:
        nonlocal img
        m = (mask * alpha)[..., None]
        img = img * (1 - m) + np.asarray(rgb, dtype=np.float64) * m

    # Eyes: crease line, sclera, iris (clipped to the eye opening), lash line.
    for ids in (RIGHT_EYE, LEFT_EYE):
        eye = lm[list(ids)]
        crease = eye[[0, 1, 2, 3]] + np.array([0.0, -0.06 * scale])
        darken(_mask((h, w), lambda c: cv2.polylines(c, [_pts(crease)], False, 255, max(1, _SS // 2), cv2.LINE_AA)),
               np.asarray(identity.skin_rgb) * 0.6, 0.6)
        eye_mask = _mask((h, w), lambda c: cv2.fillPoly(c, [_pts(eye)], 255, cv2.LINE_AA))
        darken(eye_mask, (235.0, 232.0, 225.0))
        ec = eye.mean(0)
        r_iris = 0.42 * np.linalg.norm(eye[3] - eye[0]) / 2.0
        iris = _mask((h, w), lambda c: cv2.circle(c, tuple(_pts(ec[None])[0]), int(round(r_iris * _SS)), 255, -1, cv2.LINE_AA))
        pupil = _mask((h, w), lambda c: cv2.circle(c, tuple(_pts(ec[None])[0]), int(round(r_iris * 0.45 * _SS)), 255, -1, cv2.LINE_AA))
        darken(iris * eye_mask, identity.iris_rgb)
        darken(pupil * eye_mask, (15.0, 12.0, 12.0))
        lash = _mask((h, w), lambda c: cv2.polylines(c, [_pts(eye)], True, 255, max(2, _SS // 2 + 1), cv2.LINE_AA))
        darken(lash, (30.0, 25.0, 25.0), 0.85)

    # Brows: thick polylines with a hair-like texture.
    bt = max(1, int(round(identity.brow_thickness * scale * _SS)))
    brow_tex = 1.0 + 0.25 * cv2.GaussianBlur(rng.standard_normal((h, w)), (0, 0), 0.7)
    for ids in (RIGHT_BROW, LEFT_BROW):
        br = lm[list(ids)]
        bm = _mask((h, w), lambda c: cv2.polylines(c, [_pts(br)], False, 255, bt, cv2.LINE_AA))
        darken(np.clip(bm * brow_tex, 0, 1), identity.brow_rgb, 0.9)

    # Nose: side shading along the bridge, nostrils.
    for sign, k in ((-1.0, 31), (1.0, 35)):
        side = np.array([lm[28] + [sign * 0.10 * scale, 0.0], lm[k] + [sign * 0.03 * scale, -0.06 * scale]])
        darken(_mask((h, w), lambda c: cv2.polylines(c, [_pts(side)], False, 255, _SS * 2, cv2.LINE_AA)),
               np.asarray(identity.skin_rgb) * 0.7, 0.35)
        nos = (lm[k] + lm[33]) / 2.0 + [0.0, -0.01 * scale]
        axes = (int(round(0.055 * scale * _SS)), int(round(0.03 * scale * _SS)))
        darken(_mask((h, w), lambda c: cv2.ellipse(c, tuple(_pts(nos[None])[0]), axes, 0, 0, 360, 255, -1, cv2.LINE_AA)),
               (50.0, 35.0, 30.0), 0.8)

    # Nasolabial folds, faint.
    for nose_k, mouth_k, sign in ((31, 48, -1.0), (35, 54, 1.0)):
        fold = np.array([lm[nose_k] + [sign * 0.12 * scale, -0.04 * scale], lm[mouth_k] + [sign * 0.10 * scale, 0.02 * scale]])
        darken(_mask((h, w), lambda c: cv2.polylines(c, [_pts(fold)], False, 255, _SS, cv2.LINE_AA)),
               np.asarray(identity.skin_rgb) * 0.75, 0.4)

    # Lips: outer polygon, mouth line on the inner contour.
    lips = _mask((h, w), lambda c: cv2.fillPoly(c, [_pts(lm[list(OUTER_LIPS)])], 255, cv2.LINE_AA))
    darken(lips, identity.lip_rgb)
    gap = _mask((h, w), lambda c: cv2.polylines(c, [_pts(lm[list(INNER_LIPS)])], True, 255, _SS, cv2.LINE_AA))
    darken(gap, np.asarray(identity.lip_rgb) * 0.45, 0.9)

    return np.clip(img, 0.0, 255.0)
