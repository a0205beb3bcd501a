"""Dense optical flow between two greyscale frames: TV-L1, Farneback and DIS.

Every method has *named parameter sets* (presets), so a run configuration can say
``method: tvl1, preset: default`` and the cache key records exactly which numbers were used.
The flow convention everywhere in microexpr: ``flow[..., 0] = u`` (displacement along x,
i.e. columns, positive to the right) and ``flow[..., 1] = v`` (along y, rows, positive
downwards), in pixels, such that ``nxt(x + u, y + v) ~ prev(x, y)``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..errors import ConfigError, PreprocessingError

#: Named parameter sets per method. ``tvl1/default`` is OpenCV's own default (what the
#: STSTNet/LAENet line of work used); ``tvl1/fast`` trades accuracy for ~3x speed (fewer
#: pyramid scales and warps); ``farneback/default`` is OpenCV's documented example setting.
FLOW_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "tvl1": {
        "default": dict(tau=0.25, lambda_=0.15, theta=0.3, nscales=5, warps=5, epsilon=0.01,
                        inner_iterations=30, outer_iterations=10, scale_step=0.8, gamma=0.0,
                        median_filtering=5),
        "fast": dict(tau=0.25, lambda_=0.15, theta=0.3, nscales=3, warps=3, epsilon=0.02,
                     inner_iterations=20, outer_iterations=5, scale_step=0.5, gamma=0.0,
                     median_filtering=5),
        "accurate": dict(tau=0.25, lambda_=0.15, theta=0.3, nscales=5, warps=8, epsilon=0.005,
                         inner_iterations=50, outer_iterations=15, scale_step=0.8, gamma=0.0,
                         median_filtering=5),
    },
    "farneback": {
        "default": dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
                        poly_sigma=1.2, gaussian=False),
        "fine": dict(pyr_scale=0.5, levels=4, winsize=9, iterations=5, poly_n=7,
                     poly_sigma=1.5, gaussian=True),
    },
    "dis": {
        "ultrafast": dict(preset=cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST),
        "fast": dict(preset=cv2.DISOPTICAL_FLOW_PRESET_FAST),
        "medium": dict(preset=cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
        "default": dict(preset=cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
    },
}

_ENGINES: dict[tuple[str, str], Any] = {}  # per-process cache of configured OpenCV objects


def flow_preset(method: str, preset: str) -> dict[str, Any]:
    """Return a copy of the parameter dict of ``method``/``preset``; raise naming the choices."""
    if method not in FLOW_PRESETS:
        raise ConfigError(f"unknown optical-flow method {method!r}; choose one of {sorted(FLOW_PRESETS)}")
    presets = FLOW_PRESETS[method]
    if preset not in presets:
        raise ConfigError(
            f"unknown preset {preset!r} for flow method {method!r}; choose one of {sorted(presets)}"
        )
    return dict(presets[preset])


def _engine(method: str, preset: str) -> Any:
    key = (method, preset)
    if key in _ENGINES:
        return _ENGINES[key]
    p = flow_preset(method, preset)
    if method == "tvl1":
        eng = cv2.optflow.DualTVL1OpticalFlow_create(
            tau=p["tau"], lambda_=p["lambda_"], theta=p["theta"], nscales=p["nscales"],
            warps=p["warps"], epsilon=p["epsilon"], innnerIterations=p["inner_iterations"],
            outerIterations=p["outer_iterations"], scaleStep=p["scale_step"], gamma=p["gamma"],
            medianFiltering=p["median_filtering"],
        )
    elif method == "dis":
        eng = cv2.DISOpticalFlow_create(p["preset"])
    else:
        eng = p
    _ENGINES[key] = eng
    return eng


def _check_grey(img: np.ndarray, name: str) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 2 or img.dtype != np.uint8:
        raise PreprocessingError(
            f"optical flow needs 2-D uint8 greyscale frames; {name} has shape {img.shape} and dtype "
            f"{img.dtype} (convert with cv2.cvtColor(..., cv2.COLOR_RGB2GRAY))"
        )
    return np.ascontiguousarray(img)


def compute_flow(prev: np.ndarray, nxt: np.ndarray, method: str = "tvl1", preset: str = "default") -> np.ndarray:
    """Dense flow from ``prev`` to ``nxt`` as a (H, W, 2) float32 array (u = x, v = y).

    ``method`` is ``tvl1`` (OpenCV contrib Dual TV-L1), ``farneback`` or ``dis``; ``preset``
    names a parameter set of :data:`FLOW_PRESETS`.
    """
    prev = _check_grey(prev, "prev")
    nxt = _check_grey(nxt, "nxt")
    if prev.shape != nxt.shape:
        raise PreprocessingError(f"optical flow needs frames of equal shape, got {prev.shape} and {nxt.shape}")
    eng = _engine(method, preset)
    if method == "farneback":
        flags = cv2.OPTFLOW_FARNEBACK_GAUSSIAN if eng["gaussian"] else 0
        flow = cv2.calcOpticalFlowFarneback(
            prev, nxt, None, eng["pyr_scale"], eng["levels"], eng["winsize"], eng["iterations"],
            eng["poly_n"], eng["poly_sigma"], flags,
        )
    else:
        flow = eng.calc(prev, nxt, None)
    return np.asarray(flow, dtype=np.float32)
