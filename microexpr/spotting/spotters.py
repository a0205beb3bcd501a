"""Spotters: long video (face crops) -> scored, typed intervals. Registered by name, parameters
in the spot config (``spotter: {name: ..., params: {...}}``).

Every spotter sees the same input (:class:`VideoCrops`): the video's frames as grey face crops
of ``size`` pixels, all cut with ONE box from the landmarks of the first frame where dlib finds
a face (the inputs layer's face step: LAENet box, :func:`microexpr.inputs.face_geometry`), and
those landmarks in crop coordinates.

- ``window_heuristic`` — what ``microexpr predict`` did until now, evaluated as it is: windows
  of ``window_s`` (0.5 s) every ``stride_s``; in each, the smoothed mean Farneback flow
  magnitude from the window's first frame; the apex at its peak, the offset where it falls
  back; the ``top_k`` best non-overlapping windows of the video are the spotted (micro)
  intervals, whatever their score.
- ``roi_flow`` — flow magnitude in landmark regions relative to reference frames on both
  sides: for each frame t, DIS flow from frame t-K to t and from t+K to t, in the eyebrow,
  nose-wing and mouth regions, minus the nose ridge's flow (head motion), the smaller of the
  two sides (a change that has not come back on one side is not an expression of length < 2K,
  and a lag's "echo" after the expression is removed). Micro pass with K = ``micro_k_s``,
  macro pass with K = ``macro_k_s``; in each the curve is smoothed, the threshold is
  ``max(baseline + p * (peak - baseline), baseline + min_px)`` with the video's median as
  baseline (MEGC's data-driven threshold with an absolute floor for videos without any
  expression), and each region above it is an interval; it is micro when it lasts at most
  ``micro_max_s`` (0.5 s), macro when longer; micro intervals inside a macro one are dropped.
  The eyes are left out on purpose: blinks are the commonest distractor.
- ``random`` — a control: random intervals at a fixed rate; what the others must beat.
- ``softnet`` — SOFTNet, learned (:mod:`microexpr.spotting.softnet`): ``microexpr spot`` trains it
  leave-one-subject-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..errors import ConfigError, PreprocessingError
from ..registry import Registry
from .metric import Interval

DEFAULT_SPOTTER = "roi_flow"
"""The spotter ``export`` names in new artefacts and ``predict`` uses when an artefact names none:
the best on the synthetic long-video benchmark (README, "Spotting in long videos")."""

SPOTTERS: Registry[type] = Registry("spotter", modules=("microexpr.spotting.spotters", "microexpr.spotting.softnet"))


def register_spotter(name: str) -> Any:
    return SPOTTERS.register(name)


@dataclass
class VideoCrops:
    """A long video ready for spotting: ``crops`` (n, size, size) uint8 grey, ``landmarks`` (68, 2)
    in crop coordinates, ``fps``, and where the face box came from."""

    crops: np.ndarray
    landmarks: np.ndarray
    fps: float
    box: tuple[int, int, int, int]
    landmarks_frame: int


@dataclass
class SpotResult:
    """The spotted intervals of one video and the per-frame score curve behind them."""

    intervals: list[Interval]
    curve: np.ndarray


def create_spotter(name: str, params: dict[str, Any] | None = None) -> Any:
    import inspect

    cls = SPOTTERS.get_or_error(name)
    allowed = [p for p in inspect.signature(cls).parameters]
    unknown = [k for k in (params or {}) if k not in allowed]
    if unknown:
        raise ConfigError(f"spotter {name!r}: unknown parameter(s) {unknown}; allowed: {allowed}")
    return cls(**(params or {}))


# --------------------------------------------------------------------------- 1: window heuristic


@register_spotter("window_heuristic")
class WindowHeuristic:
    """``microexpr predict``'s sliding-window candidate search, as a spotter (module doc)."""

    def __init__(self, window_s: float = 0.5, stride_s: float | None = None, top_k: int = 3) -> None:
        if window_s <= 0 or (stride_s is not None and stride_s <= 0) or top_k < 1:
            raise ConfigError("window_heuristic: window_s and stride_s must be positive and top_k >= 1")
        self.window_s, self.stride_s, self.top_k = window_s, stride_s, top_k

    def spot(self, video: VideoCrops) -> SpotResult:
        from ..motion.apex import flow_magnitude_curve
        from ..predict.windows import Candidate, WindowSpec, offset_after, select_intervals, smooth

        spec = WindowSpec.from_seconds(video.fps, self.window_s, self.stride_s)
        n = len(video.crops)
        starts = list(range(0, max(1, n - spec.length + 1), spec.stride))
        if n > spec.length and starts[-1] != n - spec.length:
            starts.append(n - spec.length)
        cands, curve = [], np.zeros(n)
        for s in starts:
            c = smooth(flow_magnitude_curve(list(video.crops[s:s + spec.length]), flow_method="farneback"))
            curve[s:s + len(c)] = np.maximum(curve[s:s + len(c)], c)
            apex = int(np.argmax(c))
            cands.append(Candidate(s, s + apex, s + offset_after(c, apex), float(c[apex]), {}))
        ranked = sorted(cands, key=lambda c: -c.score)
        chosen = select_intervals(ranked, self.top_k)
        return SpotResult([Interval(c.onset, c.offset, "micro", c.score, c.apex) for c in chosen], curve)


