"""Render one synthetic clip: frames, exact landmarks, and the planted motion.

A clip is a subject's neutral face warped, frame by frame, by

* the *expression* field ``e(t) * F`` (sum of the clip's AU fields, rescaled so that its
  largest displacement is the planted peak, in pixels), with the onset -> apex -> offset
  profile ``e(t)`` (raised-cosine rise and fall; CK+-like clips rise from the first frame
  to a peak at the last one);
* an optional blink ``b(t) * B`` (AU45, unrelated to the label);
* a rigid head transform ``H_t`` (static placement plus slow drift and roll);

with the skin's *appearance* changing too: where an AU compresses the skin it folds
and darkens, where it stretches the skin it lightens a little (FACS describes every AU by
such appearance changes as well as by its motion). The fold shading is attached to the skin
(it is drawn on the neutral image before warping), follows the same profile ``e(t)`` and is
at most ``fold_depth`` (a fraction of the brightness) at the apex. Without it a single apex
frame would carry only a ~1 px warp, which no apex-frame method could read across faces;
with it the apex frame alone is informative, as real apex frames are. Then illumination
flicker, sensor noise and a JPEG round trip are applied. Skin at neutral
pixel ``p`` appears at ``H_t(p + D_t(p))`` in frame ``t``; each frame is drawn by solving
that for ``p`` at every pixel (a few fixed-point steps) and resampling the neutral image.

:func:`render_clip` returns the frames together with the ground truth a test needs: the
landmarks of every frame, the planted expression field at the apex and the true
onset -> apex flow on the onset frame's pixel grid (u = x/columns, v = y/rows, the
convention of :func:`microexpr.motion.flow.compute_flow`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .action_units import au_field, au_region_mask
from .faces import Identity, neutral_landmarks, render_neutral
from .nuisances import Nuisances, flicker_gains, jpeg_round_trip, smooth_walk

_FIXED_POINT_STEPS = 3


@dataclass(frozen=True)
class ClipPlan:
    """What to render. Positions (``onset``, ``apex``, ``offset``) are 0-based frame indices.

    ``au_weights`` maps each planted AU to (subject's right, subject's left) intensity;
    ``peak_px`` is the largest displacement of the expression field at the apex (pixels).
    ``profile`` is ``"micro"`` (onset -> apex -> offset) or ``"macro"`` (neutral at the
    first frame -> peak held at the last, as in CK+). ``blink_at`` is the frame position
    where a random blink starts (``None``: no blink). ``seed`` drives the per-frame
    nuisances. ``fold_depth`` is the largest relative darkening of the skin folds at the
    apex (0: a pure warp, no appearance change; see :func:`fold_shading`).
    """

    identity: Identity
    frame_hw: tuple[int, int]
    scale_px: float
    n_frames: int
    onset: int
    apex: int
    offset: int
    aus: tuple[str, ...]
    au_weights: dict[str, tuple[float, float]]
    peak_px: float
    fps: float
    colour: bool = True
    profile: str = "micro"
    placement_px: tuple[int, int] = (0, 0)
    blink_at: int | None = None
    blink_frames: int = 0
    seed: int = 0
    fold_depth: float = 0.0

    def validate(self) -> None:
        if not 0 <= self.onset <= self.apex <= self.offset < self.n_frames:
            raise ValueError(
                f"need 0 <= onset ({self.onset}) <= apex ({self.apex}) <= offset ({self.offset}) < n_frames ({self.n_frames})"
            )
        if self.profile not in {"micro", "macro"}:
            raise ValueError(f"profile must be 'micro' or 'macro', got {self.profile!r}")
        if not self.aus:
            raise ValueError("a clip needs at least one action unit")
        if not 0.0 <= self.fold_depth < 1.0:
            raise ValueError(f"fold_depth must be in [0, 1), got {self.fold_depth}")


@dataclass
class RenderedClip:
    """Frames (uint8 RGB (H, W, 3) or grey (H, W)) and ground truth of one clip."""

    frames: list[np.ndarray]
    landmarks: np.ndarray  # (n_frames, 68, 2) float32, x/y pixels
    expression_field: np.ndarray  # (H, W, 2) planted displacement at apex, neutral coords
    true_flow: np.ndarray  # (H, W, 2) exact onset -> apex flow on the onset frame's grid
    moving_mask: np.ndarray  # (H, W) bool, pixels near the planted AUs' bumps
    intensity: np.ndarray  # (n_frames,) expression profile e(t)
    blink: np.ndarray  # (n_frames,) blink profile b(t)
    info: dict[str, object] = field(default_factory=dict)


def expression_profile(n: int, onset: int, apex: int, offset: int, profile: str) -> np.ndarray:
    """e(t) in [0, 1]: 0 outside onset..offset, 1 at the apex, raised-cosine in between."""
    t = np.arange(n, dtype=np.float64)
    e = np.zeros(n)
    if profile == "macro":  # CK+: neutral first frame -> peak at the last, eased
        rise = np.clip((t - onset) / max(apex - onset, 1), 0.0, 1.0)
        return (1.0 - np.cos(np.pi * rise)) / 2.0
    if apex > onset:
        r = (t > onset) & (t <= apex)
        e[r] = (1.0 - np.cos(np.pi * (t[r] - onset) / (apex - onset))) / 2.0
    e[apex] = 1.0
    if offset > apex:
        f = (t > apex) & (t <= offset)
        e[f] = (1.0 + np.cos(np.pi * (t[f] - apex) / (offset - apex))) / 2.0
    return e


def blink_profile(n: int, start: int | None, length: int) -> np.ndarray:
    """b(t): a fast close and a slower reopening (1/3 closing, 2/3 opening) of ``length`` frames."""
    b = np.zeros(n)
    if start is None or length < 2:
        return b
    close = max(1, length // 3)
    for i in range(length):
        t = start + i
        if 0 <= t < n:
            b[t] = (1 - np.cos(np.pi * (i + 1) / close)) / 2 if i < close else (1 + np.cos(np.pi * (i - close + 1) / (length - close))) / 2
    return b


def _unit_fields(plan: ClipPlan, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Expression field scaled to ``peak_px``, blink field, and the expression scale factor."""
    h, w = plan.frame_hw
    total = np.zeros((h, w, 2))
    for au in plan.aus:
        total += au_field(au, lm, plan.scale_px, plan.frame_hw, side_weights=plan.au_weights[au])
    peak = float(np.sqrt((total**2).sum(-1)).max())
    if peak <= 0:
        raise ValueError(f"AUs {plan.aus} with weights {plan.au_weights} give no motion")
    k = plan.peak_px / peak
    blink = au_field("45", lm, plan.scale_px, plan.frame_hw)
    eye_open = float(np.mean([lm[41, 1] - lm[37, 1], lm[40, 1] - lm[38, 1]]))
    at_lids = au_field("45", lm, plan.scale_px, plan.frame_hw, at=lm[[37, 38, 43, 44]])[:, 1].mean()
    blink *= eye_open * 0.9 / float(at_lids)  # upper lid points come down 90% of the opening
    return total * k, blink, k


