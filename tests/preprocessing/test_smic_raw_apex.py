"""SMIC apex rules on raw, uncropped SMIC-HS frames spot the face's apex, not the background's.

A 480x640 frame holds the astronaut face (scikit-image, public domain) off-centre, whose
planted motion peaks at frame ``FACE_APEX``, and a textured background patch far from the
face that jumps by up to 10 px and changes its texture around frame ``BACKGROUND_PEAK``. No landmark file is
written, so the face is detected as on a real copy. Synthetic data: this shows the rules
look at the face, not how well they spot real micro-expressions.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexpr.datasets import read_dataset
from microexpr.datasets.layouts import ClipSpec, write_layout
from microexpr.motion.apex import spot_apex

from tests.preprocessing.synthclips import face_image, smile_field, warp

N_FRAMES, FACE_APEX, BACKGROUND_PEAK = 25, 16, 5
FACE_AT = (400, 240)  # x, y of the face window's top-left corner: right of centre, lower half


def raw_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    background = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3)).astype(np.uint8), (0, 0), 3)
    patch = rng.integers(0, 256, (160, 280, 3)).astype(np.uint8)  # sharp texture: strong flow when it moves
    other = cv2.GaussianBlur(rng.integers(0, 256, (160, 280, 3)).astype(np.uint8), (0, 0), 1.5)  # and changes
    base = face_image()
    dx, dy = smile_field(base.shape[:2], [(71, 110), (115, 111), (80, 60), (112, 61)])  # mouth corners, brows
    out = []
    noise = np.random.default_rng(0)
    for t in range(N_FRAMES):  # neutral -> apex (3.5 px) -> neutral, as a micro-expression
        a = 3.5 * np.exp(-((t - FACE_APEX) ** 2) / 8.0)
        face = np.clip(np.rint(warp(base, a * dx, a * dy) + noise.normal(0, 0.5, base.shape)), 0, 255).astype(np.uint8)
        frame = background.copy()
        shift = int(round(10 * np.exp(-((t - BACKGROUND_PEAK) ** 2) / 2.0)))
        frame[60:220, 40 + shift:320 + shift] = other if abs(t - BACKGROUND_PEAK) <= 1 else patch
        x, y = FACE_AT
        frame[y:y + face.shape[0], x:x + face.shape[1]] = face
        out.append(frame)
    return out


@pytest.fixture(scope="module")
def smic_root(tmp_path_factory):
    frames = raw_frames()
    root = write_layout("smic", tmp_path_factory.mktemp("smic") / "SMIC",
                        [ClipSpec("s1", "s1_po_01", frames, 1001, emotion="positive")])
    return root, frames


def test_whole_frame_spotting_would_follow_the_background(smic_root):
    _, frames = smic_root
    assert abs(spot_apex(frames, "flow_peak") - BACKGROUND_PEAK) <= 1  # what spotting on the raw frame does


@pytest.mark.parametrize("rule", ["dc_rois", "flow_peak"])
def test_apex_rules_spot_the_face_on_raw_smic_frames(smic_root, rule):
    root, _ = smic_root
    table = read_dataset("smic", root, apex=rule).table
    (apex,) = table["apex"].tolist()
    print(f"SMIC raw frames, {rule}: apex {apex} (planted {FACE_APEX}, background {BACKGROUND_PEAK}; synthetic)")
    assert table["apex_source"].tolist() == [rule]
    assert abs(apex - FACE_APEX) <= 2