# --------------------------------------------------------------------------- control: random intervals


@register_spotter("random")
class RandomIntervals:
    """A control, not a method: ``per_minute`` intervals per minute of video at random places
    (seeded by ``seed`` and the video length), micro ones of ``micro_s`` and macro ones of
    ``macro_s`` seconds alternating. A spotter is only worth its cost when it beats this."""

    def __init__(self, per_minute: float = 20.0, micro_s: float = 0.3, macro_s: float = 1.2, seed: int = 0) -> None:
        if per_minute <= 0 or micro_s <= 0 or macro_s <= 0:
            raise ConfigError("random: per_minute, micro_s and macro_s must be positive")
        self.per_minute, self.micro_s, self.macro_s, self.seed = per_minute, micro_s, macro_s, seed

    def spot(self, video: VideoCrops) -> SpotResult:
        n, fps = len(video.crops), video.fps
        rng = np.random.default_rng([self.seed, n])
        k = max(1, int(round(self.per_minute * n / fps / 60)))
        out = []
        for i in range(k):
            kind = "micro" if i % 2 == 0 else "macro"
            length = max(1, min(n, int(round((self.micro_s if kind == "micro" else self.macro_s) * fps))))
            start = int(rng.integers(0, n - length + 1))
            out.append(Interval(start, start + length - 1, kind, float(rng.random())))
        return SpotResult(sorted(out, key=lambda i: i.onset), np.zeros(n))


# --------------------------------------------------------------------------- 2: ROI flow


# 68-point landmark groups (iBUG): regions whose motion is an expression, and the reference
REGIONS = {"left_brow": range(17, 22), "right_brow": range(22, 27), "nose_wings": (31, 32, 33, 34, 35),
           "mouth": range(48, 68)}
REFERENCE = range(27, 31)  # nose ridge: moves with the head, hardly with expressions