def fold_shading(field: np.ndarray) -> np.ndarray:
    """Relative shading (H, W) of the skin under a displacement field, in [-1, 0.5].

    Compression (negative divergence) folds the skin: -1 at the most compressed pixel,
    darkening; stretching (positive divergence) smooths it: up to +0.5, lightening at half
    the strength. Normalised per field, so a clip's ``fold_depth`` sets the depth of its
    deepest fold whatever the AUs' sizes.
    """
    div = np.gradient(field[..., 0], axis=1) + np.gradient(field[..., 1], axis=0)
    peak = float(np.abs(div).max())
    if peak <= 0:
        return np.zeros(field.shape[:2])
    s = -div / peak  # +1: most compressed
    return np.where(s > 0, -s, -0.5 * s)


def _sample(field_hw2: np.ndarray, pts_x: np.ndarray, pts_y: np.ndarray) -> np.ndarray:
    """Bilinear sample of a (H, W, 2) field at float maps; outside -> replicate border."""
    return cv2.remap(field_hw2.astype(np.float32), pts_x.astype(np.float32), pts_y.astype(np.float32),
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _rigid(shift: tuple[float, float], roll_deg: float, centre: np.ndarray) -> np.ndarray:
    """2x3 affine x -> R (x - c) + c + shift."""
    a = np.deg2rad(roll_deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    t = centre + np.asarray(shift) - r @ centre
    return np.hstack([r, t[:, None]])


def _apply(m: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2]


def _invert(m: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(m)


def _solve_neutral(disp: np.ndarray, qx: np.ndarray, qy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p with p + disp(p) = q (fixed-point iteration; disp is small and smooth)."""
    px, py = qx, qy
    for _ in range(_FIXED_POINT_STEPS):
        d = _sample(disp, px, py)
        px, py = qx - d[..., 0], qy - d[..., 1]
    return px, py


def render_clip(plan: ClipPlan, nuisances: Nuisances, *, neutral: np.ndarray | None = None) -> RenderedClip:
    """Render ``plan`` with ``nuisances``; ``neutral`` may pass a pre-rendered neutral face.

    The neutral face is drawn at the frame centre (identity landmarks); the plan's
    ``placement_px`` and the head drift move it rigidly.
    """
    plan.validate()
    nuisances.validate()
    h, w = plan.frame_hw
    n = plan.n_frames
    rng = np.random.default_rng(plan.seed)
    lm0 = neutral_landmarks(plan.identity, plan.frame_hw, plan.scale_px)
    if neutral is None:
        neutral = render_neutral(plan.identity, lm0, plan.frame_hw)
    neutral32 = neutral.astype(np.float32)
    expr, blink_field, k = _unit_fields(plan, lm0)
    e = expression_profile(n, plan.onset, plan.apex, plan.offset, plan.profile)
    # A planned blink is dropped when blinks are switched off (blink_prob == 0).
    b = blink_profile(n, plan.blink_at if nuisances.blink_prob > 0 else None, plan.blink_frames)

    # Rigid head transform per frame: static placement + slow drift and roll.
    centre = lm0[27:36].mean(0)
    sx = smooth_walk(rng, n, nuisances.head_shift_px)
    sy = smooth_walk(rng, n, nuisances.head_shift_px)
    roll = smooth_walk(rng, n, nuisances.head_roll_deg)
    px0, py0 = plan.placement_px
    mats = [_rigid((px0 + sx[t], py0 + sy[t]), roll[t], centre) for t in range(n)]
    gains = flicker_gains(rng, n, plan.fps, nuisances.flicker)

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    expr_lm = k * sum(
        au_field(au, lm0, plan.scale_px, plan.frame_hw, side_weights=plan.au_weights[au], at=lm0) for au in plan.aus
    )
    blink_lm = _sample(blink_field, lm0[:, 0:1].T, lm0[:, 1:2].T)[0]

    expr32, blink32 = expr.astype(np.float32), blink_field.astype(np.float32)
    shade = (np.float32(plan.fold_depth) * fold_shading(expr).astype(np.float32)) if plan.fold_depth > 0 else None
    if shade is not None and neutral32.ndim == 3:
        shade = shade[..., None]
    xx32, yy32 = xx.astype(np.float32), yy.astype(np.float32)
    frames: list[np.ndarray] = []
    landmarks = np.zeros((n, 68, 2), dtype=np.float32)
    for t in range(n):
        inv = _invert(mats[t]).astype(np.float32)
        qx, qy = _apply(inv, xx32, yy32)
        if e[t] == 0.0 and b[t] == 0.0:
            nx, ny = qx, qy
        else:
            disp = np.float32(e[t]) * expr32 + np.float32(b[t]) * blink32
            nx, ny = _solve_neutral(disp, qx, qy)
        source = neutral32 if shade is None or e[t] == 0.0 else neutral32 * (1.0 + np.float32(e[t]) * shade)
        img = cv2.remap(source, nx.astype(np.float32), ny.astype(np.float32),
                        interpolation=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        if gains[t] != 1.0:
            img *= np.float32(gains[t])
        if not plan.colour:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        if nuisances.noise > 0:
            img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(nuisances.noise)
        frame = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        if nuisances.jpeg_quality is not None:
            frame = jpeg_round_trip(frame, nuisances.jpeg_quality)
        frames.append(frame)
        moved = lm0 + e[t] * expr_lm + b[t] * blink_lm
        landmarks[t] = np.column_stack(_apply(mats[t], moved[:, 0], moved[:, 1]))

    # True flow onset -> apex on the onset frame's grid.
    disp_on = e[plan.onset] * expr + b[plan.onset] * blink_field
    disp_ap = e[plan.apex] * expr + b[plan.apex] * blink_field
    qx, qy = _apply(_invert(mats[plan.onset]), xx, yy)
    nx, ny = _solve_neutral(disp_on, qx, qy)
    d = _sample(disp_ap, nx, ny)
    tx, ty = _apply(mats[plan.apex], nx + d[..., 0], ny + d[..., 1])
    true_flow = np.stack([tx - xx, ty - yy], axis=-1).astype(np.float32)

    mask = au_region_mask(list(plan.aus), lm0, plan.scale_px, plan.frame_hw)
    mask = np.roll(mask, shift=(int(plan.placement_px[1]), int(plan.placement_px[0])), axis=(0, 1))
    info = {
        "blink_frames": [int(i) for i in np.flatnonzero(b > 0)],
        "head_shift_px_max": float(max(np.abs(sx).max(initial=0), np.abs(sy).max(initial=0))),
        "head_roll_deg_max": float(np.abs(roll).max(initial=0)),
    }
    return RenderedClip(
        frames=frames,
        landmarks=landmarks,
        expression_field=expr.astype(np.float32),
        true_flow=true_flow,
        moving_mask=mask,
        intensity=e,
        blink=b,
        info=info,
    )
