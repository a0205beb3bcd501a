"""The native-size corpus (``--size native``): default's clips at each corpus's native frame size,
faces large enough to be detected, landmark files only on request.

Frame geometry is pinned to things outside the generator: dlib's detector finds the faces where
the planted landmarks say, and the upscaled landmarks follow ``cv2.resize``'s own pixel grid."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from microexpr.synth import corpus as corpus_mod
from microexpr.synth import generate_corpus, plan_corpus, read_manifest
from microexpr.synth.clips import RenderedClip
from microexpr.synth.corpus import render_record
from microexpr.synth.sizes import SIZES

NATIVE_HW = {"casme2": (480, 640), "smic": (480, 640), "samm": (1088, 2040), "ckplus": (490, 640)}


def test_native_plan_is_default_plan_at_native_sizes() -> None:
    default = [r for r in plan_corpus("default", 0) if r.dataset != "ckplus"]
    native = [r for r in plan_corpus("native", 0) if r.dataset != "ckplus"]
    assert [(r.dataset, r.subject, r.clip, r.emotion, r.plan.onset, r.plan.apex, r.plan.offset, r.plan.n_frames)
            for r in default] == [(r.dataset, r.subject, r.clip, r.emotion, r.plan.onset, r.plan.apex,
                                   r.plan.offset, r.plan.n_frames) for r in native]
    for r in plan_corpus("native", 0):
        written = r.frame_hw or r.plan.frame_hw
        assert tuple(written) == NATIVE_HW[r.dataset]
        assert max(r.plan.frame_hw) <= SIZES["native"].render_max_side
    samm = next(r for r in native if r.dataset == "samm")
    assert samm.frame_hw == (1088, 2040) and samm.plan.frame_hw == (341, 640)
    # CK+ at real size: ~600 sequences from 123 subjects.
    ck = [r for r in plan_corpus("native", 0) if r.dataset == "ckplus"]
    assert len({r.subject for r in ck}) == 123 and 450 <= len(ck) <= 750


def test_default_plan_unchanged_by_native_geometry() -> None:
    """quick/default keep their geometry: no upscaling, motion factor 1."""
    for size in ("quick", "default"):
        for ds in ("casme2", "samm", "smic", "ckplus"):
            geo = SIZES[size].frame_geometry(ds)
            assert geo.frame_hw == geo.render_hw and geo.motion_factor == 1.0
        assert all(r.frame_hw is None for r in plan_corpus(size, 0))


@pytest.mark.parametrize("dataset", ["casme2", "samm"])
def test_dlib_finds_native_faces_where_the_landmarks_are(dataset: str) -> None:
    from microexpr.face.landmarks import get_detector

    det = get_detector("hog")
    rec = next(r for r in plan_corpus("native", 0) if r.dataset == dataset)
    short = dataclasses.replace(rec.plan, n_frames=rec.plan.onset + 1, apex=rec.plan.onset, offset=rec.plan.onset)
    clip = render_record(dataclasses.replace(rec, plan=short))
    frame = clip.frames[-1]
    assert frame.shape[:2] == NATIVE_HW[dataset]
    found = det.detect(frame)
    assert found is not None, f"dlib found no face in the native {dataset} frame"
    ours = clip.landmarks[-1]
    width = np.ptp(ours[:, 0])
    assert 180 < width < 480  # realistic face sizes (CASME II ~230 px, SAMM ~400 px)
    assert np.abs(found - ours).mean() < 0.04 * width


def test_upscaled_landmarks_follow_opencv_pixel_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """One bright pixel at a landmark: after the generator's upscale, the landmark sits at the
    centroid of the blob ``cv2.resize`` made of it (pixel-centre convention, per axis)."""
    rec = next(r for r in plan_corpus("native", 0) if r.dataset == "samm")
    rh, rw = rec.plan.frame_hw
    img = np.zeros((rh, rw), np.uint8)
    x, y = 200, 150
    img[y, x] = 255
    lm = np.zeros((1, 68, 2), np.float32)
    lm[0, :] = (x, y)
    fake = RenderedClip(frames=[img], landmarks=lm, expression_field=np.zeros((rh, rw, 2), np.float32),
                        true_flow=np.zeros((rh, rw, 2), np.float32), moving_mask=np.zeros((rh, rw), bool),
                        intensity=np.zeros(1), blink=np.zeros(1))
    monkeypatch.setattr(corpus_mod, "render_clip", lambda *a, **k: fake)
    out = render_record(rec)
    big = out.frames[0].astype(np.float64)
    big = np.where(big > 20, big, 0.0)  # the blob, not bicubic ringing
    yy, xx = np.mgrid[0:big.shape[0], 0:big.shape[1]]
    centroid = np.array([(xx * big).sum(), (yy * big).sum()]) / big.sum()
    assert out.frames[0].shape == (1088, 2040)
    np.testing.assert_allclose(out.landmarks[0, 0], centroid, atol=0.15)


def test_corpus_without_landmark_files(tmp_path: Path) -> None:
    from microexpr.datasets import read_dataset

    roots = generate_corpus(tmp_path / "c", size="quick", seed=0, landmarks=False)
    assert not list((tmp_path / "c").rglob("landmarks68.npy"))
    assert read_manifest(tmp_path / "c")["landmark_files"] is False
    table = read_dataset("casme2", roots["casme2"]).table
    assert "landmarks" not in table or table["landmarks"].isna().all()
    # A corpus with landmark files is a different corpus: not silently reused.
    from microexpr.errors import ConfigError

    with pytest.raises(ConfigError, match="landmark files no"):
        generate_corpus(tmp_path / "c", size="quick", seed=0, landmarks=True)


def test_rendering_in_worker_processes_gives_the_same_corpus(quick_corpus, tmp_path: Path) -> None:
    from tests.synth.test_corpus import _files

    out, _ = quick_corpus
    generate_corpus(tmp_path / "parallel", size="quick", seed=0, n_jobs=2)
    assert _files(tmp_path / "parallel") == _files(out)
