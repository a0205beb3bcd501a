"""MDMO: main directional mean optical flow over 36 facial ROIs (Liu et al., 2016).

Per ROI, the flow vectors are split into 8 direction bins; the bin holding the most vectors
is the ROI's main direction and the mean of its vectors represents the ROI. Magnitudes are
normalised by the largest ROI magnitude, and (TLCNN's wording of MDMO) magnitude and angle
are weighted by ``lam`` and ``1 - lam``:
``phi = (lam*rho_1 .. lam*rho_36, (1-lam)*theta_1 .. (1-lam)*theta_36)`` (72 values).

Decisions where the papers are silent:

- Input per clip: a pair ``(flows, landmarks)``: flows (n_flows, H, W, 2) (u right, v down)
  and 68 (x, y) landmarks in the flow's pixel coordinates; ROIs: :mod:`.mdmo_rois`.
- MDMO's flows run from the first frame to each frame. Given consecutive flows, set
  ``accumulate=True`` to sum them (flow 1->i approximated by the running sum, ignoring
  that later flows are sampled at moved positions); the method ``mdmo_svm`` does so.
- Direction ``theta = atan2(-v, u)`` (up positive), in (-180°, 180°], in radians; 8
  bins centred on 0°, 45°, ... (bin 0 = right, 2 = up, 4 = left, 6 = down). Ties for the
  main bin go to the lower bin index. Vectors with magnitude <= ``min_magnitude`` have no
  direction and are ignored; an ROI without any is a zero vector for that frame.
- ``pooling="per_frame"`` (Liu): main direction and mean vector per frame, then the mean
  of the per-frame vectors (averaged as vectors, so angles do not wrap); ``"clip"``
  (TLCNN's wording): one main bin per ROI over the vectors of all frames.
- ``normalize_magnitude=True``: divide every rho by the largest rho of the clip (Liu).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..errors import ConfigError, PreprocessingError
from ._clips import as_clip_list
from .hoof import flow_direction_bins
from .mdmo_rois import N_ROIS, roi_masks

POOLING = ("per_frame", "clip")


def roi_main_direction_vectors(
    flows: np.ndarray,
    masks: np.ndarray,
    *,
    n_bins: int = 8,
    pooling: str = "per_frame",
    min_magnitude: float = 0.0,
) -> np.ndarray:
    """(n_rois, 2) main-direction mean flow vector (u, v) of every ROI mask."""
    out = np.zeros((masks.shape[0], 2))
    for k, mask in enumerate(masks):
        vec = flows[:, mask, :].astype(np.float64)  # (n, n_k, 2)
        bins = flow_direction_bins(vec, n_bins, symmetric=False)
        valid = np.hypot(vec[..., 0], vec[..., 1]) > min_magnitude
        if pooling == "clip":
            vec, bins, valid = vec.reshape(1, -1, 2), bins.reshape(1, -1), valid.reshape(1, -1)
        m = vec.shape[0]
        index = (np.arange(m)[:, None] * n_bins + bins).ravel()
        counts = np.bincount(index, weights=valid.ravel(), minlength=m * n_bins).reshape(m, n_bins)
        main = np.argmax(counts, axis=1)
        sel = valid & (bins == main[:, None])
        n_sel = sel.sum(axis=1, keepdims=True)
        means = np.divide((vec * sel[..., None]).sum(axis=1), n_sel, out=np.zeros((m, 2)), where=n_sel > 0)
        out[k] = means.mean(axis=0)
    return out


def mdmo_vector(
    flows: np.ndarray,
    landmarks: np.ndarray,
    *,
    lam: float = 0.5,
    n_bins: int = 8,
    pooling: str = "per_frame",
    accumulate: bool = False,
    normalize_magnitude: bool = True,
    min_magnitude: float = 0.0,
) -> np.ndarray:
    """The 72-value MDMO feature of one clip (see the module docstring)."""
    if not 0.0 <= float(lam) <= 1.0:
        raise ConfigError(f"MDMO lam={lam!r} must lie in [0, 1] (TLCNN's best: 0.77)")
    if pooling not in POOLING:
        raise ConfigError(f"MDMO pooling={pooling!r}; choose one of {', '.join(POOLING)}")
    flows = np.asarray(flows)
    if flows.ndim == 3 and flows.shape[-1] == 2:
        flows = flows[None]
    if flows.ndim != 4 or flows.shape[-1] != 2 or flows.shape[0] == 0:
        raise PreprocessingError(f"MDMO expects a flow sequence (n_flows, H, W, 2), got shape {flows.shape}")
    if accumulate:
        flows = np.cumsum(flows.astype(np.float64), axis=0)
    masks = roi_masks(landmarks, flows.shape[1:3])
    vecs = roi_main_direction_vectors(flows, masks, n_bins=n_bins, pooling=pooling, min_magnitude=min_magnitude)
    rho = np.hypot(vecs[:, 0], vecs[:, 1])
    theta = np.arctan2(-vecs[:, 1], vecs[:, 0])
    if normalize_magnitude and rho.max() > 0:
        rho = rho / rho.max()
    return np.concatenate([lam * rho, (1 - lam) * theta])


class MDMO(BaseEstimator, TransformerMixin):
    """MDMO as a scikit-learn transformer over ``(flows, landmarks)`` pairs, one per clip.

    ``lam`` is TLCNN's λ (0.77 there), default 0.5 (equal weight). Stateless.
    """

    def __init__(
        self,
        lam: float = 0.5,
        n_bins: int = 8,
        pooling: str = "per_frame",
        accumulate: bool = False,
        normalize_magnitude: bool = True,
        min_magnitude: float = 0.0,
    ) -> None:
        self.lam = lam
        self.n_bins = n_bins
        self.pooling = pooling
        self.accumulate = accumulate
        self.normalize_magnitude = normalize_magnitude
        self.min_magnitude = min_magnitude

    def fit(self, X: Any, y: Any = None) -> "MDMO":
        """Check the parameters (nothing is learnt)."""
        if self.pooling not in POOLING:
            raise ConfigError(f"MDMO pooling={self.pooling!r}; choose one of {', '.join(POOLING)}")
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return the (n_clips, 72) MDMO matrix."""
        pairs = as_clip_list(X, "MDMO")
        rows = []
        for i, pair in enumerate(pairs):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise PreprocessingError(f"MDMO: clip {i} must be a (flows, landmarks) pair")
            try:
                rows.append(
                    mdmo_vector(
                        pair[0],
                        pair[1],
                        lam=self.lam,
                        n_bins=self.n_bins,
                        pooling=self.pooling,
                        accumulate=self.accumulate,
                        normalize_magnitude=self.normalize_magnitude,
                        min_magnitude=self.min_magnitude,
                    )
                )
            except (ConfigError, PreprocessingError) as exc:
                raise type(exc)(f"MDMO: clip {i}: {exc}") from exc
        return np.stack(rows) if rows else np.zeros((0, 2 * N_ROIS))
