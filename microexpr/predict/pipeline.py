"""``microexpr predict``: a trained model (flow-image: STSTNet, LAENet, OFF-ApexNet; apex-frame:
Micro-Attention, ResNet-10) on any video or frame folder.

By default the video is spotted with the spotter the artefact names (:mod:`microexpr.predict.spotted`;
``export`` writes :data:`microexpr.spotting.spotters.DEFAULT_SPOTTER`) and every micro interval is
classified. ``spotter="window"`` is the sliding-window search below; ``onset``/``apex`` always
analyse the one window they give.

Per window of frames (see :mod:`microexpr.predict.windows`): find the face and its 68
landmarks (dlib, :mod:`microexpr.face`) on the window's first frame (when it has none,
the nearest frame of the window that has one; a window without any face is listed in
the output, never dropped silently), crop every frame with the one LAENet box built from
those landmarks (:func:`microexpr.inputs.face_geometry`, the artefact's face parameters),
spot the apex as the peak of the smoothed mean Farneback flow magnitude from the window's
first frame, then build the model input exactly as the artefact's representation of
``microexpr.inputs`` does (same functions, same resolved parameters from the artefact):
``flow_image`` (TV-L1 onset->apex flow at the crop's resolution, eye masking, strain,
min-max, resize) or ``apex_crop`` (the apex frame cropped with the same box, grey or RGB,
resized), convert it with the artefact's transform (:func:`microexpr.inputs.spec.input_transform`)
and take the softmax.

With ``onset``/``apex`` given there is one window starting at the onset (or half a window
before the apex) and no spotting of what was given. Frames are streamed: at most one
window of frames is in memory, plus two small face crops of each of a few best
candidates. Greyscale frames are ``cv2.cvtColor(RGB2GRAY)`` of the decoded RGB frame
(what the inputs layer reads from videos).

Models whose input is not one of :data:`~microexpr.inputs.spec.DEPLOYABLE_INPUTS` are
refused with a :class:`~microexpr.errors.ModelError` (the artefact names its input).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..artefacts import ModelArtefact, load_artefact
from ..errors import ConfigError, ModelError, PreprocessingError
from ..face.crop import landmarks_in_crop
from ..face.eyes import eye_mask
from ..face.landmarks import AutoDetector, get_detector
from ..inputs import face_geometry
from ..motion.apex import APEX_METHODS, flow_magnitude_curve, spot_apex
from ..motion.flow import compute_flow
from ..motion.flow_image import flow_image
from ..inputs.spec import DEPLOYABLE_INPUTS, input_transform
from ..training.loop import predict_proba
from .reader import FrameStream, open_frames
from .windows import Candidate, CandidatePool, WindowSpec, offset_after, select_intervals, smooth

SUPPORTED_INPUTS = DEPLOYABLE_INPUTS
SPOTTING_FLOW = "farneback"  # the motion curve only ranks windows and finds the apex: fast flow


class Predictor:
    """A loaded artefact ready to run on frames: model in eval mode, dlib detector, timers."""

    def __init__(self, artefact: ModelArtefact | str | os.PathLike[str], *, apex_method: str = "flow_peak") -> None:
        self.artefact = artefact if isinstance(artefact, ModelArtefact) else load_artefact(artefact)
        if self.artefact.input_name not in SUPPORTED_INPUTS:
            raise ModelError(f"{self.artefact.path}: model input {self.artefact.input_name!r} is not supported by "
                             f"`microexpr predict` (supported: {SUPPORTED_INPUTS}: flow-image and apex-frame models)")
        if apex_method not in APEX_METHODS:
            raise ConfigError(f"unknown apex method {apex_method!r}; choose one of {APEX_METHODS}")
        self.apex_method = apex_method
        self.params = self.artefact.input_params
        self.model = self.artefact.build_model()
        self.transform = input_transform(self.artefact.input_name, self.artefact.input_transform)
        det = self.params["face_detector"]
        self.detector_name = "auto" if det in ("auto", "supplied") else det  # a video has no supplied landmarks
        self.detector = (AutoDetector(self.params["face_upsample"]) if self.detector_name == "auto"
                         else get_detector(self.detector_name, self.params["face_upsample"]))
        self.timings = {"decode": 0.0, "face": 0.0, "flow": 0.0, "model": 0.0}
        self.scores: dict[int, float] = {}  # absolute frame -> highest motion score any window gave it

    # ------------------------------------------------------------------ one window
    def find_face(self, frames: list[np.ndarray], first: int) -> tuple[int, np.ndarray] | None:
        """(frame index, landmarks) on ``frames[first]``, else the nearest frame with a face."""
        t = time.perf_counter()
        order = sorted(range(len(frames)), key=lambda i: (abs(i - first), i))
        auto = isinstance(self.detector, AutoDetector)
        try:
            for i in order:  # under auto, HOG over the window first: the CNN costs ~0.8 s a frame
                lm = (self.detector.hog if auto else self.detector).detect(frames[i])
                if lm is not None:
                    return i, lm
            if auto:  # no HOG face anywhere in the window: the CNN on the window's first frame (counted)
                lm = self.detector.detect(frames[first])
                if lm is not None:
                    return first, lm
            return None
        finally:
            self.timings["face"] += time.perf_counter() - t

    def analyse(self, frames: list[np.ndarray], start: int, *, onset: int = 0, apex: int | None = None,
                keep_apex_frame: bool = False) -> Candidate | None:
        """Spot apex/offset in ``frames`` (absolute index of frame 0: ``start``); None without a face."""
        found = self.find_face(frames, onset)
        if found is None:
            return None
        lm_frame, lm = found
        t = time.perf_counter()
        geom = face_geometry(lm, self.params)
        size = self.params.get("flow_size")  # apex_crop models: the motion curve at the crop's own resolution
        crops = [geom.crop_frame(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size) for f in frames[onset:]]
        curve = smooth(flow_magnitude_curve(crops, flow_method=SPOTTING_FLOW))
        for i, v in enumerate(curve):  # the timeline of --visualise: each frame's highest window score
            f = start + onset + i
            self.scores[f] = max(self.scores.get(f, float("-inf")), float(v))
        if apex is not None:
            apex_rel = apex - onset
        elif self.apex_method == "flow_peak":
            apex_rel = int(np.argmax(curve))
        else:
            apex_rel = spot_apex(crops, self.apex_method, flow_method=SPOTTING_FLOW)
        off_rel = offset_after(curve, apex_rel)
        self.timings["flow"] += time.perf_counter() - t
        data: dict[str, Any] = {"onset_crop": crops[0], "apex_crop": crops[apex_rel], "geom": geom,
                                "landmarks": lm, "landmarks_frame": start + lm_frame,
                                "input": self.artefact.input_name}
        if keep_apex_frame or self.artefact.input_name == "apex_crop":
            data["apex_frame"] = frames[onset + apex_rel]
        return Candidate(start + onset, start + onset + apex_rel, start + onset + off_rel, float(curve[apex_rel]), data)

    def input_for(self, data: dict[str, Any]) -> np.ndarray:
        """The model's input array for one candidate (``Candidate.data``), by the artefact's input."""
        if self.artefact.input_name == "apex_crop":
            return self.apex_input(data["apex_frame"], data["geom"])
        return self.model_input(data["onset_crop"], data["apex_crop"], data["geom"])

    def apex_input(self, apex_frame: np.ndarray, geom: Any) -> np.ndarray:
        """The ``apex_crop`` array (size, size[, 3]) uint8 of an RGB frame, as :mod:`microexpr.inputs`
        computes it: the frame (grey: ``cv2.cvtColor(RGB2GRAY)``) cropped with the window's box."""
        frame = apex_frame if self.params["colour"] == "rgb" else cv2.cvtColor(apex_frame, cv2.COLOR_RGB2GRAY)
        return geom.crop_frame(frame, self.params["size"])

    def model_input(self, onset_crop: np.ndarray, apex_crop: np.ndarray, geom: Any) -> np.ndarray:
        """The ``flow_image`` array (size, size, 3) uint8, as :mod:`microexpr.inputs` computes it."""
        p = self.params
        t = time.perf_counter()
        flow = compute_flow(onset_crop, apex_crop, p["flow_method"], p["flow_preset"])
        mask = None
        if p["eye_mask"]:
            h, w = flow.shape[:2]
            lm = landmarks_in_crop(geom.landmarks, geom.box, None if p["flow_size"] is None else (w, h))
            mask = eye_mask(lm, (h, w), dilation=p["eye_dilation"])
        img = flow_image(flow, eye_mask=mask, size=p["size"])
        self.timings["flow"] += time.perf_counter() - t
        return img

    def classify(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities (float64, sum 1) of one model input array."""
        t = time.perf_counter()
        proba = predict_proba(self.model, self.transform.from_images(image[None]))[0]
        self.timings["model"] += time.perf_counter() - t
        return proba


# --------------------------------------------------------------------------- streaming


def _timed(frames: Iterable[np.ndarray], timings: dict[str, float]) -> Iterable[np.ndarray]:
    it = iter(frames)
    while True:
        t = time.perf_counter()
        try:
            f = next(it)
        except StopIteration:
            timings["decode"] += time.perf_counter() - t
            return
        timings["decode"] += time.perf_counter() - t
        yield f


def predict(
    path: str | os.PathLike[str],
    model: ModelArtefact | str | os.PathLike[str],
    *,
    onset: int | None = None,
    apex: int | None = None,
    fps: float | None = None,
    window_s: float | None = None,
    stride_s: float | None = None,
    top_k: int = 3,
    apex_method: str = "flow_peak",
    progress: bool = True,
    visualise_dir: str | os.PathLike[str] | None = None,
    device: str | None = None,
    spotter: str | None = None,
    spotter_params: dict[str, Any] | None = None,
    truths: list[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """Run the model on the video or frame folder ``path``; the JSON-ready result (see the CLI doc).

    Raises :class:`PreprocessingError` when no frame shows a face or the video cannot be
    decoded, :class:`ModelError` for a refused artefact, :class:`ConfigError` for bad options.
    """
    t_all = time.perf_counter()
    for name, v in (("onset", onset), ("apex", apex)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ConfigError(f"--{name} must be a non-negative frame index (0-based), got {v!r}")
    for name, v in (("fps", fps), ("window", window_s), ("stride", stride_s)):
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ConfigError(f"--{name} must be a positive, finite number, got {v!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ConfigError(f"--top must be a positive number of intervals, got {top_k!r}")
    if onset is not None and apex is not None and apex < onset:
        raise ConfigError(f"--apex ({apex}) must not come before --onset ({onset})")
    from ..devices import compute_for, using

    compute = compute_for(device)
    artefact = model if isinstance(model, ModelArtefact) else load_artefact(model)
    if spotter is None:  # the artefact's spotter (export writes the default); artefacts from before: the default
        from ..spotting.spotters import DEFAULT_SPOTTER

        named = artefact.training.get("spotter") or {}
        spotter, spotter_params = str(named.get("name", DEFAULT_SPOTTER)), dict(named.get("params") or {})
    with using(compute):
        if spotter != "window" and onset is None and apex is None:
            from .spotted import spot_then_recognise

            result = spot_then_recognise(path, artefact, spotter, spotter_params or {}, fps=fps, progress=progress,
                                         visualise_dir=visualise_dir, t_all=t_all, truths=truths or [])
        else:
            result = _predict(path, artefact, onset, apex, fps, window_s, stride_s, top_k, apex_method, progress,
                              visualise_dir, t_all, truths or [])
    result["device"] = str(compute.device)
    return result


def _predict(path: Any, model: Any, onset: int | None, apex: int | None, fps: float | None, window_s: float | None,
             stride_s: float | None, top_k: int, apex_method: str, progress: bool, visualise_dir: Any,
             t_all: float, truths: list[tuple[int, int]]) -> dict[str, Any]:
    predictor = Predictor(model, apex_method=apex_method)
    stream = open_frames(path, fps)
    spec = WindowSpec.from_seconds(stream.fps, window_s, stride_s)
    keep_frames = visualise_dir is not None
    pool = CandidatePool(max(4 * top_k, 8))
    no_face: list[int] = []
    n_windows = 0

    searched: list[tuple[int, int]] = []

    def run_window(frames: list[np.ndarray], start: int, **kw: Any) -> None:
        nonlocal n_windows
        n_windows += 1
        searched.append((start, start + len(frames) - 1))
        if len(frames) < 2:
            raise PreprocessingError(
                f"{path}: only {len(frames)} frame to analyse from frame {start} on (a micro-expression is motion "
                "between frames: at least 2 are needed); give a longer video or an earlier --onset/--apex")
        cand = predictor.analyse(frames, start, keep_apex_frame=keep_frames, **kw)
        if cand is None:
            no_face.append(start)
        else:
            pool.add(cand)

    bar = tqdm(total=stream.n_frames_hint, desc=f"predict {Path(path).name}", unit="frame", file=sys.stderr,
               disable=not progress)
    n = 0
    try:
        if onset is None and apex is None:
            n = _slide(stream, spec, predictor.timings, bar, run_window)
        else:
            n = _fixed(stream, spec, onset, apex, predictor.timings, bar, run_window)
    finally:
        bar.close()
    if not pool.seen:
        where = (f"any frame of {path} ({n} frames" if onset is None and apex is None else
                 f"frames {searched[0][0]}..{searched[0][1]} of {path} (the window that --onset/--apex give; "
                 f"the video has {n} frames")
        raise PreprocessingError(
            f"no face found in {where}, dlib {predictor.detector_name} detector"
            f"{' (HOG, then CNN)' if predictor.detector_name == 'auto' else ''}): "
            "predict needs a visible, roughly frontal face; check the input or crop it closer to the face"
        )
    chosen = select_intervals(pool.ranked(), top_k)
    intervals = []
    for rank, c in enumerate(chosen, 1):
        img = predictor.input_for(c.data)
        proba = predictor.classify(img)
        entry = _interval_json(c, proba, predictor.artefact.classes, stream.fps)
        if visualise_dir is not None:
            from .visualise import write_visualisations

            apex_lm = predictor.detector.detect(c.data["apex_frame"])  # landmarks as they are at the apex
            c.data["apex_landmarks"] = c.data["landmarks"] if apex_lm is None else apex_lm
            entry["visualisations"] = write_visualisations(Path(visualise_dir), f"interval{rank}", c, img, proba,
                                                           predictor.artefact.classes)
        intervals.append(entry)
    if visualise_dir is not None and predictor.scores:
        from ..io_utils import atomic_write_bytes
        from ..report.figures import timeline

        frames_idx = np.array(sorted(predictor.scores))
        png = timeline(frames_idx, np.array([predictor.scores[f] for f in frames_idx]), intervals, stream.fps, truths)
        intervals[0].setdefault("visualisations", {})["timeline"] = str(atomic_write_bytes(Path(visualise_dir) / "timeline.png", png))
    best = intervals[0]
    timings = {k: round(v, 4) for k, v in predictor.timings.items()}
    timings["total"] = round(time.perf_counter() - t_all, 4)
    art = predictor.artefact
    return {
        "input": str(path),
        "kind": stream.kind,
        "fps": stream.fps,
        "fps_source": stream.fps_source,
        "n_frames": n,
        "model": {"path": str(art.path), "name": art.model_name, "sha256": art.sha256, "classes": list(art.classes),
                  "input": art.input_name, "trained_on": art.training.get("datasets")},
        "apex_source": ("user" if apex is not None else predictor.apex_method),
        "onset_source": ("user" if onset is not None else "window start"),
        "window": {"length_frames": spec.length, "stride_frames": spec.stride, "n_windows": n_windows,
                   "windows_without_face": no_face},
        "face_detector": {"name": predictor.detector_name,
                          "mmod_fallbacks": int(getattr(predictor.detector, "fallbacks", 0))},
        **{k: best[k] for k in ("onset", "apex", "offset", "class", "probabilities", "face_box", "score")},
        "intervals": intervals,
        "timings_s": timings,
    }


def _interval_json(c: Candidate, proba: np.ndarray, classes: tuple[str, ...], fps: float) -> dict[str, Any]:
    k = int(np.argmax(proba))
    return {
        "onset": c.onset, "apex": c.apex, "offset": c.offset,
        "onset_s": round(c.onset / fps, 4), "apex_s": round(c.apex / fps, 4), "offset_s": round(c.offset / fps, 4),
        "class": classes[k],
        "probabilities": {name: float(p) for name, p in zip(classes, proba)},
        "face_box": [int(v) for v in c.data["geom"].box],
        "landmarks_frame": int(c.data["landmarks_frame"]),
        "score": round(c.score, 6),
    }


def _slide(stream: FrameStream, spec: WindowSpec, timings: dict[str, float], bar: tqdm, run_window: Any) -> int:
    """Every full window at multiples of the stride, plus a final window ending at the last frame."""
    buf: deque[np.ndarray] = deque(maxlen=spec.length)
    n = 0
    last_start = None
    for frame in _timed(stream, timings):
        buf.append(frame)
        n += 1
        bar.update(1)
        start = n - spec.length
        if start >= 0 and start % spec.stride == 0:
            run_window(list(buf), start)
            last_start = start
    if n == 0:
        raise PreprocessingError(f"{stream.path} has no frames")
    final = max(0, n - spec.length)
    if last_start is None or last_start != final:
        run_window(list(buf), final)
    return n


def _fixed(stream: FrameStream, spec: WindowSpec, onset: int | None, apex: int | None, timings: dict[str, float],
           bar: tqdm, run_window: Any) -> int:
    """One window: from ``onset`` (else half a window before ``apex``) to past the apex."""
    start = onset if onset is not None else max(0, int(apex) - spec.length // 2)  # type: ignore[arg-type]
    end = max(start + spec.length, (apex + spec.length // 2 + 1) if apex is not None else 0)
    kept: list[np.ndarray] = []
    n = 0
    for frame in _timed(stream, timings):
        if start <= n < end:
            kept.append(frame)
        n += 1
        bar.update(1)
    for name, v in (("onset", onset), ("apex", apex)):
        if v is not None and v >= n:
            raise ConfigError(f"--{name} {v} is beyond the last frame of {stream.path} ({n} frames, 0-based)")
    run_window(kept, start, apex=None if apex is None else apex - start)
    return n
