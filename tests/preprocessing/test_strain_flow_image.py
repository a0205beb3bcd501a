"""Optical strain and the STSTNet/LAENet flow image on analytic flow fields (values by hand)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexpr.errors import PreprocessingError
from microexpr.motion import flow_image, flow_to_colour, optical_strain


def field(h: int, w: int, fu, fv) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)  # x = columns, y = rows
    return np.stack([fu(xs, ys), fv(xs, ys)], axis=-1).astype(np.float32)


def test_strain_of_translation_and_rotation_is_zero():
    trans = field(9, 11, lambda x, y: 2.0 + 0 * x, lambda x, y: -1.0 + 0 * x)
    rot = field(9, 11, lambda x, y: -0.1 * (y - 4), lambda x, y: 0.1 * (x - 5))
    assert np.abs(optical_strain(trans)).max() < 1e-6
    assert np.abs(optical_strain(rot)).max() < 1e-6


def test_strain_of_shear_and_stretch_by_hand():
    # u = 0.3 y: u_y = 0.3 -> sqrt(0.5 * 0.3^2) = 0.21213
    shear = field(8, 8, lambda x, y: 0.3 * y, lambda x, y: 0 * x)
    np.testing.assert_allclose(optical_strain(shear), np.full((8, 8), 0.2121320), atol=1e-6)
    # u = 0.2 x, v = -0.5 y, plus v_x = 0.1: sqrt(0.04 + 0.25 + 0.5 * 0.01) = sqrt(0.295)
    gen = field(7, 10, lambda x, y: 0.2 * x, lambda x, y: -0.5 * y + 0.1 * x)
    np.testing.assert_allclose(optical_strain(gen), np.full((7, 10), np.sqrt(0.295)), atol=1e-6)


def test_strain_uses_columns_as_x():
    # u = 0.4 x has u_x = 0.4 (normal strain 0.4); swapping axes would give the shear value
    # sqrt(0.5) * 0.4 = 0.283 instead.
    s = optical_strain(field(6, 9, lambda x, y: 0.4 * x, lambda x, y: 0 * x))
    np.testing.assert_allclose(s, 0.4, atol=1e-6)


def test_flow_image_translation_is_all_zero():
    img = flow_image(field(8, 8, lambda x, y: 2.0 + 0 * x, lambda x, y: -1.0 + 0 * x), size=None)
    assert img.dtype == np.uint8 and img.shape == (8, 8, 3)
    assert not img.any()  # constant channels map to 0, as cv2.normalize(NORM_MINMAX) does


def test_flow_image_constant_channel_matches_cv2_normalize():
    u = np.full((5, 5), 3.0, np.float32)
    ref = cv2.normalize(u, None, 0, 255, cv2.NORM_MINMAX)
    img = flow_image(np.stack([u, u], -1), size=None)
    np.testing.assert_array_equal(img[..., 0], ref.astype(np.uint8))


def test_flow_image_rotation_by_hand():
    h, w = 8, 12
    img = flow_image(field(h, w, lambda x, y: -0.1 * (y - 3.5), lambda x, y: 0.1 * (x - 5.5)), size=None)
    ys, xs = np.mgrid[0:h, 0:w]
    np.testing.assert_array_equal(img[..., 0], np.rint(255 * (h - 1 - ys) / (h - 1)).astype(np.uint8))
    np.testing.assert_array_equal(img[..., 1], np.rint(255 * xs / (w - 1)).astype(np.uint8))
    assert not img[..., 2].any()  # rotation: no strain


def test_flow_image_shear_resized_by_area_averaging():
    # u = 0.05 y on 56 rows: u channel = 255 y / 55; area-resizing 2x2 -> 255 (2i + 0.5) / 55
    img = flow_image(field(56, 56, lambda x, y: 0.05 * y, lambda x, y: 0 * x), size=28)
    i = np.arange(28)
    expect = np.rint(255 * (2 * i + 0.5) / 55).astype(np.uint8)
    np.testing.assert_array_equal(img[..., 0], np.repeat(expect[:, None], 28, axis=1))
    assert not img[..., 1].any() and not img[..., 2].any()


def test_eye_mask_excluded_from_range_and_zeroed():
    h, w = 10, 6
    flow = field(h, w, lambda x, y: 0.5 * y, lambda x, y: 0 * x)
    flow[0:2, :, 0] = 40.0  # a "blink": huge motion inside the mask
    mask = np.zeros((h, w), bool)
    mask[0:2] = True
    img = flow_image(flow, eye_mask=mask, size=None)
    ys = np.arange(2, h)
    np.testing.assert_array_equal(img[2:, 0, 0], np.rint(255 * (ys - 2) / (h - 3)).astype(np.uint8))
    assert not img[0:2].any()


def test_flow_image_bad_inputs():
    with pytest.raises(PreprocessingError, match="shape"):
        flow_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(PreprocessingError, match="does not match"):
        flow_image(np.zeros((4, 4, 2), np.float32), eye_mask=np.zeros((3, 4), bool))
    with pytest.raises(PreprocessingError, match="whole flow field"):
        flow_image(np.zeros((4, 4, 2), np.float32), eye_mask=np.ones((4, 4), bool))


def test_flow_to_colour_directions():
    flow = np.zeros((4, 4, 2), np.float32)
    flow[0, 0] = (3, 0)  # right, maximal magnitude -> pure red
    flow[0, 1] = (-1.5, 0)  # left, half magnitude -> dark cyan
    flow[0, 2] = (0, 1.5)  # down
    rgb = flow_to_colour(flow)
    assert tuple(rgb[0, 0]) == (255, 0, 0)
    r, g, b = (int(c) for c in rgb[0, 1])
    assert r == 0 and abs(g - 128) <= 1 and abs(b - 128) <= 1
    assert tuple(rgb[1, 1]) == (0, 0, 0)  # no motion: black
    assert rgb[0, 2, 1] > rgb[0, 2, 2]  # downward (90 deg) sits between red and green hues
