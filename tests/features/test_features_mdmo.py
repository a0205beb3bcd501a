"""MDMO: ROI geometry and main-direction statistics on flows with known motion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microexpr.errors import ConfigError, PreprocessingError
from microexpr.features.mdmo import MDMO, mdmo_vector, roi_main_direction_vectors
from microexpr.features.mdmo_rois import N_ROIS, ROIS, roi_masks

# 68 landmarks (x, y) of the astronaut face (skimage.data.astronaut, dlib's 68-point
# predictor) in a 130 x 140 crop: a real face layout without storing any image.
FACE = np.array(
    [[19, 44], [20, 56], [21, 67], [22, 79], [25, 90], [31, 100], [40, 108], [49, 116], [60, 118], [72, 117],
     [83, 111], [93, 103], [100, 94], [105, 83], [108, 71], [110, 60], [112, 48], [26, 34], [32, 28], [40, 27],
     [48, 29], [56, 32], [76, 33], [84, 31], [92, 31], [100, 32], [105, 39], [66, 42], [65, 51], [65, 59],
     [65, 67], [54, 71], [59, 73], [64, 74], [69, 73], [74, 72], [35, 41], [40, 38], [47, 38], [52, 44],
     [46, 44], [39, 44], [77, 46], [83, 40], [90, 40], [95, 45], [90, 47], [84, 47], [41, 79], [49, 79],
     [58, 79], [64, 81], [70, 80], [78, 80], [86, 81], [78, 91], [69, 95], [62, 96], [56, 95], [48, 90],
     [44, 81], [58, 83], [63, 84], [70, 83], [83, 82], [69, 90], [63, 91], [57, 90]],
    dtype=float,
)
SHAPE = (140, 130)


def _flow(angle_deg: float, mag: float = 1.0, n: int = 4) -> np.ndarray:
    a = math.radians(angle_deg)
    f = np.zeros((n, *SHAPE, 2))
    f[..., 0], f[..., 1] = mag * math.cos(a), -mag * math.sin(a)
    return f


def _mirror_permutation() -> list[int]:
    """iBUG 68-point left/right correspondence, written out from the point chart."""
    pairs = [(i, 16 - i) for i in range(17)] + [(17 + i, 26 - i) for i in range(5)]
    pairs += [(27, 27), (28, 28), (29, 29), (30, 30), (31, 35), (32, 34), (33, 33)]
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    pairs += [(48, 54), (49, 53), (50, 52), (51, 51), (55, 59), (56, 58), (57, 57)]
    pairs += [(60, 64), (61, 63), (62, 62), (65, 67), (66, 66)]
    perm = list(range(68))
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


def test_36_rois_inside_the_face_and_mirror_symmetric():
    assert N_ROIS == len(ROIS) == 36
    masks = roi_masks(FACE, SHAPE)
    assert masks.any(axis=(1, 2)).all()
    ys, xs = np.nonzero(masks.any(axis=0))
    assert xs.min() >= FACE[:, 0].min() - 1 and xs.max() <= FACE[:, 0].max() + 1
    # On a left/right symmetric face, ROI k + 18 is the mirror image of ROI k.
    c = 64.5
    mirrored = FACE[_mirror_permutation()].copy()
    mirrored[:, 0] = 2 * c - mirrored[:, 0]
    sym = (FACE + mirrored) / 2
    masks = roi_masks(sym, SHAPE)
    for k in range(18):
        left, right = masks[k], masks[k + 18]
        lx, rx = np.nonzero(left)[1].mean(), np.nonzero(right)[1].mean()
        assert lx < c < rx, ROIS[k][0]
        assert abs((c - lx) - (rx - c)) < 1.0, ROIS[k][0]
        assert abs(np.nonzero(left)[0].mean() - np.nonzero(right)[0].mean()) < 1.0, ROIS[k][0]
        assert abs(left.sum() - right.sum()) <= 0.15 * left.sum() + 3, ROIS[k][0]


def test_uniform_motion_gives_its_direction_in_every_roi():
    lam = 0.77
    phi = mdmo_vector(_flow(45, 2.0), FACE, lam=lam)
    np.testing.assert_allclose(phi[:36], lam * 1.0)  # rho normalised by the largest ROI
    np.testing.assert_allclose(phi[36:], (1 - lam) * math.pi / 4)


def test_motion_in_one_region_is_seen_there_only():
    masks = roi_masks(FACE, SHAPE)
    k = [name for name, _ in ROIS].index("mouth corner (image left)")
    flow = np.zeros((3, *SHAPE, 2))
    flow[:, masks[k], 1] = -1.5  # mouth corner moves up (lip corner puller)
    phi = mdmo_vector(flow, FACE, lam=0.5)
    rho, theta = phi[:36] / 0.5, phi[36:] / 0.5
    assert rho[k] == pytest.approx(1.0) and theta[k] == pytest.approx(math.pi / 2)
    others = [j for j in range(36) if not (masks[j] & masks[k]).any()]
    np.testing.assert_allclose(rho[others], 0.0)


def test_main_direction_beats_the_plain_mean():
    """70 % of the vectors point right (length 1), 30 % point left (length 5): the plain mean
    points left, MDMO's main-direction mean is (1, 0)."""
    mask = np.zeros((1, 10, 10), bool)
    mask[0, :, :] = True
    flow = np.zeros((2, 10, 10, 2))
    flow[:, :7, :, 0] = 1.0
    flow[:, 7:, :, 0] = -5.0
    assert flow[0, ..., 0].mean() < 0
    vec = roi_main_direction_vectors(flow, mask)
    np.testing.assert_allclose(vec, [[1.0, 0.0]])
    # frames voting differently: per-frame main directions are averaged as vectors
    flow[1, :, :, 0] = 0
    flow[1, :, :, 1] = -2.0  # frame 1: everything moves up
    np.testing.assert_allclose(roi_main_direction_vectors(flow, mask, pooling="per_frame"), [[0.5, -1.0]])
    # pooled over the clip: right has 70 votes, up 100 -> up wins
    np.testing.assert_allclose(roi_main_direction_vectors(flow, mask, pooling="clip"), [[0.0, -2.0]])


def test_accumulated_flows_keep_direction_and_transformer_api():
    phi = MDMO(lam=0.5, accumulate=True).fit(None).transform([(_flow(-90, 0.5), FACE), (_flow(180), FACE)])
    np.testing.assert_allclose(phi[0, 36:], 0.5 * -math.pi / 2)
    np.testing.assert_allclose(phi[1, 36:], 0.5 * math.pi)
    with pytest.raises(PreprocessingError, match="clip 0 must be a"):
        MDMO().transform([_flow(0)])
    with pytest.raises(PreprocessingError, match="clip 0: .*68 finite"):
        MDMO().transform([(_flow(0), FACE[:66])])
    with pytest.raises(PreprocessingError, match="covers no pixel"):
        MDMO().transform([(_flow(0), FACE + 1000)])
    with pytest.raises(ConfigError, match="lam"):
        mdmo_vector(_flow(0), FACE, lam=1.5)
