"""ADM sequences on analytic flow fields, and the ATNet window/padding layout."""

from __future__ import annotations

import numpy as np
import pytest

from microexpr.errors import PreprocessingError
from microexpr.motion.adm import adm_from_frames, adm_sequence, adm_window, block_direction_magnitude

PI = np.pi


def rotation(theta: float = 0.2) -> np.ndarray:
    ys, xs = np.mgrid[0:4, 0:4].astype(np.float64)
    return np.stack([-theta * (ys - 1.5), theta * (xs - 1.5)], -1).astype(np.float32)


def test_translation_blocks():
    flow = np.zeros((16, 16, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.0, -1.0
    row = block_direction_magnitude(flow, grid=8)
    assert row.shape == (128,)
    # direction atan2(-1, 2) wrapped to [0, 2pi): 2pi - 0.463648 = 5.819538; magnitude sqrt(5)
    np.testing.assert_allclose(row[0::2], 5.819538, atol=1e-5)
    np.testing.assert_allclose(row[1::2], 2.236068, atol=1e-5)


def test_shear_blocks():
    ys = np.mgrid[0:16, 0:16][0].astype(np.float32)
    flow = np.stack([0.1 * ys, np.zeros_like(ys)], -1)
    row = block_direction_magnitude(flow, grid=8).reshape(8, 8, 2)
    np.testing.assert_allclose(row[..., 0], 0.0, atol=1e-7)  # all motion to the right
    # block row i covers y = 2i, 2i+1 -> mean magnitude 0.1 * (2i + 0.5)
    expect = 0.1 * (2 * np.arange(8) + 0.5)
    np.testing.assert_allclose(row[..., 1], np.repeat(expect[:, None], 8, 1), atol=1e-6)


def test_rotation_blocks_by_hand():
    # 4x4 field rotating about (1.5, 1.5), 2x2 grid. Top-left block: u > 0, v < 0, angles
    # 7pi/4, 7pi/4, 2pi - atan(3), 2pi - atan(1/3) -> mean 7pi/4; the other blocks follow by
    # symmetry. Magnitudes theta * (sqrt(4.5) + sqrt(0.5) + 2 sqrt(2.5)) / 4 = 0.2 * 1.497678.
    row = block_direction_magnitude(rotation(0.2), grid=2)
    m = 0.2 * 1.4976776
    np.testing.assert_allclose(row, [7 * PI / 4, m, PI / 4, m, 5 * PI / 4, m, 3 * PI / 4, m], atol=1e-5)
    split = block_direction_magnitude(rotation(0.2), grid=2, interleave=False)
    np.testing.assert_allclose(split, [7 * PI / 4, PI / 4, 5 * PI / 4, 3 * PI / 4, m, m, m, m], atol=1e-5)


def test_sequence_left_padding_and_aligned():
    rot = rotation()
    flows = [None, rot, None, 2 * rot]
    left = adm_sequence(flows, grid=2, length=6)
    assert left.shape == (6, 8) and left.dtype == np.float32
    assert not left[:4].any()  # two missing + two beyond the list: zero rows first
    np.testing.assert_allclose(left[5, 1::2], 2 * left[4, 1::2], rtol=1e-6)  # order kept
    aligned = adm_sequence(flows, grid=2, length=6, layout="aligned")
    assert not aligned[0].any() and aligned[1].any() and not aligned[2].any() and aligned[3].any()
    assert not aligned[4:].any()
    with pytest.raises(PreprocessingError, match="do not fit"):
        adm_sequence([rot] * 7, grid=2, length=6)


def test_window_marks_frames_outside_onset_offset():
    pairs = adm_window(50, onset=10, apex=12, offset=40, half_window=32)
    assert len(pairs) == 64
    present = [p for p in pairs if p is not None]
    # frames 10..40 are usable: pairs (10,11) .. (39,40) = 30 pairs, within apex-32..apex+32
    assert present[0] == (10, 11) and present[-1] == (39, 40) and len(present) == 30
    assert pairs[0] is None and pairs[32] == (12, 13)


def test_adm_from_frames_counts_zero_rows():
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (32, 32), dtype=np.uint8) for _ in range(20)]
    asked: list[int] = []

    def get(i: int) -> np.ndarray:
        asked.append(i)
        return frames[i]

    adm = adm_from_frames(get, onset=2, apex=5, offset=15, n_frames=20, half_window=4, grid=2)
    # window frames 1..9; pairs need both frames in 2..15: (2,3)..(8,9) = 7 real, 1 zero row first
    assert adm.shape == (8, 8)
    assert not adm[0].any() and (adm[1:, 1::2] > 0).all()
    assert asked == list(range(2, 10))  # each frame read once, in order
    np.testing.assert_array_equal(adm_from_frames(frames, 2, 5, 15, half_window=4, grid=2), adm)
    with pytest.raises(PreprocessingError, match="n_frames"):
        adm_from_frames(get, 2, 5, 15)
