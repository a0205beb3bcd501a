"""Apex spotting: which frame of a clip shows the expression at its peak.

Methods (``spot_apex(frames, method=...)``; ground truth needs no spotting and is the
dataset reader's business):

``middle``
    the middle frame ``(n - 1) // 2`` (ATNet and Micro-Attention for SMIC).
``flow_peak``
    the frame whose dense flow *from the first frame* has the largest mean magnitude,
    after a centred moving average of ``smooth`` frames. Flow from the first (onset)
    frame, not between neighbours: neighbour flow peaks mid-rise, not at the apex.
``dc_rois``
    D&C-RoIs (Liong et al., ACPR 2015), as implemented here: three regions of interest
    (left eye + brow, right eye + brow, mouth) from 68-point landmarks of the first frame
    (without landmarks: fixed fractions of the face crop, documented in
    :func:`default_rois`); per frame and region a uniform LBP histogram (P=8, R=1, 59
    bins); the feature difference of frame i is ``sum over regions (1 - corr(h_0, h_i))``;
    then divide and conquer: the candidate frames are the local maxima of the difference
    curve; the search interval is halved repeatedly, keeping the half whose candidates
    have the larger summed difference, until one candidate is left.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from skimage.feature import local_binary_pattern

from ..errors import ConfigError, PreprocessingError
from .flow import compute_flow

APEX_METHODS = ("middle", "flow_peak", "dc_rois")


def _grey(frame: np.ndarray) -> np.ndarray:
    f = np.asarray(frame)
    if f.ndim == 3:
        f = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)
    if f.dtype != np.uint8:
        raise PreprocessingError(f"apex spotting needs uint8 frames, got {f.dtype}")
    return f


def _moving_average(x: np.ndarray, k: int) -> np.ndarray:
    if k <= 1:
        return x
    pad = k // 2
    xp = np.pad(x, (pad, k - 1 - pad), mode="edge")
    return np.convolve(xp, np.ones(k) / k, mode="valid")


def flow_magnitude_curve(frames: Sequence[np.ndarray], *, flow_method: str = "farneback",
                         flow_preset: str = "default") -> np.ndarray:
    """Mean flow magnitude from frame 0 to each frame i (entry 0 is 0)."""
    ref = _grey(frames[0])
    curve = np.zeros(len(frames))
    for i in range(1, len(frames)):
        f = compute_flow(ref, _grey(frames[i]), flow_method, flow_preset)
        curve[i] = float(np.sqrt((f.astype(np.float64) ** 2).sum(-1)).mean())
    return curve


def default_rois(shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Regions (x0, y0, x1, y1) of a roughly frontal face crop filling the image.

    Eyes + brows: rows 15-50 %, columns 5-50 % and 50-95 %; mouth: rows 65-95 %,
    columns 25-75 %. Used when no landmarks are given.
    """
    h, w = shape
    return [
        (int(0.05 * w), int(0.15 * h), int(0.50 * w), int(0.50 * h)),
        (int(0.50 * w), int(0.15 * h), int(0.95 * w), int(0.50 * h)),
        (int(0.25 * w), int(0.65 * h), int(0.75 * w), int(0.95 * h)),
    ]


