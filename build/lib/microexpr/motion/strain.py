"""Optical strain magnitude of a flow field (LAENet eq. 4-6).

The infinitesimal strain tensor of the displacement field (u, v) is
``[[u_x, (u_y + v_x)/2], [(u_y + v_x)/2, v_y]]``; its Frobenius norm is
``sqrt(u_x^2 + v_y^2 + 0.5 (u_y + v_x)^2)``. Derivatives are central differences
(``np.gradient``; one-sided at the border) with x along columns and y along rows, in
pixels. A pure translation or rotation has zero strain; stretching and shear do not.
"""

from __future__ import annotations

import numpy as np

from ..errors import PreprocessingError


def _check_flow(flow: np.ndarray) -> np.ndarray:
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise PreprocessingError(f"a flow field must have shape (H, W, 2), got {flow.shape}")
    if min(flow.shape[:2]) < 2:
        raise PreprocessingError(f"a flow field needs at least 2x2 pixels to differentiate, got {flow.shape}")
    return flow


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Per-pixel optical strain magnitude (H, W) float32 of a (H, W, 2) flow (u = x, v = y)."""
    flow = _check_flow(flow).astype(np.float64, copy=False)
    u_y, u_x = np.gradient(flow[..., 0])  # axis 0 = rows = y, axis 1 = columns = x
    v_y, v_x = np.gradient(flow[..., 1])
    return np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2).astype(np.float32)
