"""LBP codes and LBP-TOP histograms against scikit-image and hand-worked volumes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import map_coordinates
from skimage.data import astronaut
from skimage.feature import local_binary_pattern

from microexpr.errors import ConfigError, PreprocessingError
from microexpr.features.lbp import bin_table, mapping_table, plane_codes, raw_plane_codes
from microexpr.features.lbptop import LBPTOP, lbptop_histograms

METHODS = ["default", "ror", "uniform", "nri_uniform"]


def _test_clip() -> np.ndarray:
    """Five 48x40 uint8 frames: a real face crop drifting by one pixel per frame, plus
    a flat patch (ties between centre and neighbours) and random texture."""
    grey = (astronaut()[..., :3] @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    rng = np.random.default_rng(0)
    frames = []
    for t in range(5):
        f = grey[80 + t : 128 + t, 180:220].copy()
        f[5:15, 5:15] = 90
        f[30:40, 25:35] = rng.integers(0, 256, (10, 10))
        frames.append(f)
    return np.stack(frames)


@pytest.mark.parametrize("P,R", [(4, 1), (8, 1), (8, 3), (4, 3), (8, 2.5), (16, 2)])
@pytest.mark.parametrize("method", METHODS)
def test_xy_codes_equal_skimage_on_every_frame(P, R, method):
    clip = _test_clip()
    ours = plane_codes(clip, 1, 2, P, R, R, method)
    for t, frame in enumerate(clip):
        ref = local_binary_pattern(frame, P, R, method)
        np.testing.assert_array_equal(ours[t], ref, err_msg=f"frame {t}")


@pytest.mark.parametrize("P,R", [(8, 1), (4, 3)])
def test_xt_and_yt_codes_equal_skimage_on_every_slice(P, R):
    rng = np.random.default_rng(1)
    vol = rng.integers(0, 256, (9, 12, 14)).astype(np.uint8)
    xt = plane_codes(vol, 0, 2, P, R, R, "nri_uniform")  # rows t, cols x; one plane per y
    yt = plane_codes(vol, 0, 1, P, R, R, "nri_uniform")  # rows t, cols y; one plane per x
    for y in range(vol.shape[1]):
        np.testing.assert_array_equal(xt[:, y, :], local_binary_pattern(vol[:, y, :], P, R, "nri_uniform"))
    for x in range(vol.shape[2]):
        np.testing.assert_array_equal(yt[:, :, x], local_binary_pattern(vol[:, :, x], P, R, "nri_uniform"))


def test_elliptical_neighbourhood_matches_scipy_interpolation():
    """R_T != R_X (e.g. {1,1,4}): compare with a per-pixel reference built on scipy."""
    rng = np.random.default_rng(2)
    vol = rng.random((11, 9, 10))  # continuous values: no ties
    P, r_t, r_x = 4, 2.5, 1.0
    ours = raw_plane_codes(vol, 0, 2, P, r_t, r_x)
    angles = 2 * np.pi * np.arange(P) / P
    for y in range(vol.shape[1]):
        plane = vol[:, y, :]
        for t in range(3, 8):
            for x in range(1, 9):
                code = 0
                for p in range(P):
                    rr = t + np.round(-r_t * np.sin(angles[p]), 5)
                    cc = x + np.round(r_x * np.cos(angles[p]), 5)
                    val = map_coordinates(plane, [[rr], [cc]], order=1, mode="constant")[0]
                    code |= int(val >= plane[t, x]) << p
                assert ours[t, y, x] == code, (t, y, x)


def test_mapping_sizes_are_the_textbook_counts():
    # uniform (u2) patterns: P(P-1)+2 uniform + 1 non-uniform bin = 59 for P = 8
    assert bin_table(8, "nri_uniform")[1] == 59
    assert set(np.unique(mapping_table(8, "nri_uniform"))) == set(range(59))
    # rotation-invariant uniform: P + 2 bins
    assert bin_table(8, "uniform")[1] == 10
    # rotation-invariant patterns = binary necklaces of length 8: 36 (OEIS A000031)
    assert bin_table(8, "ror")[1] == 36
    assert bin_table(4, "ror")[1] == 6
    assert bin_table(4, "nri_uniform")[1] == 15


def test_hand_worked_histograms_of_ramp_volumes():
    """Default mapping, P = 8, R = 1 on 7x6x8 volumes whose codes follow from the geometry.

    Neighbour p sits at angle 45p degrees: row offset -sin, column offset +cos (rounded to 5
    decimals, so p = 0, 2, 4, 6 lie exactly on the axes and equal offsets give ties, which
    set the bit).
    - I = t: XY neighbours all equal the centre -> all bits set -> 255. On XT and YT the
      rows are t: a neighbour is >= the centre iff -sin >= 0 -> p = 0, 4, 5, 6, 7 -> 241.
    - I = x: on XY and XT the columns are x: bit iff cos >= 0 -> p = 0, 1, 2, 6, 7 -> 199;
      YT does not see x -> 255.
    """
    T, H, W = 7, 6, 8
    t, y, x = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), indexing="ij")
    n_centres = (T - 2) * (H - 2) * (W - 2)

    def expected(xy: int, xt: int, yt: int) -> np.ndarray:
        h = np.zeros((3, 256))
        h[0, xy] = h[1, xt] = h[2, yt] = n_centres
        return h.ravel()

    kw = dict(radius_x=1, radius_y=1, radius_t=1, n_points=8, mapping="default", normalize="none")
    np.testing.assert_array_equal(lbptop_histograms(t.astype(float) * 10, **kw), expected(255, 241, 241))
    np.testing.assert_array_equal(lbptop_histograms(x.astype(float) * 10, **kw), expected(199, 199, 255))
    # L1 normalisation divides every plane histogram by its count
    l1 = lbptop_histograms(x.astype(float), **{**kw, "normalize": "l1"})
    np.testing.assert_allclose(l1, expected(199, 199, 255) / n_centres)


def test_block_grid_counts_valid_centres_per_block():
    """A 2x2 grid on 10x8 frames with R = 1: valid centres are rows 1..8, cols 1..6; block
    edges at rows 5 and cols 4 -> centres per block 4x3, 4x3, 4x3, 4x3 per valid frame."""
    rng = np.random.default_rng(3)
    clip = rng.integers(0, 256, (5, 10, 8)).astype(np.uint8)
    h = lbptop_histograms(clip, grid=(2, 2), normalize="none", n_points=4, mapping="nri_uniform")
    per_plane = h.reshape(4, 3, 15).sum(axis=2)  # (blocks, planes)
    np.testing.assert_array_equal(per_plane, np.full((4, 3), 3 * 4 * 3))
    # the block's XY histogram equals skimage's codes counted over that block's valid centres
    codes = np.stack([local_binary_pattern(f, 4, 1, "nri_uniform") for f in clip]).astype(int)
    ref = np.bincount(codes[1:4, 5:9, 4:7].ravel(), minlength=15)  # block (1, 1)
    np.testing.assert_array_equal(h.reshape(4, 3, 15)[3, 0], ref)


def test_transformer_rgb_ragged_and_errors():
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (6, 20, 20, 3)).astype(np.uint8)
    tr = LBPTOP(radius_x=1, radius_y=1, radius_t=1, n_points=[8, 4, 4], grid=(2, 2)).fit(None)
    feats = tr.transform([rgb])
    per_channel = np.concatenate([tr.transform([rgb[..., c]])[0] for c in range(3)])
    np.testing.assert_array_equal(feats[0], per_channel)
    assert feats.shape == (1, 3 * 4 * (59 + 15 + 15))
    # ragged clip lengths and sizes give equal-length features
    out = tr.transform([rgb[..., 0], rgb[:4, :18, :16, 1]])
    assert out.shape == (2, 4 * (59 + 15 + 15))
    with pytest.raises(ConfigError, match=r"clip 1: .*too short for radius_t=2"):
        LBPTOP(radius_t=2).transform([rgb[..., 0], rgb[:3, ..., 0]])
    with pytest.raises(PreprocessingError, match="clip 0 has shape"):
        LBPTOP().transform([np.zeros((4, 5))])
    with pytest.raises(ConfigError, match="unknown LBP mapping"):
        LBPTOP(mapping="u2").fit(None)
    with pytest.raises(ConfigError, match="grid"):
        LBPTOP(grid=(0, 2)).fit(None)


def test_interpolated_ties_match_skimage_on_a_smooth_clip():
    """Smooth, quantised texture: interpolating equal pixels must round exactly as scikit-image
    does (it weights at the absolute position index + offset), or ties flip bits."""
    from scipy.ndimage import gaussian_filter, shift

    rng = np.random.default_rng(0)
    base = gaussian_filter(rng.random((64, 64)), 2.0)
    base = (base - base.min()) / np.ptp(base) * 200 + 20
    clip = np.stack([shift(base, (0.05 * t, 0.1 * t), order=1, mode="nearest") for t in range(10)])
    clip = np.clip(clip + rng.normal(0, 2, clip.shape), 0, 255).astype(np.uint8)
    for row_axis, col_axis, slicer in ((1, 2, lambda i: clip[i]), (0, 2, lambda i: clip[:, i, :]), (0, 1, lambda i: clip[:, :, i])):
        ours = np.moveaxis(plane_codes(clip, row_axis, col_axis, 8, 3, 3, "nri_uniform"), 3 - row_axis - col_axis, 0)
        for i in range(ours.shape[0]):
            np.testing.assert_array_equal(ours[i], local_binary_pattern(slicer(i), 8, 3, "nri_uniform"))
