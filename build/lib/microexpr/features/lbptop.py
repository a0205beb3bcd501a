"""LBP-TOP: local binary pattern histograms on three orthogonal planes of a clip.

Zhao & Pietikäinen (2007): for every voxel of a (T, H, W) clip, an LBP code on its XY plane
(appearance), its XT plane and its YT plane (motion); one histogram per plane and spatial
block, concatenated. This is the hand-crafted baseline of SMIC/CASME II/MEGC and of ATNet
Table II/III and TLCNN Table 3.

Decisions where the papers are silent (written here so a run says what was done):

- Neighbours lie on an ellipse with the plane's two radii (XY: ``radius_y`` rows,
  ``radius_x`` columns; XT: ``radius_t``, ``radius_x``; YT: ``radius_t``, ``radius_y``) and
  are bilinearly interpolated, as in scikit-image (Zhao's Matlab code rounds to the nearest
  pixel instead). Plane images are laid out (rows, cols) = (y, x), (t, x), (t, y) and coded
  with scikit-image's bit order; see :mod:`microexpr.features.lbp`.
- All three planes use the same centre voxels: those whose neighbourhood lies inside the
  clip (``ceil(R)`` voxels from every border, in t too), as in Zhao's code. A clip needs at
  least ``2 ceil(radius_t) + 1`` frames.
- The block grid splits the whole frame into near-equal blocks; a block's histograms count
  the valid centres inside it. Histograms are L1-normalised per plane and block (``normalize
  ="l1"``) or left as counts (``"none"``).
- Feature layout: for each colour channel (grey: one), for each block in row-major order,
  [XY histogram, XT histogram, YT histogram]. RGB clips (T, H, W, 3) give the three
  channels' features concatenated (TLCNN's "LBP-TOP on RGB").
- ``length``: when set, each clip is first resampled to that many frames with the
  temporal interpolation model (``microexpr.motion.tim``); methods usually load TIM clips
  from the inputs layer instead and leave it ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..errors import ConfigError, PreprocessingError
from ._clips import as_clip_list, block_index, check_grid
from .lbp import MAPPINGS, bin_table, raw_plane_codes

NORMALIZATIONS = ("l1", "none")


def _three(value: Any, name: str) -> tuple[int, int, int]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * 3
    if isinstance(value, Sequence) and len(value) == 3:
        return tuple(int(v) for v in value)  # type: ignore[return-value]
    raise ConfigError(f"{name}={value!r} must be an integer or three integers (XY, XT, YT)")


def lbptop_histograms(
    clip: np.ndarray,
    *,
    radius_x: float = 1.0,
    radius_y: float = 1.0,
    radius_t: float = 1.0,
    n_points: int | Sequence[int] = 8,
    mapping: str = "nri_uniform",
    grid: Sequence[int] | int = (1, 1),
    normalize: str = "l1",
) -> np.ndarray:
    """LBP-TOP feature vector of one grey clip (T, H, W); see the module docstring."""
    if mapping not in MAPPINGS:
        raise ConfigError(f"unknown LBP mapping {mapping!r}; choose one of {', '.join(MAPPINGS)}")
    if normalize not in NORMALIZATIONS:
        raise ConfigError(f"normalize={normalize!r}; choose one of {', '.join(NORMALIZATIONS)}")
    p_xy, p_xt, p_yt = _three(n_points, "n_points")
    grid_rc = check_grid(grid)
    vol = np.asarray(clip)
    if vol.ndim != 3:
        raise PreprocessingError(f"LBP-TOP expects a grey clip (T, H, W), got shape {vol.shape}")
    T, H, W = vol.shape
    bt, by, bx = (int(np.ceil(r)) for r in (radius_t, radius_y, radius_x))
    if T < 2 * bt + 1:
        raise ConfigError(
            f"a clip of {T} frames is too short for radius_t={radius_t}: it needs at least "
            f"{2 * bt + 1} frames; use a longer TIM length or a smaller radius_t"
        )
    if H < 2 * by + grid_rc[0] or W < 2 * bx + grid_rc[1]:
        raise ConfigError(
            f"frames of {H}x{W} pixels are too small for radii (y={radius_y}, x={radius_x}) "
            f"and a {grid_rc[0]}x{grid_rc[1]} block grid; use a larger crop size"
        )
    blocks = block_index((H, W), grid_rc)[by : H - by, bx : W - bx]
    n_blocks = grid_rc[0] * grid_rc[1]
    inner = (slice(bt, T - bt), slice(by, H - by), slice(bx, W - bx))
    planes = (  # (row axis, col axis, P, row radius, col radius)
        (1, 2, p_xy, radius_y, radius_x),
        (0, 2, p_xt, radius_t, radius_x),
        (0, 1, p_yt, radius_t, radius_y),
    )
    hists = []
    for row_axis, col_axis, P, r_row, r_col in planes:
        codes = raw_plane_codes(vol, row_axis, col_axis, P, r_row, r_col, centres=inner)
        lut, n_bins = bin_table(P, mapping)
        flat = (blocks[None, :, :] * n_bins + lut[codes]).ravel()
        counts = np.bincount(flat, minlength=n_blocks * n_bins).reshape(n_blocks, n_bins)
        hists.append(counts.astype(np.float64))
    if any(np.any(h.sum(axis=1) == 0) for h in hists):
        raise ConfigError(
            f"a block of the {grid_rc[0]}x{grid_rc[1]} grid has no valid centre pixel on "
            f"{H}x{W} frames; use fewer blocks or a larger crop size"
        )
    if normalize == "l1":
        hists = [h / h.sum(axis=1, keepdims=True) for h in hists]
    return np.concatenate(hists, axis=1).ravel()


class LBPTOP(BaseEstimator, TransformerMixin):
    """LBP-TOP as a scikit-learn transformer over clips (list of (T,H,W) or (T,H,W,3) arrays).

    Parameters follow the papers' notation {R_X, R_Y, R_T, P}: ``radius_x``, ``radius_y``,
    ``radius_t``; ``n_points`` (one P for all planes or (P_XY, P_XT, P_YT)); ``mapping``
    (``nri_uniform`` = uniform "u2" patterns, ``uniform`` = rotation-invariant uniform,
    ``ror``, ``default``); ``grid`` (rows, cols) of spatial blocks; ``normalize``;
    ``length`` (optional TIM resampling). Stateless: ``fit`` only validates parameters.
    """

    def __init__(
        self,
        radius_x: float = 1.0,
        radius_y: float = 1.0,
        radius_t: float = 1.0,
        n_points: int | Sequence[int] = 8,
        mapping: str = "nri_uniform",
        grid: Sequence[int] | int = (1, 1),
        normalize: str = "l1",
        length: int | None = None,
    ) -> None:
        self.radius_x = radius_x
        self.radius_y = radius_y
        self.radius_t = radius_t
        self.n_points = n_points
        self.mapping = mapping
        self.grid = grid
        self.normalize = normalize
        self.length = length

    def fit(self, X: Any, y: Any = None) -> "LBPTOP":
        """Check the parameters (nothing is learnt)."""
        _three(self.n_points, "n_points")
        check_grid(self.grid)
        if self.mapping not in MAPPINGS:
            raise ConfigError(f"unknown LBP mapping {self.mapping!r}; choose one of {', '.join(MAPPINGS)}")
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return the (n_clips, n_features) LBP-TOP matrix."""
        clips = as_clip_list(X, "LBPTOP")
        rows = []
        for i, clip in enumerate(clips):
            clip = np.asarray(clip)
            if self.length is not None:
                from ..motion.tim import tim_interpolate  # lazy: preprocessing layer

                clip = tim_interpolate(clip, int(self.length))
            if clip.ndim == 4 and clip.shape[-1] == 3:
                channels = [clip[..., c] for c in range(3)]
            elif clip.ndim == 3:
                channels = [clip]
            else:
                raise PreprocessingError(
                    f"LBPTOP: clip {i} has shape {clip.shape}; expected (T, H, W) grey or (T, H, W, 3) RGB"
                )
            try:
                feats = [
                    lbptop_histograms(
                        ch,
                        radius_x=self.radius_x,
                        radius_y=self.radius_y,
                        radius_t=self.radius_t,
                        n_points=self.n_points,
                        mapping=self.mapping,
                        grid=self.grid,
                        normalize=self.normalize,
                    )
                    for ch in channels
                ]
            except (ConfigError, PreprocessingError) as exc:
                raise type(exc)(f"LBPTOP: clip {i}: {exc}") from exc
            rows.append(np.concatenate(feats))
        if rows and len({r.size for r in rows}) > 1:
            raise PreprocessingError("LBPTOP: clips mix grey and RGB; give all clips the same colour mode")
        return np.stack(rows) if rows else np.zeros((0, 0))
