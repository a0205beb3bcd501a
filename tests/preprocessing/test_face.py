"""Faces: dlib landmarks on a real face, boxes, crops, alignment, eye masks, supplied landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut
from skimage.draw import polygon

from microexpr.errors import DatasetFormatError, PreprocessingError
from microexpr.face import (
    LandmarkDetector,
    crop,
    detect_landmarks,
    eye_line_transform,
    eye_mask,
    face_box,
    landmarks_in_crop,
    load_supplied_landmarks,
    warp_image,
    warp_points,
)

from tests.preprocessing.synthclips import ASTRONAUT_EYES, face_image


def test_astronaut_landmarks_are_anatomically_ordered(astronaut_landmarks):
    lm = astronaut_landmarks
    assert lm.shape == (68, 2)
    brows, eyes = lm[17:27, 1].mean(), lm[36:48, 1].mean()
    nose_tip, mouth, chin = lm[30, 1], lm[48:68, 1].mean(), lm[8, 1]
    assert brows < eyes < nose_tip < mouth < chin
    # image-left eye is left of the image-right eye; mouth corners straddle the nose
    assert lm[36:42, 0].mean() < lm[30, 0] < lm[42:48, 0].mean()
    assert lm[48, 0] < lm[30, 0] < lm[54, 0]
    # eye centres within 3 px of the pinned reference measurement
    centres = np.stack([lm[36:42].mean(0), lm[42:48].mean(0)])
    assert np.abs(centres - ASTRONAUT_EYES).max() < 3.0


def test_mmod_detector_agrees_with_hog(window_landmarks):
    lm = LandmarkDetector("mmod", upsample=0).detect(face_image())
    assert lm is not None
    assert np.abs(lm[36:48].mean(0) - window_landmarks[36:48].mean(0)).max() < 4.0


def test_no_face_is_an_error_naming_the_image():
    with pytest.raises(PreprocessingError, match="blank.png.*no face|no face.*blank.png"):
        detect_landmarks(np.full((120, 160, 3), 127, np.uint8), where="blank.png")


def square_landmarks() -> np.ndarray:
    """68 points spread over x in [100, 200], y in [50, 170]; eyes as known hexagons."""
    lm = np.zeros((68, 2), np.float32)
    lm[:, 0] = np.linspace(100, 200, 68)
    lm[:, 1] = np.linspace(50, 170, 68)[::-1]
    hexagon = np.array([[0, 0], [4, -3], [8, -3], [12, 0], [8, 3], [4, 3]], np.float32)
    lm[36:42] = hexagon + [120, 90]
    lm[42:48] = hexagon + [160, 92]
    return lm


def test_face_box_margins_by_hand():
    lm = square_landmarks()
    assert face_box(lm) == (95, 25, 206, 171)  # x 100-5 .. 200+5(+1), y 50-25 .. 170+0(+1)
    # landmark width 100 px, reference 50 px -> margins doubled: (50, 0, 10, 10)
    assert face_box(lm, reference_face_size=50) == (90, 0, 211, 171)
    assert face_box(lm, margins=(0, 10, 0, 0)) == (100, 50, 201, 181)
    with pytest.raises(PreprocessingError, match="margins"):
        face_box(lm, margins=(1, 2, 3))


def test_crop_pads_outside_and_resizes():
    img = np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)
    out = crop(img, (-2, 0, 3, 2))
    assert out.shape == (2, 5)
    np.testing.assert_array_equal(out[:, :2], np.repeat(img[:2, :1], 2, axis=1))  # replicated border
    np.testing.assert_array_equal(out[:, 2:], img[:2, :3])
    assert crop(img, (0, 0, 30, 20), size=10).shape == (10, 10)
    assert crop(np.zeros((20, 30, 3), np.uint8), (0, 0, 30, 20), size=(15, 5)).shape == (5, 15, 3)


def test_landmarks_in_crop_follow_the_pixels():
    img = np.zeros((100, 100), np.uint8)
    img[40:44, 60:64] = 255  # a bright 4x4 square centred at (61.5, 41.5)
    box = (50, 30, 90, 70)
    c = crop(img, box, size=20)
    ys, xs = np.nonzero(c > 0)
    weights = c[ys, xs].astype(float)
    centre = np.array([np.average(xs, weights=weights), np.average(ys, weights=weights)])
    mapped = landmarks_in_crop(np.array([[61.5, 41.5]]), box, 20)[0]
    assert np.abs(centre - mapped).max() < 0.3


def test_eye_line_alignment_levels_the_eyes():
    lm = square_landmarks()
    m = eye_line_transform(lm)
    out = warp_points(lm, m)
    assert abs(out[36:42, 1].mean() - out[42:48, 1].mean()) < 1e-3
    # the eyes' midpoint is the rotation centre: it stays put
    np.testing.assert_allclose(out[36:48].mean(0), lm[36:48].mean(0), atol=1e-3)
    # the image rotates with the points: a dot at an eye centre lands at the mapped point
    img = np.zeros((200, 260), np.float32)
    cy, cx = int(round(lm[42:48, 1].mean())), int(round(lm[42:48, 0].mean()))
    img[cy, cx] = 1.0
    rot = warp_image(img, m)
    y, x = np.unravel_index(np.argmax(rot), rot.shape)
    expect = warp_points(np.array([[cx, cy]], np.float32), m)[0]
    assert abs(x - expect[0]) <= 1 and abs(y - expect[1]) <= 1


def test_eye_mask_matches_skimage_polygon():
    lm = square_landmarks()
    mask = eye_mask(lm, (200, 260))
    ref = np.zeros((200, 260), bool)
    for sl in (slice(36, 42), slice(42, 48)):
        rr, cc = polygon(lm[sl, 1], lm[sl, 0], (200, 260))
        ref[rr, cc] = True
    # rasterisation rules differ only on the polygon boundary
    assert (mask ^ ref).sum() <= 0.35 * ref.sum()
    assert mask[90, 126] and mask[92, 166] and not mask[90, 145]
    grown = eye_mask(lm, (200, 260), dilation=3)
    assert grown.sum() > mask.sum() and (grown | mask).sum() == grown.sum()
    assert grown[90, 117] and not mask[90, 117]  # 3 px left of the eye corner
    with pytest.raises(PreprocessingError, match="dilation"):
        eye_mask(lm, (10, 10), dilation=-1)


def test_load_supplied_landmarks_npy_and_ckplus_folder(tmp_path):
    arr = np.random.default_rng(0).uniform(0, 100, (5, 68, 2)).astype(np.float32)
    np.save(tmp_path / "landmarks68.npy", arr)
    np.testing.assert_array_equal(load_supplied_landmarks(tmp_path / "landmarks68.npy", 5), arr)
    with pytest.raises(DatasetFormatError, match="cover 5 frames but the clip has 6"):
        load_supplied_landmarks(tmp_path / "landmarks68.npy", 6)
    folder = tmp_path / "Landmarks" / "S005" / "001"
    folder.mkdir(parents=True)
    for i in (10, 2, 1):  # natural order: 1, 2, 10
        np.savetxt(folder / f"S005_001_{i}_landmarks.txt", arr[0] + i, fmt="%.7e")
    (folder / "notes.txt").write_text("ignored")
    got = load_supplied_landmarks(folder, 3)
    np.testing.assert_allclose(got[:, 0, 0], arr[0, 0, 0] + np.array([1, 2, 10]), rtol=1e-6)
    with pytest.raises(DatasetFormatError, match="do not exist"):
        load_supplied_landmarks(tmp_path / "missing.npy")
    np.save(tmp_path / "bad.npy", np.zeros((5, 5, 2)))
    with pytest.raises(DatasetFormatError, match="expected"):
        load_supplied_landmarks(tmp_path / "bad.npy")


def test_grey_input_is_accepted_for_detection():
    grey = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY)
    lm = detect_landmarks(grey)
    assert np.abs(np.stack([lm[36:42].mean(0), lm[42:48].mean(0)]) - ASTRONAUT_EYES).max() < 4.0


def test_face_search_on_a_shrunk_copy_finds_the_same_face(astronaut_landmarks, monkeypatch) -> None:
    """``max_side``: dlib searches a copy shrunk to at most that many pixels, the box is scaled back,
    and the landmarks are fitted on the full image: on the astronaut enlarged 3x (1536 px, a SAMM-sized
    face) they land within 1.5 % of the face width of the full-size search's, and of the 512 px
    image's landmarks x 3 (an independent measurement of the same face)."""
    big = cv2.resize(astronaut(), (1536, 1536), interpolation=cv2.INTER_CUBIC)
    det = LandmarkDetector("hog", upsample=0)
    full = det.detect(big)
    seen = []
    real = det._detect
    monkeypatch.setattr(det, "_detect", lambda img, times: seen.append(img.shape) or real(img, times))
    small = det.detect(big, max_side=512)
    assert seen == [(512, 512, 3)]
    width = np.ptp(full[:, 0])
    assert np.abs(small - full).mean() < 0.015 * width
    reference = (astronaut_landmarks + 0.5) * 3 - 0.5
    assert np.abs(small - reference).mean() < 0.015 * width
    # A frame already within max_side is searched as it is.
    seen.clear()
    np.testing.assert_array_equal(det.detect(astronaut(), max_side=640), detect_landmarks(astronaut()))
    assert seen == [(512, 512, 3)]
