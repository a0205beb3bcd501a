"""One clip as the preprocessing workers see it, and its face geometry.

:class:`ClipJob` carries the few table fields a representation reads (picklable, small:
no frames). :func:`face_geometry` finds the onset landmarks (supplied or dlib, cached on
disk as the *face step* so that representations and parameter changes downstream of it
reuse one detection) and turns them into the clip's alignment matrix and crop box.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ClipTableError, PreprocessingError
from ..face.crop import Box, crop, eye_line_transform, face_box, warp_image, warp_points
from ..face.landmarks import detect_with_source, load_supplied_landmarks
from ..video.source import iter_frames, split_ref
from ..io_utils import atomic_write_text
from .cache import cache_key, load_cached, save_cached

log = logging.getLogger(__name__)

FACE_STEP_VERSION = "1"
#: Face-step parameters that change the detected landmarks (margins/align do not).
FACE_DETECTION_KEYS = ("face_detector", "face_upsample", "on_missing_face", "face_detect_max_side")


@dataclass(frozen=True)
class ClipJob:
    """The table fields preprocessing reads, for one clip."""

    key: str
    frames: tuple[str, ...]
    onset: int
    apex: int
    offset: int
    landmarks: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ClipJob":
        key = str(row["key"])
        for col in ("frames", "onset", "apex", "offset"):
            if col not in row:
                raise ClipTableError(f"clip {key}: the table has no {col!r} column")
        if pd.isna(row["apex"]):
            raise ClipTableError(f"clip {key}: apex missing; fill it first (microexpr.datasets.fill_apex)")
        lm = row.get("landmarks")
        if isinstance(lm, (str, os.PathLike)):
            lm = str(lm) or None
        elif lm is not None and not pd.isna(lm):
            raise ClipTableError(f"clip {key}: landmarks must be a path or empty, got {lm!r}")
        else:
            lm = None
        job = cls(key, tuple(str(f) for f in row["frames"]), int(row["onset"]), int(row["apex"]),
                  int(row["offset"]), lm)
        if not (0 <= job.onset <= job.apex <= job.offset < len(job.frames)):
            raise ClipTableError(
                f"clip {key}: need 0 <= onset ({job.onset}) <= apex ({job.apex}) <= offset ({job.offset}) "
                f"< n_frames ({len(job.frames)})"
            )
        return job

    def fingerprint(self) -> dict[str, Any]:
        """What identifies the clip's content cheaply: annotations, frame count, file stats.

        File identity = (size, mtime_ns) of the first, onset, apex, offset and last frames
        (or of the video file) and of the landmarks file: replacing a frame or a landmark
        file invalidates the cache without hashing every pixel.
        """
        idx = sorted({0, self.onset, self.apex, self.offset, len(self.frames) - 1})
        files = [split_ref(self.frames[i])[0] for i in idx] + ([self.landmarks] if self.landmarks else [])
        return {
            "key": self.key,
            "n_frames": len(self.frames),
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
            "landmarks": self.landmarks,
            "files": [[f, *file_stat(f)] for f in dict.fromkeys(files)],
        }


def clip_fingerprint(row: Mapping[str, Any]) -> str:
    """SHA-1 of everything that feeds a clip's inputs: onset, apex, offset, the frame list with
    every frame file's size and modification time, and the landmarks file's. A changed
    annotation or a replaced frame changes it; reading the same copy again does not."""
    frames = [str(f) for f in (row.get("frames") or ())]
    lm = row.get("landmarks")
    lm = str(lm) if isinstance(lm, (str, os.PathLike)) and str(lm) else None
    material = {
        "onset": _plain(row.get("onset")), "apex": _plain(row.get("apex")), "offset": _plain(row.get("offset")),
        "frames": [[f, *file_stat(split_ref(f)[0])] for f in frames],
        "landmarks": None if lm is None else [lm, *file_stat(lm)],
    }
    return hashlib.sha1(json.dumps(material, sort_keys=True).encode()).hexdigest()


def table_fingerprint(table: pd.DataFrame) -> str:
    """SHA-1 over the clip keys and :func:`clip_fingerprint` of every row (a stage's data key).

    Remembered per table object while it lives: every fold of a run asks for the auxiliary
    tables' fingerprint, and stating every frame file each time would repeat the same I/O."""
    memo = _FINGERPRINTS.get(id(table))
    if memo is not None and memo[0]() is table:
        return memo[1]
    h = hashlib.sha1()
    for row in sorted(table.to_dict("records"), key=lambda r: str(r.get("key"))):
        h.update(f"{row.get('key')}={clip_fingerprint(row)};".encode())
    _FINGERPRINTS[id(table)] = (weakref.ref(table, lambda _, k=id(table): _FINGERPRINTS.pop(k, None)), h.hexdigest())
    return h.hexdigest()


_FINGERPRINTS: dict[int, tuple[weakref.ref, str]] = {}


def _plain(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else int(value)


def file_stat(path: str) -> tuple[int, int]:
    """(size, mtime_ns) of a file, (-1, -1) when it cannot be read (it fails later, clearly)."""
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)  # a missing file fails later, when it is read, with a clear message
    return (st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class FaceGeometry:
    """Alignment matrix (2x3 or None), crop box, and onset landmarks after alignment."""

    matrix: np.ndarray | None
    box: Box
    landmarks: np.ndarray

    def crop_frame(self, frame: np.ndarray, size: int | tuple[int, int] | None) -> np.ndarray:
        img = frame if self.matrix is None else warp_image(frame, self.matrix)
        return crop(img, self.box, size)


def detect_onset_landmarks(job: ClipJob, params: Mapping[str, Any]) -> tuple[np.ndarray, str | None]:
    """Onset landmarks, and a note when they did not come straight from the first detector on the
    onset frame (dlib's MMOD after a HOG miss under ``auto``; another frame under ``nearest``)."""
    detector = params["face_detector"]
    if detector == "auto" and job.landmarks:
        detector = "supplied"
    if detector == "supplied":
        if not job.landmarks:
            raise PreprocessingError(
                f"clip {job.key}: face_detector='supplied' but the table gives no landmarks for it; "
                "use face_detector='auto' or 'hog'"
            )
        return load_supplied_landmarks(job.landmarks, len(job.frames))[job.onset], None
    order = [job.onset]
    if params["on_missing_face"] == "nearest":
        others = [i for i in range(len(job.frames)) if i != job.onset]
        order += sorted(others, key=lambda i: (abs(i - job.onset), i))
    for i, frame in iter_frames(job.frames, order):
        lm, source = detect_with_source(detector, frame, params["face_upsample"], params["face_detect_max_side"])
        if lm is None:
            continue
        notes = []
        if detector == "auto" and source == "mmod":
            notes.append(f"dlib HOG found no face on frame {job.frames[i]}; dlib's CNN (mmod) detector did")
        if i != job.onset:
            notes.append(f"no face on the onset frame {job.frames[job.onset]}; landmarks of frame {i} ({job.frames[i]}) used")
        return lm, (f"clip {job.key}: " + "; ".join(notes) if notes else None)
    tried = "dlib's HOG and CNN (mmod) detectors" if detector == "auto" else f"the dlib {detector} detector"
    raise PreprocessingError(
        f"clip {job.key}: no face found by {tried} on the onset frame {job.frames[job.onset]}"
        + (" nor on any other frame" if len(order) > 1 else "")
        + "; try face_upsample higher, on_missing_face='nearest', or supply landmarks"
    )


def face_cache_path(job: ClipJob, params: Mapping[str, Any], cache_dir: Path) -> Path:
    """Where the face step of ``job`` under ``params`` is cached (``.npy``; a ``.note.json`` beside it
    keeps the note of a detector fallback, so a cached result still reports it)."""
    material = {
        "step": "face",
        "version": FACE_STEP_VERSION,
        "params": {k: params[k] for k in FACE_DETECTION_KEYS},
        "clip": job.fingerprint(),
    }
    return Path(cache_dir) / "_face" / f"{cache_key(material)}.npy"


def cached_face_note(path: Path) -> str | None:
    """The fallback note stored beside a cached face step, if any."""
    note = path.with_suffix(".note.json")
    try:
        return str(json.loads(note.read_text(encoding="utf-8"))["note"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def onset_landmarks(job: ClipJob, params: Mapping[str, Any], cache_dir: Path | None) -> tuple[np.ndarray, bool, str | None]:
    """(68, 2) onset landmarks in frame pixels, whether they were computed (not cached), and the
    detector-fallback note of :func:`detect_onset_landmarks` (None when there was none)."""
    path = None
    if cache_dir is not None:
        path = face_cache_path(job, params, cache_dir)
        cached = load_cached(path, (np.float32, (68, 2)))
        if cached is not None:
            return cached, False, cached_face_note(path)
    lm, note = detect_onset_landmarks(job, params)
    lm = lm.astype(np.float32)
    if path is not None:
        if note:
            atomic_write_text(path.with_suffix(".note.json"), json.dumps({"note": note}))
        save_cached(path, lm)
    return lm, True, note


def face_geometry(landmarks: np.ndarray, params: Mapping[str, Any]) -> FaceGeometry:
    """Alignment (if ``params['align']``) and LAENet crop box from onset landmarks."""
    matrix = eye_line_transform(landmarks) if params["align"] else None
    lm = landmarks if matrix is None else warp_points(landmarks, matrix)
    box = face_box(lm, tuple(params["margins"]), params["reference_face_size"])
    return FaceGeometry(matrix, box, np.asarray(lm, np.float32))


def iter_cropped(job: ClipJob, geom: FaceGeometry, indices: list[int], *, size: int | tuple[int, int] | None,
                 grey: bool) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(i, crop)`` for frames ``indices``; only one full frame is in memory at a time."""
    for i, frame in iter_frames(job.frames, indices, grey=grey):
        yield i, geom.crop_frame(frame, size)
