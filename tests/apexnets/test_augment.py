"""Augmentations checked against OpenCV and worked-out cases."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from microexpr.errors import ConfigError
from microexpr.training.augment import (
    ApexAugment, box_blur, center_crop, colour_shift, corner_crop, rotate, rotate_by, smooth,
)


def smooth_image(h: int = 40, w: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 3)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("angle", [10.0, -7.5])
def test_rotation_matches_opencv(angle):
    img = smooth_image()
    h, w = img.shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    ref = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    got = rotate_by(torch.from_numpy(img)[None, None], torch.tensor([angle]))[0, 0].numpy()
    np.testing.assert_allclose(got, ref, atol=1e-2)


def test_quarter_turn_is_rot90():
    x = torch.arange(36.0).view(1, 1, 6, 6)
    np.testing.assert_allclose(rotate_by(x, torch.tensor([90.0])), torch.rot90(x, 1, (2, 3)), atol=1e-4)


@pytest.mark.parametrize("window", [3, 5])
def test_box_blur_matches_opencv(window):
    img = np.random.default_rng(1).uniform(0, 255, (20, 23)).astype(np.float32)
    ref = cv2.blur(img, (window, window), borderType=cv2.BORDER_REFLECT_101)
    got = box_blur(torch.from_numpy(img)[None, None], window)[0, 0].numpy()
    np.testing.assert_allclose(got, ref, atol=1e-3)


def test_colour_shift_is_one_bounded_offset_per_sample_and_channel():
    x = torch.full((64, 3, 5, 5), 100.0)
    y = colour_shift(x, 20.0, gen(), p=1.0)
    d = y - x
    assert torch.all(d.abs() <= 20.0)
    assert torch.allclose(d, d[..., :1, :1].expand_as(d))  # constant within a channel
    assert d[:, :, 0, 0].std() > 5  # offsets vary across samples/channels
    bright = colour_shift(torch.full((64, 1, 3, 3), 250.0), 20.0, gen(5), p=1.0)
    assert bright.max() == 255.0 and bright.min() >= 230.0  # clipped to the 0-255 range


def test_probability_zero_is_identity_and_p_selects_a_fraction():
    x = torch.rand(200, 1, 8, 8) * 255
    for fn, arg in ((colour_shift, 20.0), (rotate, 10.0), (smooth, 6)):
        assert torch.allclose(fn(x, arg, gen(), p=0.0), x, atol=1e-4)
    changed = (colour_shift(x, 20.0, gen(), p=0.5) - x).abs().flatten(1).amax(1) > 0
    assert 0.35 < changed.float().mean() < 0.65


def test_same_generator_state_same_output():
    x = torch.rand(8, 1, 36, 36) * 255
    aug = ApexAugment(colour_shift=20, max_rotation=10, smooth_window=6, crop_size=32, p=0.5)
    a, b = aug(x, gen(7)), aug(x, gen(7))
    assert a.shape == (8, 1, 32, 32)
    assert torch.equal(a, b)
    assert not torch.equal(a, aug(x, gen(8)))


def test_corner_crop_picks_the_four_corners():
    x = torch.arange(36.0).view(1, 1, 6, 6).repeat(400, 1, 1, 1)
    out = corner_crop(x, 4, gen())
    corners = {
        "tl": x[0, 0, :4, :4], "tr": x[0, 0, :4, 2:], "bl": x[0, 0, 2:, :4], "br": x[0, 0, 2:, 2:],
    }
    hits = {k: sum(torch.equal(o[0], v) for o in out) for k, v in corners.items()}
    assert sum(hits.values()) == 400
    assert min(hits.values()) > 60
    assert torch.equal(center_crop(x[:1], 4)[0, 0], x[0, 0, 1:5, 1:5])


def test_bad_arguments():
    with pytest.raises(ConfigError, match="odd"):
        box_blur(torch.zeros(1, 1, 5, 5), 4)
    with pytest.raises(ConfigError, match="larger"):
        corner_crop(torch.zeros(1, 1, 5, 5), 6, gen())
    with pytest.raises(ConfigError, match="float batch"):
        colour_shift(torch.zeros(5, 5), 2.0, gen())
    with pytest.raises(ConfigError, match="max window"):
        smooth(torch.zeros(1, 1, 5, 5), 2, gen())
