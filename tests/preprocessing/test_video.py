"""Frame sources: video files and frame folders, video frame references in read_frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexpr.errors import DatasetFormatError
from microexpr.video import FrameSource, iter_video_frames, read_frame, read_frames


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> tuple[str, list[np.ndarray]]:
    """A 12-frame lossless (FFV1) AVI whose frame i is a flat grey level 20 * i."""
    path = str(tmp_path_factory.mktemp("video") / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"FFV1"), 25.0, (32, 24))
    assert writer.isOpened()
    frames = [np.full((24, 32, 3), 20 * i, np.uint8) for i in range(12)]
    for f in frames:
        writer.write(f)
    writer.release()
    return path, frames


def test_iter_video_frames_and_source(video):
    path, frames = video
    got = list(iter_video_frames(path, grey=True))
    assert len(got) == 12 and got[0].shape == (24, 32)
    assert [int(g.mean()) for g in got] == [20 * i for i in range(12)]
    src = FrameSource(path)
    assert len(src) == 12 and src.kind == "video" and src.fps == pytest.approx(25.0)
    assert src.refs[3] == f"{path}#3"
    assert int(src.read(7).mean()) == 140 and src.read(7).shape == (24, 32, 3)


def test_frame_references_in_any_order(video):
    path, _ = video
    refs = [f"{path}#{i}" for i in range(12)]
    got = read_frames(refs, [9, 2, 9, 0], grey=True)
    assert [int(g.mean()) for g in got] == [180, 40, 180, 0]
    assert int(read_frame(refs[5], grey=True).mean()) == 100
    with pytest.raises(DatasetFormatError, match="shorter than the table says"):
        read_frames([f"{path}#40"], [0])
    with pytest.raises(DatasetFormatError, match="outside a clip"):
        read_frames(refs, [12])


def test_folder_source_natural_order(tmp_path):
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((4, 4), i, np.uint8))
    (tmp_path / "readme.txt").write_text("not a frame")
    src = FrameSource(tmp_path)
    assert [int(f[0, 0, 0]) for f in src] == [1, 2, 10]
    with pytest.raises(DatasetFormatError, match="neither a frame folder nor a video"):
        FrameSource(tmp_path / "readme.txt")
