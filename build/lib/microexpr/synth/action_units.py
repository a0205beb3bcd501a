"""Action units as smooth local displacement fields anchored on the 68 landmarks.

Each AU is a few Gaussian "bumps": a bump sits at a landmark (or the mean of several,
plus an offset), moves the skin around it in one direction, and fades with distance
(``sigma``). Bumps are written for the subject's right side (image left) and mirrored for
the left side, so an AU can be made asymmetric (``R12``/``L12`` as FACS coders write it)
by weighting the two sides. Geometry is in *face units* (jaw half-width = 1), so the
fields follow each subject's face shape and size.

Displacements are *forward*: skin at neutral pixel ``p`` moves to ``p + d(p)``. The
directions follow FACS descriptions (e.g. AU12 pulls the lip corners up and out, AU4
lowers and draws the brows together, AU26 drops the jaw); only the relative pattern
matters, since a clip's field is rescaled to its planted peak displacement in pixels.
AU45 (blink) closes the upper lid over the eye and is used by the nuisance model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .landmarks import MIRROR


@dataclass(frozen=True)
class Bump:
    """One Gaussian displacement bump, written for the image-left (subject's right) side."""

    anchor: tuple[int, ...]  # landmark indices, averaged
    direction: tuple[float, float]  # (dx, dy), y down; relative strength
    sigma: float  # face units
    offset: tuple[float, float] = (0.0, 0.0)  # face units, added to the anchor
    bilateral: bool = True  # mirrored to the other side; False: a midline bump


AU_BUMPS: dict[str, tuple[Bump, ...]] = {
    # Upper face
    "1": (Bump((21,), (0.1, -1.0), 0.10), Bump((20,), (0.0, -0.7), 0.10)),
    "2": (Bump((17,), (0.0, -1.0), 0.10), Bump((18,), (0.0, -0.8), 0.10)),
    "4": (Bump((20, 21), (0.45, 0.8), 0.11), Bump((19,), (0.2, 0.6), 0.10),
          Bump((21,), (0.3, 0.2), 0.07, offset=(0.04, 0.08))),
    "5": (Bump((37, 38), (0.0, -1.0), 0.07),),
    "6": (Bump((40, 41), (0.0, -1.0), 0.16, offset=(-0.02, 0.22)), Bump((36,), (0.4, -0.5), 0.08)),
    "7": (Bump((40, 41), (0.0, -1.0), 0.06), Bump((36,), (0.3, -0.2), 0.05)),
    "9": (Bump((31,), (0.1, -1.0), 0.09), Bump((28, 31), (0.2, -0.6), 0.07, offset=(-0.08, 0.0)),
          Bump((21,), (0.2, 0.5), 0.07)),
    "10": (Bump((50,), (0.0, -1.0), 0.09), Bump((49,), (0.05, -0.8), 0.08)),
    # Lower face
    "12": (Bump((48,), (-0.7, -0.75), 0.12),),
    "14": (Bump((48,), (-0.9, 0.1), 0.09),),
    "15": (Bump((48,), (0.0, 1.0), 0.11), Bump((59,), (0.0, 0.4), 0.08)),
    "17": (Bump((8,), (0.0, -1.0), 0.16, offset=(0.0, -0.12), bilateral=False),
           Bump((57,), (0.0, -0.6), 0.10, bilateral=False)),
    "20": (Bump((48,), (-1.0, 0.25), 0.11),),
    "23": (Bump((50, 51), (0.1, 0.6), 0.07), Bump((57, 58), (0.1, -0.6), 0.07), Bump((48,), (0.5, 0.0), 0.06)),
    "25": (Bump((57,), (0.0, 1.0), 0.09, bilateral=False), Bump((51,), (0.0, -0.4), 0.07, bilateral=False)),
    "26": (Bump((8,), (0.0, 1.0), 0.30, offset=(0.0, -0.05), bilateral=False),
           Bump((57,), (0.0, 0.7), 0.14, bilateral=False)),
    # Blink: upper lid closes over the eye (large displacement, used by nuisances)
    "45": (Bump((37,), (0.0, 1.0), 0.08), Bump((38,), (0.0, 1.0), 0.08)),
}

SUPPORTED_AUS: tuple[str, ...] = tuple(AU_BUMPS)


def _bump_list(au: str, points: np.ndarray, scale: float) -> list[tuple[np.ndarray, np.ndarray, float, str]]:
    """(centre px, direction, sigma px, side) for every bump of ``au``, both sides."""
    if au not in AU_BUMPS:
        raise ValueError(f"unknown action unit {au!r}; supported: {', '.join(SUPPORTED_AUS)}")
    out = []
    for b in AU_BUMPS[au]:
        centre = points[list(b.anchor)].mean(0) + np.asarray(b.offset) * scale
        out.append((centre, np.asarray(b.direction, float), b.sigma * scale, "R" if b.bilateral else "C"))
        if b.bilateral:
            mirrored = points[[MIRROR[i] for i in b.anchor]].mean(0) + np.asarray((-b.offset[0], b.offset[1])) * scale
            out.append((mirrored, np.asarray((-b.direction[0], b.direction[1]), float), b.sigma * scale, "L"))
    return out


def au_field(
    au: str,
    points: np.ndarray,
    scale: float,
    frame_hw: tuple[int, int],
    *,
    side_weights: tuple[float, float] = (1.0, 1.0),
    at: np.ndarray | None = None,
) -> np.ndarray:
    """Displacement field of one AU at unit intensity: (H, W, 2) (dx, dy) in pixels.

    ``points`` are the neutral landmarks (68, 2) in pixels, ``scale`` the pixels per face
    unit. ``side_weights`` = (subject's right, subject's left) multiplies the bumps of
    each side (midline bumps get their mean). With ``at`` (N, 2) the field is evaluated
    at those points instead of the pixel grid and has shape (N, 2).
    """
    wr, wl = side_weights
    bumps = [(c, d, sg, {"R": wr, "L": wl, "C": (wr + wl) / 2.0}[side])
             for c, d, sg, side in _bump_list(au, np.asarray(points, float), scale)]
    if at is not None:
        coords = np.asarray(at, dtype=np.float64)
        field = np.zeros(coords.shape[:-1] + (2,), dtype=np.float64)
        for centre, direction, sigma, weight in bumps:
            g = np.exp(-((coords - centre) ** 2).sum(-1) / (2.0 * sigma * sigma))
            field += weight * g[..., None] * direction
        return field
    # On the pixel grid: each bump only within 4 sigma of its centre (exp(-8) ~ 3e-4).
    h, w = frame_hw
    field = np.zeros((h, w, 2), dtype=np.float64)
    for centre, direction, sigma, weight in bumps:
        if weight == 0.0:
            continue
        r = 4.0 * sigma
        x0, x1 = max(0, int(np.floor(centre[0] - r))), min(w, int(np.ceil(centre[0] + r)) + 1)
        y0, y1 = max(0, int(np.floor(centre[1] - r))), min(h, int(np.ceil(centre[1] + r)) + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        gx = np.exp(-((np.arange(x0, x1) - centre[0]) ** 2) / (2.0 * sigma * sigma))
        gy = np.exp(-((np.arange(y0, y1) - centre[1]) ** 2) / (2.0 * sigma * sigma))
        g = gy[:, None] * gx[None, :]
        field[y0:y1, x0:x1] += weight * g[..., None] * direction
    return field


def au_region_mask(au_list: list[str], points: np.ndarray, scale: float, frame_hw: tuple[int, int], *, radius: float = 2.0) -> np.ndarray:
    """Boolean (H, W): pixels within ``radius`` sigmas of any bump centre of ``au_list``."""
    h, w = frame_hw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    mask = np.zeros((h, w), dtype=bool)
    for au in au_list:
        for centre, _, sigma, _ in _bump_list(au, np.asarray(points, float), scale):
            mask |= (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= (radius * sigma) ** 2
    return mask
