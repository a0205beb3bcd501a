"""``microexpr predict VIDEO --spotter roi_flow``: spot every expression of a long video, then
recognise each micro-expression.

The whole video is read once into grey face crops cut with one box from the first frames'
landmarks (dlib; :func:`microexpr.spotting.spotters.video_crops` semantics), the spotter
(:mod:`microexpr.spotting.spotters`) returns typed, scored intervals, and for every MICRO
interval the model's input is built from its onset and apex frames exactly as in the window
mode (the artefact's face box and preprocessing: :meth:`Predictor.input_for`), in a second pass
over the video that keeps only those frames. Macro intervals are listed with their type and
score but not classified (the models are trained on micro-expressions). Memory: one grey
crop of ``crop_size``\\ :sup:`2` bytes per frame (16 kB at 128 px: 200 MB for a minute at 200 fps).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..errors import PreprocessingError
from ..inputs import face_geometry
from ..spotting.spotters import (
    FACE_SEARCH_S, create_spotter, crops_of_video, is_face_search_frame, spotting_crop, spotting_geometry,
)
from .pipeline import Predictor
from .reader import open_frames

CROP_SIZE = 128


def spot_then_recognise(path: str | os.PathLike[str], model: Any, spotter: str, params: dict[str, Any], *,
                        fps: float | None, progress: bool, visualise_dir: Any, t_all: float,
                        truths: list[tuple[int, int]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """The JSON-ready result of spotting ``path`` with ``spotter`` and classifying its micro intervals."""
    predictor = Predictor(model)
    spot = create_spotter(spotter, params)
    stream = open_frames(path, fps)
    timings = predictor.timings
    crops: list[np.ndarray] = []
    first_frames: list[np.ndarray] = []
    spot_geom = geom = None
    lm_frame = -1
    bar = tqdm(total=stream.n_frames_hint, desc=f"spot {Path(path).name}", unit="frame", file=sys.stderr,
               disable=not progress)
    try:
        t = time.perf_counter()
        for i, frame in enumerate(stream):
            timings["decode"] += time.perf_counter() - t
            bar.update(1)
            if spot_geom is None:
                first_frames.append(frame)
                if i > stream.fps * FACE_SEARCH_S:
                    raise PreprocessingError(f"no face found in the first 2 s of {path}: spotting needs a visible, "
                                             "roughly frontal face; check the input or crop it closer to the face")
                if is_face_search_frame(i, stream.fps):
                    found = predictor.find_face([frame], 0)
                    if found is not None:
                        lm_frame = i
                        spot_geom = spotting_geometry(found[1])
                        geom = face_geometry(found[1], predictor.params)
                        crops += [spotting_crop(spot_geom, f, CROP_SIZE) for f in first_frames]
                        first_frames = []
            else:
                crops.append(spotting_crop(spot_geom, frame, CROP_SIZE))
            t = time.perf_counter()
    finally:
        bar.close()
    if spot_geom is None:
        raise PreprocessingError(f"no face found in {path} ({len(first_frames)} frames): predict needs a visible, roughly "
                                 "frontal face; check the input or crop it closer to the face")
    n = len(crops)
    t = time.perf_counter()
    video = crops_of_video(crops, spot_geom, stream.fps, lm_frame, CROP_SIZE)
    result = spot.spot(video)
    timings["flow"] += time.perf_counter() - t
    micro = [iv for iv in result.intervals if iv.kind == "micro"]
    needed = {i for iv in micro for i in (iv.onset, iv.apex if iv.apex is not None else iv.onset)}
    kept: dict[int, np.ndarray] = {}
    if needed:  # second pass: only the onset and apex frames of the micro intervals
        for i, frame in enumerate(open_frames(path, fps)):
            if i in needed:
                kept[i] = frame
            if len(kept) == len(needed):
                break
    intervals = []
    for iv in result.intervals:
        entry: dict[str, Any] = {"type": iv.kind, "onset": iv.onset, "apex": iv.apex, "offset": iv.offset,
                                 "onset_s": round(iv.onset / stream.fps, 4), "offset_s": round(iv.offset / stream.fps, 4),
                                 "score": round(float(iv.score), 6)}
        if iv.kind == "micro":
            apex = iv.apex if iv.apex is not None else iv.onset
            grey = [geom.crop_frame(cv2.cvtColor(kept[i], cv2.COLOR_RGB2GRAY), predictor.params.get("flow_size"))
                    for i in (iv.onset, apex)]
            data = {"onset_crop": grey[0], "apex_crop": grey[1], "geom": geom, "apex_frame": kept[apex]}
            proba = predictor.classify(predictor.input_for(data))
            k = int(np.argmax(proba))
            entry.update({"class": predictor.artefact.classes[k],
                          "probabilities": {c: float(p) for c, p in zip(predictor.artefact.classes, proba)}})
        intervals.append(entry)
    if visualise_dir is not None:
        from ..io_utils import atomic_write_bytes
        from ..report.figures import timeline

        png = timeline(np.arange(n), result.curve, intervals, stream.fps, list(truths))
        Path(visualise_dir).mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(Path(visualise_dir) / "timeline.png", png)
    art = predictor.artefact
    ranked = sorted((i for i in intervals if i["type"] == "micro"), key=lambda i: -i["score"])
    best = ranked[0] if ranked else None
    timings_out = {k: round(v, 4) for k, v in timings.items()}
    timings_out["total"] = round(time.perf_counter() - t_all, 4)
    return {
        "input": str(path), "kind": stream.kind, "fps": stream.fps, "fps_source": stream.fps_source, "n_frames": n,
        "model": {"path": str(art.path), "name": art.model_name, "sha256": art.sha256, "classes": list(art.classes),
                  "input": art.input_name, "trained_on": art.training.get("datasets")},
        "spotter": {"name": spotter, "params": dict(params)},
        "face_box": [int(v) for v in geom.box], "landmarks_frame": lm_frame,
        **{k: (best[k] if best else None) for k in ("onset", "apex", "offset", "class", "probabilities", "score")},
        "intervals": intervals,
        "timings_s": timings_out,
    }
