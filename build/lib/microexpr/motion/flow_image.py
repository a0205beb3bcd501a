"""The STSTNet/LAENet flow image and a colour visualisation of flow.

:func:`flow_image` turns one onset->apex flow field into the three-channel image those
networks read: channels (u, v, optical strain), each min-max normalised to 0..255 over
the clip's own field, then resized to ``size`` x ``size``.

Eye masking (LAENet §2.2.4) -- decisions where the paper is silent:
* the min/max of each channel are taken over the pixels *outside* the mask, so a blink
  cannot set the normalisation range of the rest of the face;
* masked pixels are then set to 0 in all three channels (black, as in LAENet Fig. 7);
* both happen at the flow's resolution, before resizing.
A constant channel (max == min) maps to 0, as ``cv2.normalize(..., NORM_MINMAX)`` does.
Resizing uses area averaging (``cv2.INTER_AREA``), the right filter for shrinking.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import PreprocessingError
from .strain import _check_flow, optical_strain

_INTERP = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}


def minmax_to_255(channel: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Map ``channel`` linearly so its min -> 0 and max -> 255 (over ``valid`` pixels); float32."""
    ch = np.asarray(channel, dtype=np.float64)
    vals = ch if valid is None else ch[valid]
    if vals.size == 0:
        raise PreprocessingError("the eye mask covers the whole flow field; nothing left to normalise")
    lo, hi = float(vals.min()), float(vals.max())
    if hi - lo <= np.finfo(np.float32).eps:
        return np.zeros(ch.shape, np.float32)
    return ((ch - lo) * (255.0 / (hi - lo))).astype(np.float32)


def flow_image(
    flow: np.ndarray,
    *,
    eye_mask: np.ndarray | None = None,
    size: int | None = 28,
    interpolation: str = "area",
) -> np.ndarray:
    """(size, size, 3) uint8 image with channels (u, v, strain), each min-max to 0..255.

    ``eye_mask`` is a boolean (H, W) array (True = eye region, see
    :func:`microexpr.face.eyes.eye_mask`). ``size=None`` keeps the flow's resolution.
    """
    flow = _check_flow(flow)
    h, w = flow.shape[:2]
    valid = None
    if eye_mask is not None:
        eye_mask = np.asarray(eye_mask, dtype=bool)
        if eye_mask.shape != (h, w):
            raise PreprocessingError(f"eye mask shape {eye_mask.shape} does not match the flow's {(h, w)}")
        valid = ~eye_mask
    strain = optical_strain(flow)
    chans = [minmax_to_255(c, valid) for c in (flow[..., 0], flow[..., 1], strain)]
    img = np.stack(chans, axis=-1)
    if eye_mask is not None:
        img[eye_mask] = 0.0
    if size is not None and (h, w) != (size, size):
        if interpolation not in _INTERP:
            raise PreprocessingError(f"unknown interpolation {interpolation!r}; choose one of {sorted(_INTERP)}")
        img = cv2.resize(img, (size, size), interpolation=_INTERP[interpolation])
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def flow_to_colour(flow: np.ndarray, *, max_magnitude: float | None = None) -> np.ndarray:
    """RGB uint8 visualisation: hue = direction, brightness = magnitude (HSV wheel).

    Direction 0 (flow to the right, +x) is red; angles grow towards +y (down the image),
    so downward flow is yellow-green, leftward cyan, upward purple. Brightness is the
    magnitude divided by ``max_magnitude`` (default: the field's own maximum); zero flow is
    black.
    """
    flow = _check_flow(flow).astype(np.float32, copy=False)
    mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])  # angle in radians, [0, 2pi)
    top = float(mag.max()) if max_magnitude is None else float(max_magnitude)
    hsv = np.zeros(flow.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = np.round(ang * (90.0 / np.pi)).astype(np.int64) % 180  # OpenCV hue: 0..179
    hsv[..., 1] = 255
    val = np.zeros_like(mag) if top <= 0 else np.clip(mag / top, 0, 1) * 255
    hsv[..., 2] = np.round(val).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
