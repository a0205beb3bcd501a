"""Planted motion: the renderer moves pixels exactly as its ground truth says, and TV-L1
recovers the planted onset -> apex displacement inside the moving regions (and sees
almost nothing elsewhere).

Bounds for the TV-L1 recovery were chosen from measurements (quick corpus, seed 0, every
6th micro clip, OpenCV TV-L1 default preset on whole frames, Nov 2026): with nuisances
off the mean end-point error inside the moving regions (true flow >= 30% of its max,
mean true magnitude 0.46-0.74 px) was 0.10-0.28 px and the mean flow magnitude on static
face skin 0.002-0.025 px; with sensor noise and JPEG on, 0.12-0.34 px and 0.018-0.050 px.
The bounds leave about 30-50% head room. These checks render the clips as pure warps
(``fold_depth`` 0): the skin-fold shading the corpus also plants breaks brightness
constancy on purpose (as real skin folds do), and TV-L1 then reads part of it as motion
(EPE ~0.87 px on a 0.68 px motion at fold depth 0.2).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from microexpr.synth import Nuisances, plan_corpus, render_clip, render_record
from microexpr.synth.clips import fold_shading
from microexpr.synth.faces import neutral_landmarks, render_neutral

from microexpr.motion.flow import compute_flow  # noqa: E402

NOISE_JPEG = Nuisances(blink_prob=0.0, head_shift_px=0.0, head_roll_deg=0.0, flicker=0.0)


def _grey(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _records(n_per_class: int = 1):
    """One clip per composite class and corpus from the quick plan (no blinks planned)."""
    recs = plan_corpus("quick", 0, Nuisances.off())
    chosen, seen = [], {}
    for r in recs:
        k = (r.dataset, r.composite_class)
        if r.dataset != "ckplus" and r.composite_class and seen.get(k, 0) < n_per_class:
            seen[k] = seen.get(k, 0) + 1
            chosen.append(r)
    return chosen


def _face_mask(landmarks: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    poly = np.vstack([landmarks[0:17], landmarks[[26, 24, 19, 17]]])
    mask = np.zeros(hw, np.uint8)
    cv2.fillPoly(mask, [np.rint(poly).astype(np.int32)], 1)
    return mask.astype(bool)


def _pure_warp(rec):  # noqa: ANN001, ANN202
    """The clip without its skin-fold shading: brightness constancy holds, the flow is defined."""
    return dataclasses.replace(rec, plan=dataclasses.replace(rec.plan, fold_depth=0.0))


def _recovery(rec, nuisances):  # noqa: ANN001, ANN202
    rec = _pure_warp(rec)
    rc = render_record(rec, nuisances)
    p = rec.plan
    flow = compute_flow(_grey(rc.frames[p.onset]), _grey(rc.frames[p.apex]))
    true = rc.true_flow
    mag = np.linalg.norm(true, axis=-1)
    moving = mag >= 0.3 * mag.max()
    still = (mag < 0.02) & _face_mask(rc.landmarks[p.onset], mag.shape)
    epe = np.linalg.norm(flow - true, axis=-1)
    return float(epe[moving].mean()), float(mag[moving].mean()), float(np.linalg.norm(flow, axis=-1)[still].mean())


def test_integer_placement_without_expression_is_an_exact_shift() -> None:
    rec = _records()[0]
    plan = rec.plan
    neutral = render_neutral(plan.identity, neutral_landmarks(plan.identity, plan.frame_hw, plan.scale_px), plan.frame_hw)
    rc = render_clip(plan, Nuisances.off(), neutral=neutral)
    dx, dy = plan.placement_px
    expected = np.clip(np.rint(np.roll(neutral, shift=(dy, dx), axis=(0, 1))), 0, 255)
    got = rc.frames[0].astype(float)  # frame 0 precedes the onset: no expression yet
    assert rc.intensity[0] == 0.0
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(got[inner] - expected[inner]).max() <= 1.0
    np.testing.assert_allclose(
        rc.landmarks[0], neutral_landmarks(plan.identity, plan.frame_hw, plan.scale_px) + np.array([dx, dy]), atol=1e-4
    )


@pytest.mark.parametrize("index", [0, 3])
def test_frames_landmarks_and_true_flow_agree(index: int) -> None:
    rec = _records()[index]
    rec = _pure_warp(rec)
    p = rec.plan
    rc = render_record(rec, Nuisances.off())
    onset, apex = rc.frames[p.onset].astype(np.float32), rc.frames[p.apex].astype(np.float32)
    true = rc.true_flow
    mag = np.linalg.norm(true, axis=-1)
    moving = mag >= 0.3 * mag.max()
    # Brightness constancy along the planted flow: warping the apex frame back by the true
    # flow reproduces the onset frame much better than the unwarped apex frame does.
    h, w = mag.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    back = cv2.remap(apex, xx + true[..., 0], yy + true[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    err_warped = np.abs(back - onset)[moving].mean()
    err_plain = np.abs(apex - onset)[moving].mean()
    assert err_warped < 0.5 * err_plain, (err_warped, err_plain)
    # Landmarks (moved analytically) agree with the flow field (solved on the pixel grid).
    lm_on, lm_ap = rc.landmarks[p.onset], rc.landmarks[p.apex]
    at = cv2.remap(true, lm_on[:, 0].reshape(1, -1).astype(np.float32), lm_on[:, 1].reshape(1, -1).astype(np.float32),
                   cv2.INTER_LINEAR)[0]
    np.testing.assert_allclose(lm_ap - lm_on, at, atol=0.03)
    # The planted peak is what the plan says (expression field, pixels).
    assert np.linalg.norm(rc.expression_field, axis=-1).max() == pytest.approx(p.peak_px, rel=1e-4)


def test_tvl1_recovers_planted_motion_without_nuisances() -> None:
    for rec in _records():
        epe, mag, still = _recovery(rec, Nuisances.off())
        assert epe < 0.35, f"{rec.dataset}/{rec.clip} AUs {rec.plan.aus}: EPE {epe:.3f} px (true {mag:.2f} px)"
        assert epe < 0.5 * mag
        assert still < 0.04, f"{rec.dataset}/{rec.clip}: {still:.3f} px of flow away from the moving regions"


def test_tvl1_recovers_planted_motion_with_noise_and_jpeg() -> None:
    for rec in _records()[::3]:
        epe, mag, still = _recovery(rec, NOISE_JPEG)
        assert epe < 0.45, f"{rec.dataset}/{rec.clip}: EPE {epe:.3f} px (true {mag:.2f} px)"
        assert still < 0.08, f"{rec.dataset}/{rec.clip}: {still:.3f} px of flow away from the moving regions"


def test_switched_off_blinks_are_not_rendered_and_planned_ones_are() -> None:
    rec = next(r for r in plan_corpus("quick", 0) if r.plan.blink_at is not None and r.dataset != "ckplus")
    with_blink = render_record(rec, Nuisances(head_shift_px=0, head_roll_deg=0, flicker=0, noise=0, jpeg_quality=None))
    without = render_record(rec, Nuisances.off())
    assert with_blink.blink.max() > 0.5 and without.blink.max() == 0.0
    t = int(np.argmax(with_blink.blink))
    lm = with_blink.landmarks[t]
    # Upper lid (37, 38) comes down towards the lower lid (41, 40) during the blink.
    gap_blink = (lm[[41, 40], 1] - lm[[37, 38], 1]).mean()
    gap_open = (without.landmarks[t][[41, 40], 1] - without.landmarks[t][[37, 38], 1]).mean()
    assert gap_blink < 0.5 * gap_open


@pytest.mark.parametrize("index", [0, 4])
def test_skin_folds_darken_where_the_expression_compresses_the_skin(index: int) -> None:
    """Beyond the warp, the apex frame carries the planted fold shading (and nothing else)."""
    rec = _records()[index]
    p = rec.plan
    assert p.fold_depth > 0  # the quick size plants folds
    rc = render_record(rec, Nuisances.off())
    flat = render_record(dataclasses.replace(rec, plan=dataclasses.replace(p, fold_depth=0.0)), Nuisances.off())
    apex, apex_flat = _grey(rc.frames[p.apex]).astype(float), _grey(flat.frames[p.apex]).astype(float)
    dx, dy = p.placement_px
    expected = np.roll(p.fold_depth * fold_shading(rc.expression_field), shift=(dy, dx), axis=(0, 1)) * apex_flat
    folds = np.abs(expected) > 2.0  # grey levels
    assert folds.sum() > 20
    residual = apex - apex_flat
    # Same pixels, same sign, same size (within rounding and the small warp of the shading).
    assert np.corrcoef(residual[folds], expected[folds])[0, 1] > 0.9
    assert np.abs(residual[folds] - expected[folds]).mean() < 0.25 * np.abs(expected[folds]).mean()
    assert np.abs(residual[~folds]).max() <= 5.0 and np.abs(residual[~folds]).mean() < 0.3
    onset, onset_flat = rc.frames[p.onset], flat.frames[p.onset]
    if rc.intensity[p.onset] == 0:
        np.testing.assert_array_equal(onset, onset_flat)  # no expression yet, no folds
    assert fold_shading(rc.expression_field).min() == pytest.approx(-1.0, abs=0.05)  # normalised
