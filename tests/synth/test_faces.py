"""Faces and action units: landmarks sit on the drawn features; AU fields move what FACS says."""

from __future__ import annotations

import numpy as np
import pytest

from microexpr.synth.action_units import SUPPORTED_AUS, au_field
from microexpr.synth.faces import neutral_landmarks, render_neutral, sample_identity
from microexpr.synth.landmarks import MIRROR, interocular_distance

HW = (168, 144)
SCALE = 46.0


def _grey(img: np.ndarray) -> np.ndarray:
    return img @ np.array([0.299, 0.587, 0.114])


def _at(grey: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Grey value at the rounded positions of ``pts`` (x, y)."""
    xy = np.rint(pts).astype(int)
    return grey[xy[:, 1], xy[:, 0]]


@pytest.mark.parametrize("seed", range(6))
def test_eye_and_brow_landmarks_sit_on_dark_drawn_features(seed: int) -> None:
    # The eye outline (lash line) and the brows are drawn darker than skin; the same points
    # moved a quarter of the inter-ocular distance down (onto the cheek / upper lid skin)
    # must be brighter. A landmark template that did not follow the drawing would fail.
    identity = sample_identity(np.random.default_rng(seed))
    lm = neutral_landmarks(identity, HW, SCALE)
    grey = _grey(render_neutral(identity, lm, HW))
    iod = interocular_distance(lm)
    eyes, brows = lm[36:48], lm[17:27]
    down = np.array([0.0, 0.25 * iod])
    skin = float(np.median(_at(grey, eyes + down)))
    assert _at(grey, eyes).mean() < skin - 15
    assert _at(grey, brows).mean() < float(np.median(_at(grey, brows - np.array([0.0, 0.12 * iod])))) - 15
    # Pupils: the centre of each eye polygon is the darkest drawn colour.
    for ids in (range(36, 42), range(42, 48)):
        c = lm[list(ids)].mean(0)
        assert _at(grey, c[None])[0] < 60


def test_landmark_layout_is_mirror_symmetric_and_ordered() -> None:
    identity = sample_identity(np.random.default_rng(0))
    lm = neutral_landmarks(identity, HW, SCALE)
    mid = lm[27:31, 0].mean()
    mirrored = lm[list(MIRROR)] * np.array([-1.0, 1.0]) + np.array([2 * mid, 0.0])
    np.testing.assert_allclose(mirrored, lm, atol=1e-6)
    # iBUG order: jaw left->right, chin lowest jaw point, right eye (image left) before left eye,
    # brows above eyes, nose between eyes and mouth, mouth above chin.
    assert np.all(np.diff(lm[0:17, 0]) > 0)
    assert lm[8, 1] == lm[0:17, 1].max()
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()
    assert lm[17:27, 1].max() < lm[36:48, 1].min()
    assert lm[36:48, 1].max() < lm[30, 1] < lm[48:68, 1].min()
    assert lm[48:68, 1].max() < lm[8, 1]


def _direction_at(au: str, lm: np.ndarray, point: np.ndarray) -> np.ndarray:
    return au_field(au, lm, SCALE, HW, at=point[None])[0]


def test_action_units_move_skin_the_way_facs_describes() -> None:
    lm = neutral_landmarks(sample_identity(np.random.default_rng(1)), HW, SCALE)
    # Image y points down; the subject's right is the image left (landmark 48 = image-left mouth corner).
    d12r, d12l = _direction_at("12", lm, lm[48]), _direction_at("12", lm, lm[54])
    assert d12r[1] < 0 and d12r[0] < 0  # lip corner pulled up and outwards (image left)
    assert d12l[1] < 0 and d12l[0] > 0
    assert _direction_at("15", lm, lm[48])[1] > 0  # lip corner depressed
    assert _direction_at("1", lm, lm[21])[1] < 0  # inner brow raised
    assert _direction_at("2", lm, lm[17])[1] < 0  # outer brow raised
    d4 = _direction_at("4", lm, lm[21])
    assert d4[1] > 0 and d4[0] > 0  # brow lowered and drawn towards the midline
    assert _direction_at("5", lm, lm[37])[1] < 0  # upper lid raised
    assert _direction_at("7", lm, lm[41])[1] < 0  # lower lid tightened upwards
    assert _direction_at("26", lm, lm[8])[1] > 0  # jaw drops
    assert _direction_at("17", lm, lm[8])[1] < 0  # chin pushed up
    assert _direction_at("45", lm, lm[37])[1] > 0  # blink: upper lid comes down
    # Locality: a mouth AU does not move the brows, a brow AU does not move the mouth.
    assert np.abs(_direction_at("12", lm, lm[19])).max() < 1e-3
    assert np.abs(_direction_at("1", lm, lm[51])).max() < 1e-3


def test_au_field_on_grid_matches_pointwise_evaluation() -> None:
    # The grid evaluation is windowed (4 sigma) for speed; it must agree with the exact
    # point-wise sum of Gaussians everywhere.
    lm = neutral_landmarks(sample_identity(np.random.default_rng(2)), HW, SCALE)
    yy, xx = np.mgrid[0:HW[0], 0:HW[1]]
    pts = np.column_stack([xx.ravel(), yy.ravel()]).astype(float)
    for au in SUPPORTED_AUS:
        grid = au_field(au, lm, SCALE, HW, side_weights=(1.0, 0.4))
        exact = au_field(au, lm, SCALE, HW, side_weights=(1.0, 0.4), at=pts).reshape(grid.shape)
        np.testing.assert_allclose(grid, exact, atol=2e-3 * np.abs(exact).max(), err_msg=f"AU{au}")


def test_unknown_action_unit_is_named() -> None:
    lm = neutral_landmarks(sample_identity(np.random.default_rng(0)), HW, SCALE)
    with pytest.raises(ValueError, match="AU|action unit '99'"):
        au_field("99", lm, SCALE, HW)
