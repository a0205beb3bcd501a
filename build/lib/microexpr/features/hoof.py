"""HOOF: histograms of oriented optical flow (Chaudhry et al., CVPR 2009).

Each flow vector votes for the bin of its direction, weighted by its magnitude; each
histogram is normalised to sum 1. The baseline of ATNet Table II/III (N = 4 or 8 bins on
TIM 10/64 clips, polynomial SVM).

Conventions and decisions (the MER papers do not spell them out):

- Input: a flow sequence (n_flows, H, W, 2) per clip, channel 0 = u (x, columns, right
  positive), channel 1 = v (y, rows, down positive), as ``microexpr.motion.flow`` returns.
- Direction: ``theta = atan2(-v, u)``, counter-clockwise from "right" with "up" positive
  (so a brow raise points to +90°).
- ``symmetric=True`` (default, Chaudhry's definition): a vector and its left-right mirror
  share a bin: ``theta' = atan2(-v, |u|)`` in [-90°, 90°] is split into ``n_bins`` equal
  bins from -90° (straight down, bin 0) to +90° (straight up, last bin).
  ``symmetric=False``: the full circle, bin ``b`` centred on ``b * 360° / n_bins`` (bin 0 =
  right, bin n/4 = up, n/2 = left, 3n/4 = down).
- ``magnitude_weighted=True``: each vector votes its magnitude; ``False``: it votes 1.
  Vectors with magnitude <= ``min_magnitude`` have no direction and do not vote (with the
  default 0 that drops exactly-zero vectors only). A histogram with no vote stays all
  zero (instead of dividing by zero).
- ``temporal="per_frame"``: one histogram per flow field, concatenated in time order
  (needs the same number of flow fields in every clip, e.g. TIM clips); ``"pooled"``: the
  votes of all flow fields summed into one histogram per block.
- ``grid``: (rows, cols) spatial blocks, one histogram each (default (1, 1), the whole
  face, as in Chaudhry). Layout: time-major, then block (row-major), then bin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..errors import ConfigError, PreprocessingError
from ._clips import as_clip_list, block_index, check_grid

TEMPORAL = ("per_frame", "pooled")


def flow_direction_bins(flow: np.ndarray, n_bins: int, symmetric: bool) -> np.ndarray:
    """Bin index (int) of every flow vector of ``flow`` (..., 2); see the module docstring."""
    u = flow[..., 0].astype(np.float64)
    v = flow[..., 1].astype(np.float64)
    if symmetric:
        theta = np.arctan2(-v, np.abs(u))  # [-pi/2, pi/2]
        b = np.floor((theta + np.pi / 2) / (np.pi / n_bins)).astype(np.int64)
        return np.clip(b, 0, n_bins - 1)
    theta = np.arctan2(-v, u)
    width = 2 * np.pi / n_bins
    return (np.floor((theta + width / 2) / width).astype(np.int64)) % n_bins


def hoof_histograms(
    flows: np.ndarray,
    *,
    n_bins: int = 8,
    magnitude_weighted: bool = True,
    symmetric: bool = True,
    temporal: str = "per_frame",
    grid: Sequence[int] | int = (1, 1),
    min_magnitude: float = 0.0,
) -> np.ndarray:
    """HOOF feature vector of one flow sequence (n_flows, H, W, 2)."""
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ConfigError(f"HOOF n_bins={n_bins!r} must be a positive integer")
    if temporal not in TEMPORAL:
        raise ConfigError(f"HOOF temporal={temporal!r}; choose one of {', '.join(TEMPORAL)}")
    grid_rc = check_grid(grid)
    flows = np.asarray(flows)
    if flows.ndim == 3 and flows.shape[-1] == 2:
        flows = flows[None]
    if flows.ndim != 4 or flows.shape[-1] != 2 or flows.shape[0] == 0:
        raise PreprocessingError(f"HOOF expects a flow sequence (n_flows, H, W, 2), got shape {flows.shape}")
    n, h, w, _ = flows.shape
    if h < grid_rc[0] or w < grid_rc[1]:
        raise ConfigError(f"flow fields of {h}x{w} are smaller than the {grid_rc[0]}x{grid_rc[1]} grid")
    n_blocks = grid_rc[0] * grid_rc[1]
    bins = flow_direction_bins(flows, int(n_bins), bool(symmetric))
    mag = np.hypot(flows[..., 0].astype(np.float64), flows[..., 1].astype(np.float64))
    votes = (mag if magnitude_weighted else np.ones_like(mag)) * (mag > min_magnitude)
    blocks = block_index((h, w), grid_rc)
    frame = np.arange(n)[:, None, None] if temporal == "per_frame" else np.zeros((1, 1, 1), dtype=np.int64)
    n_frames = n if temporal == "per_frame" else 1
    index = ((frame * n_blocks + blocks[None]) * n_bins + bins).ravel()
    hist = np.bincount(index, weights=votes.ravel(), minlength=n_frames * n_blocks * n_bins)
    hist = hist.reshape(n_frames * n_blocks, n_bins)
    total = hist.sum(axis=1, keepdims=True)
    hist = np.divide(hist, total, out=np.zeros_like(hist), where=total > 0)
    return hist.ravel()


class HOOF(BaseEstimator, TransformerMixin):
    """HOOF as a scikit-learn transformer over flow sequences (list of (n_flows, H, W, 2)).

    Parameters as in :func:`hoof_histograms` (see the module docstring). Stateless.
    """

    def __init__(
        self,
        n_bins: int = 8,
        magnitude_weighted: bool = True,
        symmetric: bool = True,
        temporal: str = "per_frame",
        grid: Sequence[int] | int = (1, 1),
        min_magnitude: float = 0.0,
    ) -> None:
        self.n_bins = n_bins
        self.magnitude_weighted = magnitude_weighted
        self.symmetric = symmetric
        self.temporal = temporal
        self.grid = grid
        self.min_magnitude = min_magnitude

    def fit(self, X: Any, y: Any = None) -> "HOOF":
        """Check the parameters (nothing is learnt)."""
        check_grid(self.grid)
        if self.temporal not in TEMPORAL:
            raise ConfigError(f"HOOF temporal={self.temporal!r}; choose one of {', '.join(TEMPORAL)}")
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return the (n_clips, n_features) HOOF matrix."""
        clips = as_clip_list(X, "HOOF")
        rows = []
        for i, flows in enumerate(clips):
            try:
                rows.append(
                    hoof_histograms(
                        flows,
                        n_bins=self.n_bins,
                        magnitude_weighted=self.magnitude_weighted,
                        symmetric=self.symmetric,
                        temporal=self.temporal,
                        grid=self.grid,
                        min_magnitude=self.min_magnitude,
                    )
                )
            except (ConfigError, PreprocessingError) as exc:
                raise type(exc)(f"HOOF: clip {i}: {exc}") from exc
        sizes = sorted({r.size for r in rows})
        if len(sizes) > 1:
            raise PreprocessingError(
                f"HOOF: clips have different numbers of flow fields (feature sizes {sizes}) with "
                "temporal='per_frame'; resample the clips to one TIM length or use temporal='pooled'"
            )
        return np.stack(rows) if rows else np.zeros((0, 0))
