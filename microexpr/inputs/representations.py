"""The registry of input representations: each a pure function of (clip, parameters).

=================  =====================================================  ==============
name               what                                                   array
=================  =====================================================  ==============
``flow_image``     STSTNet/LAENet onset->apex image (u, v, strain)        (size, size, 3) uint8
``apex_crop``      face crop of the apex frame                             (size, size[, 3]) uint8
``onset_crop``     face crop of the onset frame                            (size, size[, 3]) uint8
``apex_window``    onset crop, then ``frames`` crops around the apex          (frames+1, size, size[, 3]) uint8
``tim_clip``       face crops onset..offset resampled to ``length``        (length, size, size[, 3]) uint8
``flow_sequence``  flows between consecutive frames of the tim_clip        (length-1, size, size, 2) float32
``tim_clip_rect``  tim_clip at ``height`` x ``width`` (TLCNN: 240 x 320)    (length, height, width[, 3]) uint8
``apex_rect``      apex_crop at ``height`` x ``width``                       (height, width[, 3]) uint8
``adm``            ATNet average direction-magnitude sequence              (64, 128) float32
``crop_landmarks`` onset landmarks in the coordinates of a ``size`` crop    (68, 2) float32
=================  =====================================================  ==============

All share the face step (:data:`~microexpr.inputs.params.FACE_PARAMS`): onset landmarks
-> optional eye-line alignment -> LAENet box, the same box for every frame. Bump a
representation's ``version`` whenever its code changes what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .. import __version__
from ..errors import ConfigError, PreprocessingError
from ..registry import Registry
from ..face.crop import landmarks_in_crop
from ..face.eyes import eye_mask
from ..motion.adm import adm_from_frames
from ..motion.flow import compute_flow
from ..motion.flow_image import flow_image
from ..motion.tim import linear_resample, tim_interpolate
from .cache import cache_key, load_cached, save_cached
from .clip import FACE_STEP_VERSION, ClipJob, FaceGeometry, iter_cropped
from .params import BOOL, FACE_PARAMS, FLOW_PARAMS, Param, int_in, one_of, optional_int_in

FLOW_STEP_VERSION = "1"

Compute = Callable[[ClipJob, FaceGeometry, dict[str, Any]], np.ndarray]


@dataclass(frozen=True)
class Representation:
    """A named input: its parameters, code version, the steps it uses, and its function."""

    name: str
    version: str
    params: dict[str, Param]
    steps: dict[str, str]
    compute: Compute
    doc: str


REGISTRY: Registry[Representation] = Registry("input representation")
"""Every representation (registered by ``_register`` in this module)."""


def _register(name: str, version: str, params: dict[str, Param], uses_flow: bool, doc: str) -> Callable[[Compute], Compute]:
    def deco(fn: Compute) -> Compute:
        steps = {"face": FACE_STEP_VERSION}
        if uses_flow:
            steps["flow"] = FLOW_STEP_VERSION
        REGISTRY.add(name, Representation(name, version, dict(params), steps, fn, doc))
        return fn

    return deco


def expected_array(name: str, p: dict[str, Any]) -> tuple[np.dtype, tuple[int, ...]]:
    """(dtype, shape) of representation ``name``'s array for resolved parameters ``p`` (the
    table at the top of this module); cached arrays are checked against it."""
    channels = () if p.get("colour", "grey") == "grey" else (3,)
    if name == "flow_image":
        return np.dtype(np.uint8), (p["size"], p["size"], 3)
    if name in ("apex_crop", "onset_crop"):
        return np.dtype(np.uint8), (p["size"], p["size"], *channels)
    if name == "apex_window":
        return np.dtype(np.uint8), (p["frames"] + 1, p["size"], p["size"], *channels)
    if name == "crop_landmarks":
        return np.dtype(np.float32), (68, 2)
    if name == "tim_clip":
        return np.dtype(np.uint8), (p["length"], p["size"], p["size"], *channels)
    if name == "tim_clip_rect":
        return np.dtype(np.uint8), (p["length"], p["height"], p["width"], *channels)
    if name == "apex_rect":
        return np.dtype(np.uint8), (p["height"], p["width"], *channels)
    if name == "flow_sequence":
        return np.dtype(np.float32), (p["length"] - 1, p["size"], p["size"], 2)
    if name == "adm":
        return np.dtype(np.float32), (2 * p["half_window"], 2 * p["grid"] * p["grid"])
    raise ConfigError(f"no array specification for representation {name!r}")


def get_representation(name: str) -> Representation:
    """The registered representation ``name``; raise listing the known names."""
    return REGISTRY.get_or_error(name)


COLOUR = Param("grey", one_of("grey", "rgb"), "grey (H, W) or RGB (H, W, 3) crops")


def _read_one(job: ClipJob, geom: FaceGeometry, index: int, size: int | None, grey: bool) -> np.ndarray:
    return next(iter_cropped(job, geom, [index], size=size, grey=grey))[1]


# --------------------------------------------------------------------------- flow_image
@_register(
    "flow_image", "1",
    {
        **FACE_PARAMS, **FLOW_PARAMS,
        "flow_size": Param(None, optional_int_in(16, 1024),
                           "resize the face crop to this square size before the flow; null = the crop's "
                           "own resolution (LAENet: flow at the cropped resolution)"),
        "eye_mask": Param(False, BOOL, "zero the eye regions (LAENet); off = STSTNet"),
        "eye_dilation": Param(0, int_in(0, 50), "grow the eye polygons by this many pixels (flow resolution)"),
        "size": Param(28, int_in(4, 512), "output image size"),
    },
    uses_flow=True,
    doc="STSTNet/LAENet onset->apex flow image, channels (u, v, strain) min-max to 0..255",
)
def _flow_image(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    flow = onset_apex_flow(job, geom, p)
    mask = None
    if p["eye_mask"]:
        h, w = flow.shape[:2]
        lm = landmarks_in_crop(geom.landmarks, geom.box, None if p["flow_size"] is None else (w, h))
        mask = eye_mask(lm, (h, w), dilation=p["eye_dilation"])
    return flow_image(flow, eye_mask=mask, size=p["size"])


#: Parameters the onset -> apex flow depends on (the face step's and the flow's; not the output's).
ONSET_APEX_FLOW_KEYS = (*FACE_PARAMS, "flow_size", "flow_method", "flow_preset")

#: Where the current clip computation may cache intermediate steps (set by ``compute_clip``).
STEP_CACHE: ContextVar[Path | None] = ContextVar("microexpr_step_cache", default=None)


def onset_apex_flow(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    """The onset -> apex flow of the face crops (float32 (h, w, 2)), cached as the *flow step*.

    Every ``flow_image`` of a clip that differs only after the flow (eye mask on or off, eye
    dilation, output size: STSTNet, OFF-ApexNet and LAENet's variants) reuses one TV-L1
    computation, the dominant cost at native resolution. The step's key holds every parameter
    of :data:`ONSET_APEX_FLOW_KEYS`, the code versions and the clip's fingerprint; the field is
    the one computed without the cache, bit for bit (``tests/preprocessing/test_inputs_unchanged.py``).
    """
    cache_dir = STEP_CACHE.get()
    path = None
    if p["flow_size"] is None:
        x0, y0, x1, y1 = geom.box
        shape = (y1 - y0, x1 - x0, 2)
    else:
        shape = (p["flow_size"], p["flow_size"], 2)
    if cache_dir is not None:
        material = {"step": "onset_apex_flow", "version": FLOW_STEP_VERSION, "face": FACE_STEP_VERSION,
                    "microexpr": __version__, "params": {k: p[k] for k in ONSET_APEX_FLOW_KEYS},
                    "clip": job.fingerprint()}
        path = Path(cache_dir) / "_flow" / f"{cache_key(material)}.npy"
        cached = load_cached(path, (np.float32, shape))
        if cached is not None:
            return cached
    crops = dict(iter_cropped(job, geom, sorted({job.onset, job.apex}), size=p["flow_size"], grey=True))
    flow = np.asarray(compute_flow(crops[job.onset], crops[job.apex], p["flow_method"], p["flow_preset"]),
                      dtype=np.float32)
    if path is not None:
        save_cached(path, flow)
    return flow


# --------------------------------------------------------------------------- single crops
_CROP_PARAMS = {**FACE_PARAMS, "size": Param(224, int_in(8, 1024), "square output size"), "colour": COLOUR}


@_register("apex_crop", "1", _CROP_PARAMS, uses_flow=False, doc="face crop of the apex frame")
def _apex_crop(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    return _read_one(job, geom, job.apex, p["size"], p["colour"] == "grey")


@_register("onset_crop", "1", _CROP_PARAMS, uses_flow=False, doc="face crop of the onset frame")
def _onset_crop(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    return _read_one(job, geom, job.onset, p["size"], p["colour"] == "grey")


def window_positions(onset: int, apex: int, offset: int, frames: int, window: str) -> list[int]:
    """Frame positions of an ``apex_window``: ``frames`` positions centred on the apex (``centred``:
    apex - frames//2 ..; MTMNet's "five frames centred at the apex") or ending at it (``ending``:
    the peak frame and those before it, for sequences that stop at their peak such as CK+),
    each clamped to onset..offset (a short clip repeats its first or last frame)."""
    first = apex - frames // 2 if window == "centred" else apex - frames + 1
    return [min(max(first + i, onset), offset) for i in range(frames)]


_WINDOW_PARAMS = {**_CROP_PARAMS, "frames": Param(5, int_in(1, 64), "frames around the apex"),
                  "window": Param("centred", one_of("centred", "ending"), "centred on the apex, or ending at it")}


@_register("apex_window", "1", _WINDOW_PARAMS, uses_flow=False,
           doc="onset crop, then the crops of `frames` frames around the apex (MTMNet's neutral and expression images)")
def _apex_window(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    positions = [job.onset, *window_positions(job.onset, job.apex, job.offset, p["frames"], p["window"])]
    crops = dict(iter_cropped(job, geom, sorted(set(positions)), size=p["size"], grey=p["colour"] == "grey"))
    return np.stack([crops[i] for i in positions])


@_register(
    "crop_landmarks", "1",
    {**FACE_PARAMS, "size": Param(224, int_in(8, 1024), "size of the crop the coordinates refer to")},
    uses_flow=False, doc="onset landmarks (68, 2) in the coordinates of the resized crop",
)
def _crop_landmarks(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    return landmarks_in_crop(geom.landmarks, geom.box, p["size"])


# --------------------------------------------------------------------------- sequences
_TIM_PARAMS = {
    **FACE_PARAMS,
    "length": Param(32, int_in(2, 512), "number of output frames"),
    "interpolation": Param("tim", one_of("tim", "linear"), "temporal model: TIM or linear"),
    "size": Param(128, int_in(8, 1024), "square frame size"),
    "colour": COLOUR,
}


def _tim_frames(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    idx = list(range(job.onset, job.offset + 1))
    size = (p["width"], p["height"]) if "height" in p else p["size"]
    seq = np.stack([c for _, c in iter_cropped(job, geom, idx, size=size, grey=p["colour"] == "grey")])
    fn = tim_interpolate if p["interpolation"] == "tim" else linear_resample
    return fn(seq, p["length"])


@_register("tim_clip", "1", _TIM_PARAMS, uses_flow=False,
           doc="face-cropped onset..offset frames resampled to `length` (TIM or linear)")
def _tim_clip(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    return _tim_frames(job, geom, p)


# TLCNN's frames are not square: "a 3-channel image (RGB) of size 240x320" (§3.3), read as
# height x width (the paper prints its other sizes as 227 x 227 x 3 = H x W x C). The face box
# (the same as every other input's) is resized to width x height, so the face is stretched
# to that aspect ratio, as resizing the paper's landmark rectangles to one size does.
_RECT = {
    "height": Param(240, int_in(8, 1024), "output frame height (TLCNN: 240)"),
    "width": Param(320, int_in(8, 1024), "output frame width (TLCNN: 320)"),
    "colour": Param("rgb", one_of("grey", "rgb"), "grey (H, W) or RGB (H, W, 3) frames (TLCNN: RGB)"),
}


@_register("tim_clip_rect", "1", {**{k: v for k, v in _TIM_PARAMS.items() if k != "size"}, **_RECT},
           uses_flow=False, doc="tim_clip with height x width frames (TLCNN's 240 x 320 RGB, the 3D-CNN's 128 x 171)")
def _tim_clip_rect(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    return _tim_frames(job, geom, p)


@_register("apex_rect", "1", {**FACE_PARAMS, **_RECT}, uses_flow=False,
           doc="face crop of the apex frame at height x width (TLCNN's expression pretraining images)")
def _apex_rect(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    return next(iter_cropped(job, geom, [job.apex], size=(p["width"], p["height"]), grey=p["colour"] == "grey"))[1]


@_register(
    "flow_sequence", "1",
    {**_TIM_PARAMS, **FLOW_PARAMS, "flow_method": Param("farneback", FLOW_PARAMS["flow_method"].check,
                                                        "optical flow algorithm (farneback: fast)")},
    uses_flow=True, doc="flows between consecutive frames of the TIM clip",
)
def _flow_sequence(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    seq = _tim_frames(job, geom, p)
    if seq.ndim == 4:
        seq = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in seq])
    return np.stack([compute_flow(seq[t], seq[t + 1], p["flow_method"], p["flow_preset"])
                     for t in range(len(seq) - 1)])


@_register(
    "adm", "1",
    {
        **FACE_PARAMS, **FLOW_PARAMS,
        "flow_method": Param("farneback", FLOW_PARAMS["flow_method"].check,
                             "optical flow algorithm; farneback by default because 64 TV-L1 flows at 224 px "
                             "cost about a minute per clip (ATNet used Classic+NL, not in OpenCV)"),
        "size": Param(224, int_in(16, 1024), "frames are resized to size x size before the flow (ATNet: 224)"),
        "half_window": Param(32, int_in(1, 256), "frames each side of the apex (ATNet: 32 -> 64 flows)"),
        "grid": Param(8, int_in(1, 64), "blocks per side (ATNet: 8 -> 128 values per row)"),
        "interleave": Param(True, BOOL, "(direction, magnitude) per block, as the authors' data"),
        "layout": Param("left_padded", one_of("left_padded", "aligned"), "where zero rows go"),
    },
    uses_flow=True, doc="ATNet average direction-magnitude sequence",
)
def _adm(job: ClipJob, geom: FaceGeometry, p: dict[str, Any]) -> np.ndarray:
    hw = p["half_window"]
    needed = list(range(max(job.onset, job.apex - hw), min(job.offset, job.apex + hw) + 1))
    stream = iter_cropped(job, geom, needed, size=p["size"], grey=True)

    def get_frame(i: int) -> np.ndarray:  # adm_from_frames asks for ascending indices
        for j, c in stream:
            if j == i:
                return c
        raise PreprocessingError(f"clip {job.key}: ADM asked for frame {i} out of order")

    return adm_from_frames(
        get_frame, job.onset, job.apex, job.offset, n_frames=len(job.frames), half_window=p["half_window"],
        grid=p["grid"], flow_method=p["flow_method"], flow_preset=p["flow_preset"],
        interleave=p["interleave"], layout=p["layout"],
    )