def _box(points: np.ndarray, pad: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0 = points.min(0) - pad
    x1, y1 = points.max(0) + pad
    h, w = shape
    return max(0, int(x0)), max(0, int(y0)), min(w, int(np.ceil(x1)) + 1), min(h, int(np.ceil(y1)) + 1)


def region_masks(landmarks: np.ndarray, shape: tuple[int, int], pad: float) -> list[np.ndarray]:
    """Boolean masks of the expression regions (brows: only above their lower edge), with every
    pixel near the eyes (landmarks 36-47, ``pad`` around) removed: eyelids move in blinks."""
    h, w = shape
    eyes = np.zeros(shape, bool)
    for idx in (range(36, 42), range(42, 48)):
        a, b, c, d = _box(landmarks[list(idx)], pad, shape)
        eyes[b:d, a:c] = True
    out = []
    for name, idx in REGIONS.items():
        pts = landmarks[list(idx)]
        a, b, c, d = _box(pts, pad, shape)
        if name.endswith("brow"):
            d = min(h, int(np.ceil(pts[:, 1].max())) + 1)
        m = np.zeros(shape, bool)
        m[b:d, a:c] = True
        m &= ~eyes
        if m.any():
            out.append(m)
    if not out:
        raise PreprocessingError("roi_flow: the face crop is too small for its regions; raise the crop size")
    return out


@register_spotter("roi_flow")
class RoiFlow:
    """Two-sided ROI flow magnitude, data-driven threshold, intervals typed by duration (module doc)."""

    def __init__(self, micro_k_s: float = 0.3, macro_k_s: float = 2.0, p: float = 0.3, min_px: float = 0.25,
                 extend: float = 0.2, micro_max_s: float = 0.5, smooth_s: float = 0.05, pad_px: float = 4.0,
                 macro: bool = True) -> None:
        if not 0 < micro_k_s < macro_k_s or not 0 <= p < 1 or min_px < 0 or micro_max_s <= 0 or not 0 <= extend < 1:
            raise ConfigError("roi_flow: need 0 < micro_k_s < macro_k_s, 0 <= p < 1, min_px >= 0, 0 <= extend < 1, "
                              "micro_max_s > 0")
        self.extend = extend
        self.micro_k_s, self.macro_k_s, self.p, self.min_px = micro_k_s, macro_k_s, p, min_px
        self.micro_max_s, self.smooth_s, self.pad_px, self.macro = micro_max_s, smooth_s, pad_px, macro

    def curve(self, video: VideoCrops, k: int) -> np.ndarray:
        """Per frame: min over the two sides of the ROI flow magnitude minus the nose ridge's flow."""
        crops, n = video.crops, len(video.crops)
        masks = region_masks(video.landmarks, crops.shape[1:], self.pad_px)
        x0, y0, x1, y1 = 0, 0, crops.shape[2], crops.shape[1]  # head motion: the median flow of the face crop
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        out = np.zeros(n)
        for t in range(n):
            sides = []
            for r in sorted({max(0, t - k), min(n - 1, t + k)} - {t}):  # near the ends: the first/last frame
                flow = dis.calc(crops[r], crops[t], None)
                head = np.median(flow[y0:y1, x0:x1].reshape(-1, 2), axis=0)
                mag = np.linalg.norm(flow - head, axis=-1)
                sides.append(float(np.mean([mag[m].mean() for m in masks])))
            out[t] = min(sides) if sides else 0.0
        return out

    def _regions(self, curve: np.ndarray, fps: float) -> tuple[list[tuple[int, int, float]], float]:
        """Regions whose peak passes the threshold, each widened to where the curve falls below
        ``extend`` of its height above the baseline (hysteresis: the threshold finds an
        expression, the lower level gives its onset and offset)."""
        w = max(1, int(round(self.smooth_s * fps)))
        c = np.convolve(curve, np.ones(w) / w, mode="same") if w > 1 else curve
        base = float(np.median(c))
        thr = max(base + self.p * (float(c.max()) - base), base + self.min_px)
        above = c > thr
        regions: list[tuple[int, int, float]] = []
        t = 0
        while t < len(c):
            if above[t]:
                s = t
                while t < len(c) and above[t]:
                    t += 1
                peak = float(c[s:t].max())
                low = base + self.extend * (peak - base)
                a, b = s, t - 1
                while a > 0 and c[a - 1] > low:
                    a -= 1
                while b < len(c) - 1 and c[b + 1] > low:
                    b += 1
                if regions and a <= regions[-1][1]:  # widened into the previous one: one region
                    a0, _, p0 = regions.pop()
                    a, peak = a0, max(p0, peak)
                regions.append((a, b, peak))
                t = b + 1
            t += 1
        return regions, thr

    def spot(self, video: VideoCrops) -> SpotResult:
        fps = video.fps
        k_micro = max(1, int(round(self.micro_k_s * fps)))
        micro_curve = self.curve(video, k_micro)
        intervals: list[Interval] = []
        macro_spans: list[tuple[int, int]] = []
        if self.macro:
            macro_curve = self.curve(video, max(k_micro + 1, int(round(self.macro_k_s * fps))))
            for s, e, score in self._regions(macro_curve, fps)[0]:
                if (e - s + 1) / fps > self.micro_max_s:
                    intervals.append(Interval(s, e, "macro", score, s + int(np.argmax(macro_curve[s:e + 1]))))
                    macro_spans.append((s, e))
        for s, e, score in self._regions(micro_curve, fps)[0]:
            if (e - s + 1) / fps > self.micro_max_s or any(s <= b and a <= e for a, b in macro_spans):
                continue  # too long for a micro-expression, or part of a macro one
            intervals.append(Interval(s, e, "micro", score, s + int(np.argmax(micro_curve[s:e + 1]))))
        return SpotResult(sorted(intervals, key=lambda i: i.onset), micro_curve)


# --------------------------------------------------------------------------- input


FACE_SEARCH_S = 2.0  # spotting looks for the face in the first seconds of a video only


def is_face_search_frame(i: int, fps: float) -> bool:
    """Whether frame ``i`` is one the face is looked for on: 0, 0.25 s, 0.5 s, ... up to 2 s."""
    return i <= fps * FACE_SEARCH_S and i % max(1, int(round(fps / 4))) == 0


def spotting_geometry(landmarks: np.ndarray) -> Any:
    """The one face box of a video for spotting: the inputs layer's face step with its defaults."""
    from ..inputs import face_geometry
    from ..inputs.params import FACE_PARAMS

    return face_geometry(landmarks, {k: p.default for k, p in FACE_PARAMS.items()})


def spotting_crop(geom: Any, rgb: np.ndarray, size: int) -> np.ndarray:
    """One frame as the spotters see it: grey, cut with ``geom``'s box, ``size`` pixels."""
    return geom.crop_frame(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), size)