def landmark_rois(landmarks: np.ndarray, shape: tuple[int, int], *, margin: float = 0.15) -> list[tuple[int, int, int, int]]:
    """Eye+brow (left, right) and mouth boxes from 68-point landmarks, enlarged by ``margin``."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2):
        raise PreprocessingError(f"D&C-RoIs needs (68, 2) landmarks, got {lm.shape}")
    groups = [np.r_[17:22, 36:42], np.r_[22:27, 42:48], np.r_[48:68]]  # 0-based iBUG indices
    h, w = shape
    boxes = []
    for g in groups:
        x0, y0 = lm[g].min(0)
        x1, y1 = lm[g].max(0)
        mx, my = margin * (x1 - x0), margin * (y1 - y0)
        box = (int(max(0, x0 - mx)), int(max(0, y0 - my)), int(min(w, x1 + mx + 1)), int(min(h, y1 + my + 1)))
        if box[2] - box[0] < 3 or box[3] - box[1] < 3:
            raise PreprocessingError(f"a D&C-RoIs region {box} is empty inside a {w}x{h} frame; check the landmarks")
        boxes.append(box)
    return boxes


def _lbp_hist(grey: np.ndarray, box: tuple[int, int, int, int], points: int, radius: float) -> np.ndarray:
    x0, y0, x1, y1 = box
    codes = local_binary_pattern(grey[y0:y1, x0:x1], points, radius, method="nri_uniform")
    n_bins = points * (points - 1) + 3
    return np.bincount(codes.astype(np.int64).ravel(), minlength=n_bins).astype(np.float64)


def lbp_difference_curve(frames: Sequence[np.ndarray], rois: Sequence[tuple[int, int, int, int]], *,
                         points: int = 8, radius: float = 1.0) -> np.ndarray:
    """Per frame: sum over regions of ``1 - corrcoef(hist(frame 0), hist(frame i))``."""
    greys = [_grey(f) for f in frames]
    ref = [_lbp_hist(greys[0], b, points, radius) for b in rois]
    curve = np.zeros(len(greys))
    for i in range(1, len(greys)):
        for b, h0 in zip(rois, ref):
            h = _lbp_hist(greys[i], b, points, radius)
            if h0.std() == 0 or h.std() == 0:
                continue  # flat histograms: no texture change measurable (difference 0)
            curve[i] += 1.0 - float(np.corrcoef(h0, h)[0, 1])
    return curve


def divide_and_conquer_peak(curve: np.ndarray) -> int:
    """Index chosen by the divide-and-conquer search over the local maxima of ``curve``."""
    c = np.asarray(curve, dtype=np.float64)
    n = len(c)
    if n < 3:
        return int(np.argmax(c))
    left = np.r_[-np.inf, c[:-1]]
    right = np.r_[c[1:], -np.inf]
    peaks = np.flatnonzero((c >= left) & (c >= right) & (c > c.min()))
    if len(peaks) == 0:
        return int(np.argmax(c))
    lo, hi = 0, n - 1
    while True:
        inside = peaks[(peaks >= lo) & (peaks <= hi)]
        if len(inside) <= 1:
            return int(inside[0]) if len(inside) else int(lo + np.argmax(c[lo:hi + 1]))
        mid = (lo + hi) // 2
        a, b = inside[inside <= mid], inside[inside > mid]
        if c[a].sum() >= c[b].sum():
            hi = mid
        else:
            lo = mid + 1


def spot_apex(
    frames: Sequence[np.ndarray],
    method: str = "middle",
    *,
    landmarks: np.ndarray | None = None,
    flow_method: str = "farneback",
    flow_preset: str = "default",
    smooth: int = 3,
    lbp_points: int = 8,
    lbp_radius: float = 1.0,
) -> int:
    """0-based index of the apex among ``frames`` (uint8 grey or RGB face crops, onset first).

    ``landmarks`` ((68, 2) of the first frame, crop coordinates) places the D&C-RoIs
    regions; without them fixed face fractions are used.
    """
    n = len(frames)
    if n == 0:
        raise PreprocessingError("cannot spot the apex of an empty clip")
    if method not in APEX_METHODS:
        raise ConfigError(f"unknown apex method {method!r}; choose one of {APEX_METHODS}")
    if method == "middle" or n == 1:
        return (n - 1) // 2
    if method == "flow_peak":
        curve = flow_magnitude_curve(frames, flow_method=flow_method, flow_preset=flow_preset)
        return int(np.argmax(_moving_average(curve, smooth)))
    shape = _grey(frames[0]).shape
    rois = default_rois(shape) if landmarks is None else landmark_rois(landmarks, shape)
    curve = lbp_difference_curve(frames, rois, points=lbp_points, radius=lbp_radius)
    return divide_and_conquer_peak(curve)
