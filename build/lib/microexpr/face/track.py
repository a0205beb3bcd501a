"""Finding the face through a sequence of frames (videos, ``microexpr predict``).

Each frame is searched with the detector. When a frame has no detectable face the policy
``on_missing`` decides: ``"error"`` raises :class:`PreprocessingError` naming the source
and frame; ``"previous"`` re-fits the landmarks inside the previous frame's face box and
logs a warning naming the frame (an explicit, visible fallback, never a silent one). A
missing face on the *first* frame is always an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, PreprocessingError
from .crop import Box, face_box
from .landmarks import LandmarkDetector

log = logging.getLogger(__name__)

ON_MISSING = ("error", "previous")


@dataclass(frozen=True)
class TrackedFace:
    """The face in one frame: detector box, fitted landmarks, crop box, and whether detected."""

    frame: int
    detector_box: tuple[int, int, int, int]
    landmarks: np.ndarray
    box: Box
    detected: bool


def track_faces(
    frames: Iterable[np.ndarray],
    detector: LandmarkDetector,
    *,
    on_missing: str = "error",
    where: str = "video",
    margins: tuple[float, float, float, float] = (25, 0, 5, 5),
    reference_face_size: float | None = None,
) -> list[TrackedFace]:
    """One :class:`TrackedFace` per frame of ``frames`` (RGB uint8), in order."""
    if on_missing not in ON_MISSING:
        raise ConfigError(f"on_missing must be one of {ON_MISSING}, got {on_missing!r}")
    out: list[TrackedFace] = []
    for i, frame in enumerate(frames):
        det = detector.detect_box(frame)
        detected = det is not None
        if det is None:
            if on_missing == "error" or not out:
                raise PreprocessingError(
                    f"{where}: no face found in frame {i} by the dlib {detector.detector} detector; "
                    "use detector='mmod', a larger upsample, or allow the 'previous' fallback"
                )
            det = out[-1].detector_box
            log.warning("%s: no face in frame %d; re-fitting landmarks in frame %d's face box", where, i, i - 1)
        lm = detector.landmarks_in_box(frame, det)
        out.append(TrackedFace(i, det, lm, face_box(lm, margins, reference_face_size), detected))
    return out
