"""The inputs layer: every representation, parameter validation, and the content-keyed cache."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from microexpr.cliptable import new_clip_table
from microexpr.errors import ClipTableError, ConfigError, PreprocessingError
from microexpr.face import crop, face_box, landmarks_in_crop
from microexpr.inputs import REGISTRY, load_inputs, load_inputs_with_stats, resolve_representation_params
from microexpr.motion import compute_flow, flow_image
from microexpr.video import read_frame

from tests.preprocessing.synthclips import clip_row, planted_clip, write_clip

N_CLIPS = 3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, window_landmarks) -> pd.DataFrame:
    """Three planted clips (20, 21, 22 frames, apex 12) with supplied landmarks68.npy."""
    root = tmp_path_factory.mktemp("corpus")
    rows = []
    for k in range(N_CLIPS):
        frames, _ = planted_clip(n_frames=20 + k, apex=12, seed=k)
        paths = write_clip(root / f"c{k}", frames, np.repeat(window_landmarks[None], len(frames), 0))
        rows.append(clip_row(f"toy/s{k}/c{k}", paths, 0, 12, len(frames) - 1, str(root / f"c{k}" / "landmarks68.npy")))
    return new_clip_table(rows)


def files(cache: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in cache.rglob("*.npy")}


def test_flow_image_is_the_documented_pipeline(corpus, window_landmarks, tmp_path):
    got = load_inputs(corpus, "flow_image", cache_dir=tmp_path, n_jobs=1, progress=False)
    assert got.shape == (N_CLIPS, 28, 28, 3) and got.dtype == np.uint8
    row = corpus.iloc[1]
    box = face_box(window_landmarks, (25, 0, 5, 5), 180.0)
    on = crop(read_frame(row.frames[0], grey=True), box)
    ap = crop(read_frame(row.frames[12], grey=True), box)
    np.testing.assert_array_equal(got[1], flow_image(compute_flow(on, ap, "tvl1", "default"), size=28))
    # the planted smile pushes the mouth corners apart: u is low at the image-left corner
    # and high at the image-right corner of the crop
    lm28 = landmarks_in_crop(window_landmarks, box, 28)
    (lx, ly), (rx, ry) = np.rint(lm28[48]).astype(int), np.rint(lm28[54]).astype(int)
    assert int(got[1, ry, rx, 0]) - int(got[1, ly, lx, 0]) > 40


def test_eye_mask_blanks_the_eyes(corpus, window_landmarks, tmp_path):
    masked = load_inputs(corpus, "flow_image", {"eye_mask": True, "eye_dilation": 2, "size": 56},
                         cache_dir=tmp_path, n_jobs=1, progress=False)
    box = face_box(window_landmarks, (25, 0, 5, 5), 180.0)
    eye = np.rint(landmarks_in_crop(window_landmarks, box, 56)[36:42].mean(0)).astype(int)
    assert not masked[:, eye[1], eye[0]].any()
    plain = load_inputs(corpus, "flow_image", {"size": 56}, cache_dir=tmp_path, n_jobs=1, progress=False)
    assert plain[:, eye[1], eye[0]].any()


def test_every_representation_shape_and_content(corpus, window_landmarks, tmp_path):
    kw = dict(cache_dir=tmp_path, n_jobs=1, progress=False)
    box = face_box(window_landmarks, (25, 0, 5, 5), 180.0)
    row = corpus.iloc[0]
    apex = load_inputs(corpus, "apex_crop", {"size": 64}, **kw)
    assert apex.shape == (N_CLIPS, 64, 64) and apex.dtype == np.uint8
    np.testing.assert_array_equal(apex[0], crop(read_frame(row.frames[12], grey=True), box, 64))
    onset = load_inputs(corpus, "onset_crop", {"size": 48, "colour": "rgb"}, **kw)
    np.testing.assert_array_equal(onset[0], crop(read_frame(row.frames[0]), box, 48))
    lms = load_inputs(corpus, "crop_landmarks", {"size": 64}, **kw)
    np.testing.assert_allclose(lms[0], landmarks_in_crop(window_landmarks, box, 64), atol=1e-5)
    tim = load_inputs(corpus, "tim_clip", {"length": 10, "size": 32}, **kw)
    assert tim.shape == (N_CLIPS, 10, 32, 32)
    np.testing.assert_array_equal(tim[0, 0], crop(read_frame(row.frames[0], grey=True), box, 32))
    np.testing.assert_array_equal(tim[0, -1], crop(read_frame(row.frames[19], grey=True), box, 32))
    lin = load_inputs(corpus, "tim_clip", {"length": 10, "size": 32, "interpolation": "linear"}, **kw)
    assert not np.array_equal(lin, tim)
    flows = load_inputs(corpus, "flow_sequence", {"length": 6, "size": 32}, **kw)
    assert flows.shape == (N_CLIPS, 5, 32, 32, 2) and flows.dtype == np.float32
    adm = load_inputs(corpus, "adm", {"size": 64}, **kw)
    assert adm.shape == (N_CLIPS, 64, 128) and adm.dtype == np.float32
    # clip 0: 20 frames, apex 12 -> window -20..44; pairs (0,1)..(18,19) = 19 real rows, last
    real = np.flatnonzero(np.abs(adm[0]).sum(1) > 0)
    assert real.tolist() == list(range(64 - 19, 64))


def test_rect_frames_are_height_by_width_rgb_crops(corpus, window_landmarks, tmp_path):
    """TLCNN's non-square frames: (height, width, 3) RGB, pinned to cv2.imread + cv2.resize (not our reader):
    swapping height and width, or reading BGR, fails."""
    kw = dict(cache_dir=tmp_path, n_jobs=1, progress=False)
    x0, y0, x1, y1 = face_box(window_landmarks, (25, 0, 5, 5), 180.0)
    row = corpus.iloc[0]

    def reference(path: str) -> np.ndarray:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        face = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[y0:y1, x0:x1]
        return cv2.resize(face, (40, 30), interpolation=cv2.INTER_AREA)  # dsize is (width, height)

    tim = load_inputs(corpus, "tim_clip_rect", {"length": 8, "height": 30, "width": 40}, **kw)
    assert tim.shape == (N_CLIPS, 8, 30, 40, 3) and tim.dtype == np.uint8
    assert 0 <= x0 and 0 <= y0 and x1 <= 200 and y1 <= 200  # the box is inside the frame: a plain slice is the crop
    np.testing.assert_array_equal(tim[0, 0], reference(row.frames[0]))
    np.testing.assert_array_equal(tim[0, -1], reference(row.frames[19]))
    apex = load_inputs(corpus, "apex_rect", {"height": 30, "width": 40}, **kw)
    assert apex.shape == (N_CLIPS, 30, 40, 3)
    np.testing.assert_array_equal(apex[0], reference(row.frames[12]))
    grey = load_inputs(corpus, "tim_clip_rect", {"length": 8, "height": 30, "width": 40, "colour": "grey"}, **kw)
    assert grey.shape == (N_CLIPS, 8, 30, 40)


def test_apex_window_is_the_onset_then_the_frames_around_the_apex(corpus, window_landmarks, tmp_path):
    """MTMNet's images, pinned to cv2.imread + cv2.resize: the onset frame, then the 5 frames centred on
    the apex (RGB), clamped to onset..offset near the clip's start; ``ending`` stops at the apex."""
    kw = dict(cache_dir=tmp_path, n_jobs=1, progress=False)
    x0, y0, x1, y1 = face_box(window_landmarks, (25, 0, 5, 5), 180.0)
    row = corpus.iloc[0]

    def reference(i: int) -> np.ndarray:
        face = cv2.cvtColor(cv2.imread(row.frames[i], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)[y0:y1, x0:x1]
        return cv2.resize(face, (24, 24), interpolation=cv2.INTER_AREA)

    got = load_inputs(corpus, "apex_window", {"size": 24, "colour": "rgb"}, **kw)
    assert got.shape == (N_CLIPS, 6, 24, 24, 3) and got.dtype == np.uint8
    for k, i in enumerate([0, 10, 11, 12, 13, 14]):  # apex 12
        np.testing.assert_array_equal(got[0, k], reference(i))
    early = corpus.iloc[:1].copy()
    early["apex"] = 1
    got = load_inputs(early, "apex_window", {"size": 24, "colour": "rgb"}, **kw)
    for k, i in enumerate([0, 0, 0, 1, 2, 3]):
        np.testing.assert_array_equal(got[0, k], reference(i))
    ending = load_inputs(corpus.iloc[:1], "apex_window", {"size": 24, "colour": "rgb", "frames": 3, "window": "ending"}, **kw)
    for k, i in enumerate([0, 10, 11, 12]):
        np.testing.assert_array_equal(ending[0, k], reference(i))


def test_second_run_recomputes_nothing(corpus, tmp_path):
    a, s1 = load_inputs_with_stats(corpus, "flow_image", cache_dir=tmp_path, n_jobs=1, progress=False)
    before = files(tmp_path)
    b, s2 = load_inputs_with_stats(corpus, "flow_image", cache_dir=tmp_path, n_jobs=1, progress=False)
    assert (s1.computed, s2.computed, s2.cached) == (N_CLIPS, 0, N_CLIPS)
    np.testing.assert_array_equal(a, b)
    assert files(tmp_path) == before  # nothing rewritten


def test_upstream_changes_recompute_what_they_affect(corpus, tmp_path):
    kw = dict(cache_dir=tmp_path, n_jobs=1, progress=False)
    base_params = {"flow_preset": "fast"}
    base, _ = load_inputs_with_stats(corpus, "flow_image", base_params, **kw)
    # a flow parameter: every array recomputed, the face step (detection) reused
    other, st = load_inputs_with_stats(corpus, "flow_image", {"flow_method": "farneback"}, **kw)
    assert (st.computed, st.face_computed) == (N_CLIPS, 0) and not np.array_equal(other, base)
    # a crop parameter of the face step: recomputed, detection still reused
    wide, st = load_inputs_with_stats(corpus, "flow_image", {**base_params, "margins": [40, 5, 10, 10]}, **kw)
    assert (st.computed, st.face_computed) == (N_CLIPS, 0) and not np.array_equal(wide, base)
    # where the landmarks come from: detection redone
    _, st = load_inputs_with_stats(corpus, "flow_image", {**base_params, "face_detector": "hog"}, **kw)
    assert (st.computed, st.face_computed) == (N_CLIPS, N_CLIPS)
    # a changed annotation of one clip recomputes that clip only
    moved = corpus.copy()
    moved.loc[2, "apex"] = 10
    _, st = load_inputs_with_stats(moved, "flow_image", base_params, **kw)
    assert st.computed_keys == ["toy/s2/c2"] and st.cached == N_CLIPS - 1
    # a replaced frame file of one clip recomputes that clip only
    apex_file = corpus.iloc[0].frames[12]
    cv2.imwrite(apex_file, cv2.imread(apex_file))
    os.utime(apex_file, ns=(1, 1))
    _, st = load_inputs_with_stats(corpus, "flow_image", base_params, **kw)
    assert st.computed_keys == ["toy/s0/c0"]


def test_parallel_equals_sequential(corpus, tmp_path):
    seq = load_inputs(corpus, "adm", {"size": 48}, cache_dir=None, n_jobs=1, progress=False)
    par, st = load_inputs_with_stats(corpus, "adm", {"size": 48}, cache_dir=tmp_path, n_jobs=2, progress=False)
    assert st.computed == N_CLIPS
    np.testing.assert_array_equal(seq, par)
    assert len(list((tmp_path / "adm").glob("*.npy"))) == N_CLIPS


def test_params_are_validated():
    p = resolve_representation_params("flow_image")
    assert p["size"] == 28 and p["flow_method"] == "tvl1" and p["margins"] == [25, 0, 5, 5]
    assert set(REGISTRY) == {"flow_image", "apex_crop", "onset_crop", "tim_clip", "flow_sequence", "adm",
                             "crop_landmarks", "tim_clip_rect", "apex_rect", "apex_window"}
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['colour'\].*'flow_image'"):
        resolve_representation_params("flow_image", {"colour": "rgb"})
    with pytest.raises(ConfigError, match="size=3.*integer"):
        resolve_representation_params("flow_image", {"size": 3})
    with pytest.raises(ConfigError, match="'fast2' is not a preset of 'dis'.*'adm'"):
        resolve_representation_params("adm", {"flow_method": "dis", "flow_preset": "fast2"})
    with pytest.raises(ConfigError, match="unknown input representation 'optical'"):
        resolve_representation_params("optical")


def test_clip_errors_name_the_clip(corpus, tmp_path, caplog):
    no_apex = corpus.copy()
    no_apex["apex"] = pd.array([pd.NA] * N_CLIPS, dtype="Int64")
    with pytest.raises(ClipTableError, match="toy/s0/c0: apex missing"):
        load_inputs(no_apex, "apex_crop", cache_dir=None, n_jobs=1, progress=False)
    bare = corpus.drop(columns=["landmarks"])
    with pytest.raises(PreprocessingError, match="toy/s0/c0.*no landmarks"):
        load_inputs(bare, "apex_crop", {"face_detector": "supplied"}, cache_dir=None, n_jobs=1, progress=False)
    # a blank onset frame: error naming clip and frame, or the logged 'nearest' fallback
    blank = corpus.iloc[[0]].copy().reset_index(drop=True)
    onset_file = tmp_path / "blank1.png"
    cv2.imwrite(str(onset_file), np.full((200, 200, 3), 128, np.uint8))
    blank.at[0, "frames"] = (str(onset_file),) + tuple(blank.at[0, "frames"][1:])
    with pytest.raises(PreprocessingError, match="toy/s0/c0: no face found.*blank1.png"):
        load_inputs(blank, "apex_crop", {"face_detector": "hog"}, cache_dir=None, n_jobs=1, progress=False)
    with caplog.at_level(logging.WARNING):
        out = load_inputs(blank, "apex_crop", {"face_detector": "hog", "on_missing_face": "nearest"},
                          cache_dir=None, n_jobs=1, progress=False)
    assert out.shape == (1, 224, 224)
    assert any("toy/s0/c0" in r.getMessage() and "img2.png" in r.getMessage() for r in caplog.records)
