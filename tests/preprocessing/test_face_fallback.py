"""``face_detector: auto``: where dlib's HOG finds no face, dlib's CNN (mmod) is tried on that
frame; every fallback is counted and logged; only when both fail is it an error naming the
clip and frame.

The pinned image is the scikit-image astronaut (public domain) rotated 55 degrees about her
face and cropped tightly to 224x224: dlib's own HOG detector (called directly below, the
independent reference) finds no face there, dlib's CNN detector finds one. A crop cut
inside the face is found by neither.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from microexpr.cliptable import new_clip_table
from microexpr.errors import PreprocessingError
from microexpr.face.models import MMOD_DETECTOR, model_path
from microexpr.inputs import load_inputs_with_stats

from tests.preprocessing.synthclips import clip_row, write_clip

FACE = (179, 87, 272, 178)  # x0, y0, x1, y1 of the astronaut's landmarks (dlib, full image)


def rotated_face(angle: float = 55.0, pad: int = 20) -> np.ndarray:
    x0, y0, x1, y1 = FACE
    m = cv2.getRotationMatrix2D(((x0 + x1) / 2, (y0 + y1) / 2), angle, 1.0)
    rot = cv2.warpAffine(astronaut(), m, (512, 512), borderMode=cv2.BORDER_REFLECT)
    crop = rot[y0 - pad:y1 + pad, x0 - pad:x1 + pad]
    return np.ascontiguousarray(cv2.resize(crop, (224, 224)))


@pytest.fixture(scope="module")
def dlib_reference():
    import dlib

    return dlib.get_frontal_face_detector(), dlib.cnn_face_detection_model_v1(str(model_path(MMOD_DETECTOR)))


def test_the_pinned_image_defeats_hog_but_not_mmod(dlib_reference):
    hog, cnn = dlib_reference
    assert len(hog(rotated_face(), 1)) == 0 and len(cnn(rotated_face(), 1)) == 1
    tight = rotated_face(pad=-10)
    assert len(hog(tight, 1)) == 0 and len(cnn(tight, 1)) == 0


def _table(tmp_path, image: np.ndarray, name: str):
    paths = write_clip(tmp_path / name, [image, image])
    return new_clip_table([clip_row(f"casme2/sub01/{name}", paths, 0, 1, 1)]), paths


def test_auto_falls_back_to_mmod_counts_and_logs_it(tmp_path, caplog):
    table, paths = _table(tmp_path, rotated_face(), "EP01_01")
    with caplog.at_level(logging.WARNING, logger="microexpr"):
        arr, stats = load_inputs_with_stats(table, "apex_crop", {"size": 64}, cache_dir=tmp_path / "cache", n_jobs=1,
                                            progress=False)
    assert arr.shape == (1, 64, 64)
    assert len(stats.face_notes) == 1 and "casme2/sub01/EP01_01" in stats.face_notes[0]
    assert paths[0] in stats.face_notes[0] and "CNN (mmod)" in stats.face_notes[0]
    assert "1 clip(s) whose face needed a fallback" in caplog.text and paths[0] in caplog.text
    # the cached array still reports how its face was found
    _, again = load_inputs_with_stats(table, "apex_crop", {"size": 64}, cache_dir=tmp_path / "cache", n_jobs=1,
                                      progress=False)
    assert again.computed == 0 and again.face_notes == stats.face_notes


def test_hog_alone_or_both_failing_is_an_error_naming_clip_and_frame(tmp_path):
    table, paths = _table(tmp_path, rotated_face(), "EP01_01")
    with pytest.raises(PreprocessingError, match=rf"clip casme2/sub01/EP01_01: no face found by the dlib hog detector on the onset frame {paths[0]}"):
        load_inputs_with_stats(table, "apex_crop", {"face_detector": "hog"}, cache_dir=None, n_jobs=1, progress=False)
    tight, tpaths = _table(tmp_path, rotated_face(pad=-10), "EP02_02")
    with pytest.raises(PreprocessingError, match=rf"EP02_02: no face found by dlib's HOG and CNN \(mmod\) detectors on the onset frame {tpaths[0]}"):
        load_inputs_with_stats(tight, "apex_crop", {}, cache_dir=None, n_jobs=1, progress=False)
