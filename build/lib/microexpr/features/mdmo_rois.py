"""The 36 facial regions of interest of MDMO, built from 68-point (iBUG) landmarks.

Liu et al. (2016) partition the face into 36 ROIs "based partially on action units" using
66 DRMF landmarks; their exact vertex list is not given in the papers we implement. We
define 18 regions per half face from the 68-point layout, mirrored left/right, following
the same idea: forehead and brows (AU1/2/4), glabella, eyelids and eye corners (AU6/7),
cheeks, nose sides (AU9), nasolabial area and upper lip (AU10), mouth corners (AU12/15),
chin (AU17). The eyes and lips themselves are left out (blinks, lip texture). Regions may
touch or overlap slightly; every region is a polygon rasterised with scikit-image.

Vertices are landmark indices (0-based) or derived points:
``("up", i, k)``: landmark i moved up by ``k * 0.1 * s``; ``("down", i, k)``: moved down by
``k * 0.1 * s``; ``("mid", a, b)``: midpoint. ``s`` is the nose-root-to-chin distance
(landmarks 27 and 8) and "up" points from the chin to the nose root, so the regions follow
in-plane head rotation and face size.
"""

from __future__ import annotations

from typing import Union

import numpy as np
from skimage.draw import polygon as draw_polygon

from ..errors import PreprocessingError

Vertex = Union[int, tuple]

# iBUG 68-point left/right mirror (0-based).
_MIRROR = {i: 16 - i for i in range(17)}
_MIRROR.update({17 + i: 26 - i for i in range(5)})
_MIRROR.update({26 - i: 17 + i for i in range(5)})
_MIRROR.update({27: 27, 28: 28, 29: 29, 30: 30, 31: 35, 35: 31, 32: 34, 34: 32, 33: 33})
_MIRROR.update({36: 45, 37: 44, 38: 43, 39: 42, 40: 47, 41: 46})
_MIRROR.update({v: k for k, v in list(_MIRROR.items()) if 36 <= k <= 41})
_MIRROR.update({48: 54, 49: 53, 50: 52, 51: 51, 52: 50, 53: 49, 54: 48})
_MIRROR.update({55: 59, 56: 58, 57: 57, 58: 56, 59: 55})
_MIRROR.update({60: 64, 61: 63, 62: 62, 63: 61, 64: 60, 65: 67, 66: 66, 67: 65})

_HALF: tuple[tuple[str, tuple[Vertex, ...]], ...] = (
    ("brow outer", (17, 18, ("up", 18, 1), ("up", 17, 1))),
    ("brow mid-outer", (18, 19, ("up", 19, 1), ("up", 18, 1))),
    ("brow mid-inner", (19, 20, ("up", 20, 1), ("up", 19, 1))),
    ("brow inner", (20, 21, ("up", 21, 1), ("up", 20, 1))),
    ("forehead outer", (("up", 17, 1), ("up", 19, 1), ("up", 19, 2), ("up", 17, 2))),
    ("forehead inner", (("up", 19, 1), ("up", 21, 1), ("up", 21, 2), ("up", 19, 2))),
    ("glabella", (21, ("mid", 21, 22), ("mid", 39, 42), 39)),
    ("upper eyelid outer", (17, 19, 38, 37, 36)),
    ("upper eyelid inner", (19, 21, 39, 38)),
    ("lower eyelid", (36, 41, 40, 39, ("down", 39, 1), ("down", 36, 1))),
    ("eye corner", (0, 17, 36, ("down", 36, 1), 1)),
    ("upper cheek", (1, ("down", 36, 1), ("down", 39, 1), 31, 2)),
    ("lower cheek", (2, 31, 48, 4, 3)),
    ("nose side", (39, 28, 30, 31)),
    ("nasolabial", (31, 32, 50, 49, 48)),
    ("philtrum", (32, 33, 51, 50)),
    ("mouth corner", (48, 59, 5, 4)),
    ("chin", (59, 58, 57, 8, 7, 6, 5)),
)


def _mirror_vertex(v: Vertex) -> Vertex:
    if isinstance(v, int):
        return _MIRROR[v]
    kind, *args = v
    if kind == "mid":
        return ("mid", _MIRROR[args[0]], _MIRROR[args[1]])
    return (kind, _MIRROR[args[0]], args[1])


ROIS: tuple[tuple[str, tuple[Vertex, ...]], ...] = tuple(
    (f"{name} (image left)", verts) for name, verts in _HALF
) + tuple((f"{name} (image right)", tuple(_mirror_vertex(v) for v in verts)) for name, verts in _HALF)
N_ROIS = len(ROIS)  # 36


def roi_polygons(landmarks: np.ndarray) -> list[np.ndarray]:
    """The 36 ROI polygons, each (n_vertices, 2) in (x, y), for 68 landmarks (x, y)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2) or not np.all(np.isfinite(lm)):
        raise PreprocessingError(f"MDMO needs 68 finite (x, y) landmarks, got an array of shape {lm.shape}")
    axis = lm[27] - lm[8]
    s = float(np.hypot(*axis))
    if s == 0:
        raise PreprocessingError("MDMO landmarks are degenerate (nose root and chin coincide)")
    up = axis / s

    def point(v: Vertex) -> np.ndarray:
        if isinstance(v, int):
            return lm[v]
        kind, a, b = v
        if kind == "mid":
            return (lm[a] + lm[b]) / 2
        sign = 1.0 if kind == "up" else -1.0
        return lm[a] + sign * b * 0.1 * s * up

    return [np.array([point(v) for v in verts]) for _, verts in ROIS]


def roi_masks(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(36, H, W) boolean masks of the ROIs on an image of ``shape`` (H, W)."""
    h, w = shape
    masks = np.zeros((N_ROIS, h, w), dtype=bool)
    for k, poly in enumerate(roi_polygons(landmarks)):
        rr, cc = draw_polygon(poly[:, 1], poly[:, 0], shape=(h, w))
        masks[k, rr, cc] = True
        if not masks[k].any():
            raise PreprocessingError(
                f"MDMO ROI {k} ({ROIS[k][0]}) covers no pixel of the {h}x{w} flow field: the "
                "landmarks lie outside the image or the flow is too small; check that the "
                "landmarks are in the flow's coordinates or use a larger flow size"
            )
    return masks
