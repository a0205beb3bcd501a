"""Short (SMIC-like) clips: the ADM window's missing flows are zero rows FIRST, as in the
authors' data, and the padded sequences go through both ATNet streams with the right shapes."""

from __future__ import annotations

import numpy as np
import torch

from microexpr.models.atnet import atnet
from microexpr.motion.adm import adm_from_frames, block_direction_magnitude
from microexpr.motion.flow import compute_flow


def moving_texture(n_frames: int, size: int = 48, seed: int = 0) -> list[np.ndarray]:
    """A smooth random texture drifting right by 0.5 px per frame (uint8 grey frames)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 255, (size // 4, size // 4 + 8)).astype(np.float32)
    import cv2

    big = cv2.resize(base, (size * 2 + 32, size * 2), interpolation=cv2.INTER_CUBIC)
    frames = []
    for t in range(n_frames):
        m = np.float32([[1, 0, -0.5 * t], [0, 1, 0]])
        f = cv2.warpAffine(big, m, (big.shape[1], big.shape[0]), flags=cv2.INTER_LINEAR)
        frames.append(np.clip(cv2.resize(f, (size, size)), 0, 255).astype(np.uint8))
    return frames


def test_short_clip_is_left_padded_and_goes_through_both_streams():
    # SMIC-like: 15 frames, apex in the middle, far fewer than the 65-frame window.
    frames = moving_texture(15)
    onset, apex, offset = 0, 7, 14
    adm = adm_from_frames(frames, onset, apex, offset, flow_method="farneback")
    assert adm.shape == (64, 128) and adm.dtype == np.float32
    # Window frames apex-32 .. apex+32; the pairs (a, a+1) inside 0..14 are a = 0..13: 14 flows.
    n_real = 14
    assert np.all(adm[: 64 - n_real] == 0), "zero rows must come first"
    assert np.all(np.abs(adm[64 - n_real:]).sum(axis=1) > 0), "real rows must be last"
    # The real rows are the flows in temporal order, (direction, magnitude) interleaved per block.
    for k in range(n_real):
        flow = compute_flow(frames[k], frames[k + 1], "farneback")
        np.testing.assert_allclose(adm[64 - n_real + k], block_direction_magnitude(flow), rtol=1e-5, atol=1e-6)
    # Rightward drift of 0.5 px on the 2 * 48 + 32 = 128 px wide texture, resized to 48 px:
    # 0.5 * 48 / 128 = 0.1875 px per frame.
    mags = adm[64 - n_real:, 1::2]
    assert 0.15 < float(np.median(mags)) < 0.25
    # The "aligned" layout keeps rows at their temporal position instead: t = a - (apex - 32) = 25..38.
    aligned = adm_from_frames(frames, onset, apex, offset, flow_method="farneback", layout="aligned")
    np.testing.assert_array_equal(aligned[25:39], adm[64 - n_real:])
    assert np.all(aligned[:25] == 0) and np.all(aligned[39:] == 0)

    # Through both streams: apex (B, 1, 32, 32) and ADM (B, 64, 128).
    apex_img = torch.from_numpy(frames[apex][8:40, 8:40].astype(np.float32))[None, None].repeat(2, 1, 1, 1)
    adm_t = torch.from_numpy(adm)[None].repeat(2, 1, 1)
    torch.manual_seed(0)
    model = atnet(variant="fusion", base_width=4, lstm_hidden=16).eval()
    with torch.no_grad():
        assert model.spatial_features(apex_img).shape == (2, 32)
        assert model.temporal_features(adm_t).shape == (2, 16)
        assert model.forward_features(apex_img, adm_t).shape == (2, 48)
        assert model(apex_img, adm_t).shape == (2, 3)


def test_padding_rows_change_what_the_lstm_averages():
    """The zero rows are real LSTM steps (part of the time average), so the padding side matters."""
    torch.manual_seed(0)
    model = atnet(variant="temporal", lstm_hidden=8, lstm_layers=2).eval()
    rows = torch.rand(1, 10, 128)
    left = torch.cat([torch.zeros(1, 54, 128), rows], dim=1)
    right = torch.cat([rows, torch.zeros(1, 54, 128)], dim=1)
    with torch.no_grad():
        assert not torch.allclose(model.temporal_features(left), model.temporal_features(right), atol=1e-4)
