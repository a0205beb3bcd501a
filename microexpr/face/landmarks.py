"""Face detection and 68-point landmarks (dlib), and dataset-supplied landmarks.

Detection: dlib's HOG frontal-face detector by default, or its CNN (MMOD) detector
(``detector="mmod"``; slower, more robust to pose). Landmarks: dlib's 68-point shape
predictor (iBUG 300-W layout; see :mod:`microexpr.face.models` for the non-commercial
licence caveat of that model). Coordinates are (x, y) pixels, 0-based, of the image given.

When several faces are found, the largest box is used (micro-expression recordings show
one subject). Small images (low-resolution video) need ``upsample=1`` or more: dlib's HOG
window is 80x80 pixels; ``upsample="auto"`` upsamples images whose shorter side is below
400 pixels once, which finds the face on 98 % of the 176x144 ``carphone`` frames where no
upsampling finds none.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import ConfigError, DatasetFormatError, PreprocessingError
from .models import MMOD_DETECTOR, SHAPE_PREDICTOR_68, model_path

DETECTORS = ("hog", "mmod")


class LandmarkDetector:
    """dlib face detector + 68-point shape predictor, loaded once and reused.

    Parameters
    ----------
    detector : ``"hog"`` (default) or ``"mmod"`` (CNN).
    upsample : times the image is upsampled before detection, or ``"auto"`` (once when
        the shorter side is below 400 px, else never).
    """

    def __init__(self, detector: str = "hog", upsample: int | str = "auto") -> None:
        if detector not in DETECTORS:
            raise ConfigError(f"unknown face detector {detector!r}; choose one of {DETECTORS}")
        if not (upsample == "auto" or (isinstance(upsample, int) and 0 <= upsample <= 3)):
            raise ConfigError(f"upsample must be 'auto' or an integer 0..3, got {upsample!r}")
        self.detector = detector
        self.upsample = upsample
        import dlib  # imported here: dlib is heavy and only this class needs it

        self._dlib = dlib
        if detector == "hog":
            self._detect = dlib.get_frontal_face_detector()
        else:
            self._detect = dlib.cnn_face_detection_model_v1(str(model_path(MMOD_DETECTOR)))
        self._predict = dlib.shape_predictor(str(model_path(SHAPE_PREDICTOR_68)))

    def _times(self, image: np.ndarray) -> int:
        if self.upsample == "auto":
            return 1 if min(image.shape[:2]) < 400 else 0
        return int(self.upsample)

    def detect_box(self, image_rgb: np.ndarray, max_side: int | None = None) -> tuple[int, int, int, int] | None:
        """Largest face box (left, top, right, bottom) or None when no face is found.

        ``max_side``: search a copy shrunk (area averaging) so that its longer side is at most
        this many pixels, and return the box scaled back to ``image_rgb``'s pixels. dlib's cost
        grows with the pixel count (HOG 0.12 s, its CNN 8.7 s on a 2040x1088 SAMM frame; 0.02 s
        and 1.2 s at 640 px). ``upsample="auto"`` still decides on the full image's size."""
        img = _as_uint8_rgb(image_rgb)
        times = self._times(img)
        scale = 1.0
        if max_side is not None and max(img.shape[:2]) > max_side:
            scale = max_side / max(img.shape[:2])
            size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
            img = np.ascontiguousarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA))
        found = self._detect(img, times)
        rects = [d.rect for d in found] if self.detector == "mmod" else list(found)
        if not rects:
            return None
        r = max(rects, key=lambda r: r.width() * r.height())
        box = (r.left(), r.top(), r.right(), r.bottom())
        return box if scale == 1.0 else tuple(int(round(v / scale)) for v in box)  # type: ignore[return-value]

    def landmarks_in_box(self, image_rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """(68, 2) float32 landmarks fitted inside ``box`` (also used to track a known face)."""
        img = _as_uint8_rgb(image_rgb)
        shape = self._predict(img, self._dlib.rectangle(*[int(v) for v in box]))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def detect(self, image_rgb: np.ndarray, max_side: int | None = None) -> np.ndarray | None:
        """(68, 2) float32 landmarks of the largest face (fitted on the full image; ``max_side``:
        see :meth:`detect_box`), or None when no face is found."""
        box = self.detect_box(image_rgb, max_side)
        return None if box is None else self.landmarks_in_box(image_rgb, box)


class AutoDetector:
    """dlib's HOG detector, and where it finds no face, dlib's CNN (MMOD) detector on the same image.

    On tightly cropped, rotated or dark faces HOG misses some that MMOD finds (on 442 tight
    224x224 crops of the composite corpora: HOG 419, MMOD all 23 others, ~0.8 s each on
    2 cores), so ``auto`` never stops a run for a HOG miss. Every fallback is counted in
    ``fallbacks`` and reported by the caller (run log, ``predict`` JSON).
    """

    detector = "auto"

    def __init__(self, upsample: int | str = "auto") -> None:
        self.upsample = upsample
        self.hog = get_detector("hog", upsample)
        self._mmod: LandmarkDetector | None = None
        self.fallbacks = 0

    def detect_with_source(self, image_rgb: np.ndarray, max_side: int | None = None) -> tuple[np.ndarray | None, str | None]:
        """(landmarks, ``"hog"`` or ``"mmod"``), or (None, None) when neither finds a face."""
        lm = self.hog.detect(image_rgb, max_side)
        if lm is not None:
            return lm, "hog"
        if self._mmod is None:
            self._mmod = get_detector("mmod", self.upsample)
        lm = self._mmod.detect(image_rgb, max_side)
        if lm is None:
            return None, None
        self.fallbacks += 1
        return lm, "mmod"

    def detect(self, image_rgb: np.ndarray) -> np.ndarray | None:
        """(68, 2) landmarks of the largest face (HOG, else MMOD), or None."""
        return self.detect_with_source(image_rgb)[0]


_DEFAULT: dict[tuple[str, int | str], LandmarkDetector] = {}


def get_detector(detector: str = "hog", upsample: int | str = "auto") -> LandmarkDetector:
    """A per-process shared :class:`LandmarkDetector` (model files are loaded once)."""
    key = (detector, upsample)
    if key not in _DEFAULT:
        _DEFAULT[key] = LandmarkDetector(detector, upsample)
    return _DEFAULT[key]


def detect_with_source(detector: str, image_rgb: np.ndarray, upsample: int | str = "auto",
                       max_side: int | None = None) -> tuple[np.ndarray | None, str | None]:
    """Landmarks and the detector that found them: ``detector`` ``hog`` or ``mmod`` alone, or
    ``auto`` (:class:`AutoDetector`: HOG, then MMOD where HOG finds no face); ``max_side``:
    search a shrunk copy (:meth:`LandmarkDetector.detect_box`)."""
    if detector == "auto":
        return AutoDetector(upsample).detect_with_source(image_rgb, max_side)
    lm = get_detector(detector, upsample).detect(image_rgb, max_side)
    return lm, (detector if lm is not None else None)


def detect_landmarks(image_rgb: np.ndarray, *, detector: str = "hog", upsample: int | str = "auto",
                     where: str = "image") -> np.ndarray:
    """(68, 2) landmarks of the largest face; raise :class:`PreprocessingError` naming ``where``."""
    lm = get_detector(detector, upsample).detect(image_rgb)
    if lm is None:
        raise PreprocessingError(
            f"no face found in {where} by the dlib {detector} detector; try detector='mmod', "
            "a larger upsample, or supply landmarks"
        )
    return lm


def _as_uint8_rgb(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise PreprocessingError(
            f"face detection needs a uint8 RGB (H, W, 3) or grey (H, W) image, got {img.shape} {img.dtype}"
        )
    return np.ascontiguousarray(img)


def load_supplied_landmarks(path: str | Path, n_frames: int | None = None) -> np.ndarray:
    """Dataset-supplied landmarks as (n_frames, 68, 2) float32 (x, y pixels, 0-based).

    ``path`` is a ``landmarks68.npy`` file or a CK+ ``Landmarks`` sequence folder (one
    ``*_landmarks.txt`` per frame, 68 lines ``x y``, natural order). When ``n_frames`` is
    given the count must match the clip's frames.
    """
    from ..video.frames import natural_key

    path = Path(path)
    if path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DatasetFormatError(f"cannot read landmarks file {path}: {exc}; regenerate it") from exc
    elif path.is_dir():
        files = sorted(path.glob("*_landmarks.txt"), key=lambda p: natural_key(p.name))
        if not files:
            raise DatasetFormatError(f"landmarks folder {path} holds no *_landmarks.txt files")
        try:
            arr = np.stack([np.loadtxt(f, dtype=np.float64).reshape(-1, 2) for f in files])
        except ValueError as exc:
            raise DatasetFormatError(f"malformed landmarks file in {path}: {exc}") from exc
    else:
        raise DatasetFormatError(f"supplied landmarks {path} do not exist; fix the table's landmarks column")
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[1:] != (68, 2):
        raise DatasetFormatError(f"landmarks at {path} have shape {arr.shape}; expected (n_frames, 68, 2)")
    if n_frames is not None and arr.shape[0] != n_frames:
        raise DatasetFormatError(
            f"landmarks at {path} cover {arr.shape[0]} frames but the clip has {n_frames}; "
            "the landmark file and the frame folder disagree"
        )
    if not np.isfinite(arr).all():
        raise DatasetFormatError(f"landmarks at {path} contain NaN or infinite values")
    return arr
