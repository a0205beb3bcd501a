"""Frame sources: a folder of frame images or a video file, read lazily.

A ClipTable's ``frames`` entries are frame image paths, or *video frame references*
``"<video path>#<0-based frame index>"`` for clips that live inside a video file (mp4,
avi, mov, mkv, ...). :func:`iter_frames` / :func:`read_frames` read either kind; video
references are decoded forwards (seeking is unreliable for many codecs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from ..errors import DatasetFormatError
from .frames import list_frames
from .frames import read_frame as read_image

VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv"})


def _convert(bgr: np.ndarray, grey: bool) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY if grey else cv2.COLOR_BGR2RGB)


def iter_video_frames(path: str | Path, *, grey: bool = False) -> Iterator[np.ndarray]:
    """Yield every frame of a video file as uint8 RGB (H, W, 3) or grey (H, W), in order."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DatasetFormatError(f"cannot open video {path}: missing or not a format OpenCV/FFmpeg can decode")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield _convert(frame, grey)
    finally:
        cap.release()


def video_info(path: str | Path) -> tuple[int, float]:
    """(frame count, fps) of a video, counting frames by decoding (container counts can lie)."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DatasetFormatError(f"cannot open video {path}: missing or not a format OpenCV/FFmpeg can decode")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    n = 0
    try:
        while cap.grab():
            n += 1
    finally:
        cap.release()
    return n, fps


def read_frame(ref: str | Path, *, grey: bool = False) -> np.ndarray:
    """One frame as uint8 RGB (or grey): an image file, or a video frame ``"<video>#<index>"``
    (decoded up to that frame; to read many frames of one video use :func:`read_frames`)."""
    if split_ref(str(ref))[1] is not None:
        return read_frames([str(ref)], [0], grey=grey)[0]
    return read_image(ref, grey=grey)


def split_ref(ref: str) -> tuple[str, int | None]:
    """``"v.mp4#12"`` -> (``"v.mp4"``, 12); a plain image path -> (path, None)."""
    s = str(ref)
    head, sep, tail = s.rpartition("#")
    if sep and tail.isdigit() and Path(head).suffix.lower() in VIDEO_EXTENSIONS:
        return head, int(tail)
    return s, None


def iter_frames(refs: Sequence[str], indices: Sequence[int], *, grey: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(i, frame)`` for ``i`` in ``indices`` (in that order), one frame in memory at a time.

    Image paths are read one by one; video references keep one decoder per video open and
    decode forwards (re-opening only when asked for an earlier frame), so ascending indices
    decode each video once.
    """
    decoders: dict[str, tuple[cv2.VideoCapture, int]] = {}  # path -> (capture, next frame index)
    try:
        for i in indices:
            i = int(i)
            if not 0 <= i < len(refs):
                raise DatasetFormatError(f"frame index {i} outside a clip of {len(refs)} frames")
            path, fidx = split_ref(refs[i])
            if fidx is None:
                yield i, read_image(path, grey=grey)
                continue
            cap, pos = decoders.get(path, (None, 0))
            if cap is None or fidx < pos:
                if cap is not None:
                    cap.release()
                cap, pos = cv2.VideoCapture(path), 0
                if not cap.isOpened():
                    raise DatasetFormatError(f"cannot open video {path}: missing or not decodable by OpenCV/FFmpeg")
            while pos < fidx:
                if not cap.grab():
                    raise DatasetFormatError(f"video {path} ends before frame {fidx}: it is shorter than the table says")
                pos += 1
            ok, bgr = cap.read()
            if not ok:
                raise DatasetFormatError(f"video {path} ends before frame {fidx}: it is shorter than the table says")
            decoders[path] = (cap, pos + 1)
            yield i, _convert(bgr, grey)
    finally:
        for cap, _ in decoders.values():
            cap.release()


def read_frames(refs: Sequence[str], indices: Sequence[int], *, grey: bool = False) -> list[np.ndarray]:
    """Frames ``refs[i]`` for ``i`` in ``indices`` (in that order); image paths or video refs."""
    order = sorted(set(int(i) for i in indices))
    got = dict(iter_frames(refs, order, grey=grey))
    return [got[int(i)] for i in indices]


class FrameSource:
    """A clip's frames from a folder of images or a video file, with lazy reading.

    ``len(source)`` is the frame count; ``source.refs`` the ClipTable ``frames`` entries;
    ``source.read(i)`` one frame; iterating yields all frames in order.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            self.kind = "folder"
            self.refs: tuple[str, ...] = tuple(str(p) for p in list_frames(self.path))
            if not self.refs:
                raise DatasetFormatError(f"frame folder {self.path} holds no image files")
            self.fps: float | None = None
        elif self.path.is_file() and self.path.suffix.lower() in VIDEO_EXTENSIONS:
            self.kind = "video"
            n, fps = video_info(self.path)
            if n == 0:
                raise DatasetFormatError(f"video {self.path} has no decodable frames")
            self.refs = tuple(f"{self.path}#{i}" for i in range(n))
            self.fps = fps or None
        else:
            raise DatasetFormatError(
                f"{self.path} is neither a frame folder nor a video file with one of the extensions "
                f"{sorted(VIDEO_EXTENSIONS)}"
            )

    def __len__(self) -> int:
        return len(self.refs)

    def read(self, index: int, *, grey: bool = False) -> np.ndarray:
        """Frame ``index`` (0-based) as uint8 RGB or grey."""
        return read_frames(self.refs, [index], grey=grey)[0]

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.kind == "video":
            yield from iter_video_frames(self.path)
        else:
            for ref in self.refs:
                yield read_image(ref)
