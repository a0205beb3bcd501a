"""Long videos and their ground-truth intervals (the spotting counterpart of the clip table).

``videos``: one row per long video — ``dataset``, ``subject`` (namespaced ``<dataset>/<id>``
like the clip tables), ``video``, ``key`` (``<subject>/<video>``), ``frames`` (frame file
paths in natural order), ``fps``. ``truths``: one row per annotated expression — ``key``,
``type`` (micro | macro), ``onset``, ``apex`` (or -1 when not annotated), ``offset`` as
0-based POSITIONS in ``frames`` (readers convert the sheets' frame numbers once), ``emotion``
and ``source`` (the sheet row it came from). ``landmarks``: a ``landmarks68.npy`` beside the
frames ((n_frames, 68, 2), as the clip layouts allow; the synthetic videos have one), else None. Every video of a copy is listed, also those
without any expression: they count for false positives as in MEGC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..datasets.base import frame_number
from ..errors import DatasetFormatError
from .metric import Interval

VIDEO_COLUMNS = ("dataset", "subject", "video", "key", "frames", "fps", "landmarks")
TRUTH_COLUMNS = ("key", "type", "onset", "apex", "offset", "emotion", "source")


@dataclass
class LongVideos:
    """A corpus of long videos (see the module doc)."""

    videos: pd.DataFrame
    truths: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def intervals(self, key: str) -> list[Interval]:
        rows = self.truths[self.truths["key"] == key]
        return [Interval(int(r.onset), int(r.offset), str(r.type), 0.0, None if int(r.apex) < 0 else int(r.apex))
                for r in rows.itertuples(index=False)]

    @staticmethod
    def concat(parts: list["LongVideos"]) -> "LongVideos":
        return LongVideos(pd.concat([p.videos for p in parts], ignore_index=True),
                          pd.concat([p.truths for p in parts], ignore_index=True),
                          [s for p in parts for s in p.skipped])


class VideoCollector:
    """Builds a :class:`LongVideos`: frame numbers -> positions with the checks every reader needs."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.videos: list[dict[str, Any]] = []
        self.truths: list[dict[str, Any]] = []
        self.skipped: list[tuple[str, str]] = []
        self._numbers: dict[str, dict[int, int]] = {}

    def add_video(self, subject: str, video: str, frames: list[Path], fps: float, landmarks: str | None = None) -> str:
        key = f"{self.dataset}/{subject}/{video}"
        if not frames:
            raise DatasetFormatError(f"{self.dataset}: video folder for {key} holds no frames")
        numbers = [frame_number(p) for p in frames]
        gaps = [(a, b) for a, b in zip(numbers, numbers[1:]) if b != a + 1]
        if gaps:
            a, b = gaps[0]
            raise DatasetFormatError(
                f"{self.dataset}: video {key} misses frames: after frame {a} comes {b} "
                f"({len(gaps)} gap(s) in {Path(frames[0]).parent}); restore the missing files from the original copy")
        self._numbers[key] = {n: i for i, n in enumerate(numbers)}
        self.videos.append({"dataset": self.dataset, "subject": f"{self.dataset}/{subject}", "video": video, "key": key,
                            "frames": tuple(str(p) for p in frames), "fps": float(fps), "landmarks": landmarks})
        return key

    def add_truth(self, key: str, kind: str, onset: int, apex: int | None, offset: int, emotion: Any, source: str) -> None:
        numbers = self._numbers[key]
        first, last = min(numbers), max(numbers)
        for name, n in (("onset", onset), ("offset", offset)) + ((("apex", apex),) if apex is not None else ()):
            if n not in numbers:
                raise DatasetFormatError(
                    f"{self.dataset}: {source}: {name} frame {n} of video {key} is outside its frames {first}..{last}"
                    " (an interval past the end of the video); fix the row or the frame folder")
        if offset < onset:
            raise DatasetFormatError(f"{self.dataset}: {source}: offset {offset} before onset {onset} in video {key}")
        self.truths.append({"key": key, "type": kind, "onset": numbers[onset], "offset": numbers[offset],
                            "apex": -1 if apex is None else numbers[apex], "emotion": "" if emotion is None else str(emotion),
                            "source": source})

    def finish(self) -> LongVideos:
        videos = pd.DataFrame(self.videos, columns=list(VIDEO_COLUMNS))
        truths = pd.DataFrame(self.truths, columns=list(TRUTH_COLUMNS))
        truths = truths.astype({"onset": "int64", "apex": "int64", "offset": "int64"})
        return LongVideos(videos.sort_values("key").reset_index(drop=True),
                          truths.sort_values(["key", "onset"]).reset_index(drop=True), self.skipped)


def supplied_landmarks(folder: Path) -> str | None:
    """``landmarks68.npy`` beside a video's frames, if there is one."""
    path = Path(folder) / "landmarks68.npy"
    return str(path) if path.is_file() else None


@dataclass
class LongVideoSpec:
    """One long video to write in a native layout (tests, the synthetic generator).

    ``frames``: uint8 arrays; ``intervals``: ``(type, onset, apex, offset, emotion)`` as frame
    NUMBERS (``first_frame_number`` is the number of the first frame file); ``extra``: per-layout
    details (CAS(ME)^2: ``code``, ``stimulus``)."""

    subject: str
    video: str
    frames: Any
    intervals: list[tuple[str, int, int | None, int, str]] = field(default_factory=list)
    first_frame_number: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    landmarks: Any = None  # (n_frames, 68, 2): written as landmarks68.npy beside the frames
