"""Streaming frames of the video or frame folder ``microexpr predict`` is pointed at.

Videos are decoded forwards with ``cv2.VideoCapture`` one frame at a time (never loaded
whole); frame folders are listed in natural order (``microexpr.video.frames``) and read
lazily. A file OpenCV cannot open, or a video that yields no frame, is a
:class:`~microexpr.errors.PreprocessingError` naming the file.

Decision: a frame folder has no frame rate; ``fps`` must then come from the user
(``--fps``), else :data:`DEFAULT_FOLDER_FPS` is assumed and reported as assumed.
Containers that report no rate get the same default.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import MicroexprError, PreprocessingError
from ..video.frames import list_frames, read_frame
from ..video.source import VIDEO_EXTENSIONS

DEFAULT_FOLDER_FPS = 30.0


@dataclass
class FrameStream:
    """A lazily read frame sequence: ``path``, ``kind`` (video|folder), ``fps``, frame count hint."""

    path: Path
    kind: str
    fps: float
    fps_source: str  # "container", "user" or "assumed"
    n_frames_hint: int | None

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield uint8 RGB frames in order; raise naming the file if nothing decodes."""
        if self.kind == "folder":
            first: tuple[Path, tuple[int, ...]] | None = None
            for p in list_frames(self.path):
                try:
                    frame = read_frame(p)
                except MicroexprError as exc:
                    raise PreprocessingError(f"{self.path}: {exc}") from exc
                if first is None:
                    first = (p, frame.shape)
                elif frame.shape != first[1]:
                    raise PreprocessingError(
                        f"{p}: {frame.shape[1]}x{frame.shape[0]} pixels, but {first[0].name} (the first frame) is "
                        f"{first[1][1]}x{first[1][0]}: the frames of one folder must be one video; remove or resize it")
                yield frame
            return
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise PreprocessingError(_corrupt(self.path))
        n = 0
        try:
            while True:
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    break
                n += 1
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
        if n == 0:
            raise PreprocessingError(_corrupt(self.path))


def _corrupt(path: Path) -> str:
    return (f"cannot decode video {path}: the file is corrupt, empty or not a format OpenCV/FFmpeg can read; "
            "re-encode it (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4) or extract its frames into a folder")


def open_frames(path: str | Path, fps: float | None = None) -> FrameStream:
    """Open ``path`` (video file or frame folder) for streaming; ``fps`` overrides the container's."""
    p = Path(path)
    if fps is not None and not fps > 0:
        raise PreprocessingError(f"--fps must be positive, got {fps}")
    if p.is_dir():
        frames = list_frames(p)
        if not frames:
            raise PreprocessingError(f"frame folder {p} holds no image files ({sorted({'.png', '.jpg', '.bmp'})} ...)")
        return FrameStream(p, "folder", fps or DEFAULT_FOLDER_FPS, "user" if fps else "assumed", len(frames))
    if not p.is_file():
        raise PreprocessingError(f"{p} does not exist; give a video file or a folder of frames")
    if p.suffix.lower() not in VIDEO_EXTENSIONS:
        raise PreprocessingError(f"{p} is not a video file (extensions {sorted(VIDEO_EXTENSIONS)}) nor a frame folder")
    cap = cv2.VideoCapture(str(p))
    try:
        if not cap.isOpened():
            raise PreprocessingError(_corrupt(p))
        container_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    if fps:
        return FrameStream(p, "video", float(fps), "user", count or None)
    if container_fps > 0 and np.isfinite(container_fps):
        return FrameStream(p, "video", container_fps, "container", count or None)
    return FrameStream(p, "video", DEFAULT_FOLDER_FPS, "assumed", count or None)