def crops_of_video(crops: Sequence[np.ndarray], geom: Any, fps: float, first: int, size: int) -> VideoCrops:
    """:class:`VideoCrops` from a video's spotting crops and the geometry that cut them."""
    from ..face.crop import landmarks_in_crop

    return VideoCrops(np.stack(crops), landmarks_in_crop(geom.landmarks, geom.box, size).astype(np.float32),
                      float(fps), tuple(int(v) for v in geom.box), first)


def video_crops(frames: Sequence[str], fps: float, *, size: int = 128, landmarks: str | None = None) -> VideoCrops:
    """Grey face crops of a long video cut with one box (the inputs layer's LAENet box) from the
    landmarks of its first frame: supplied ones (``landmarks68.npy``) when the video has them,
    else dlib's (HOG, then its CNN) on frames 0, 0.25 s, ... 2 s until one shows a face."""
    from ..face.landmarks import AutoDetector
    from ..video.frames import read_frame

    found = None
    if landmarks is not None:
        from ..face.landmarks import load_supplied_landmarks

        found = (0, load_supplied_landmarks(landmarks, len(frames))[0])
    detector = AutoDetector(1)
    for i in (i for i in range(len(frames)) if is_face_search_frame(i, fps)) if found is None else ():
        lm = detector.detect(read_frame(frames[i]))
        if lm is not None:
            found = (i, lm)
            break
    if found is None:
        raise PreprocessingError(f"no face found in the first 2 s of the video of {frames[0]}: spotting needs a "
                                 "visible, roughly frontal face")
    first, lm = found
    geom = spotting_geometry(lm)
    return crops_of_video([spotting_crop(geom, read_frame(f), size) for f in frames], geom, fps, first, size)
