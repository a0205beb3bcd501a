"""Vectorised local binary patterns on stacks of 2-D planes (the building block of LBP-TOP).

``plane_codes`` computes, for every pixel of every plane of a volume, the LBP code that
:func:`skimage.feature.local_binary_pattern` would give on that plane: the same neighbour
positions (``-R_row sin(2πp/P)``, ``R_col cos(2πp/P)`` rounded to 5 decimals), the same
bilinear interpolation with zeros outside the image, the same ``neighbour - centre >= 0``
threshold, and the same code numbering for the mappings ``default``, ``ror``, ``uniform``
(rotation-invariant uniform, ``P + 2`` codes) and ``nri_uniform`` (uniform "u2", ``P(P-1) + 3``
codes, the mapping of Zhao & Pietikäinen's LBP-TOP code). The tests check the XY planes
against scikit-image frame by frame.

Why not call scikit-image per plane: LBP-TOP needs the XT and YT planes too (one 2-D image
per row and per column of the volume), i.e. thousands of small calls per clip. Here the loop
runs over the ``P`` neighbours only; every pixel is handled by NumPy at once.
Unlike scikit-image, the two radii of a plane may differ (elliptical neighbourhoods, e.g.
``R_X = 1, R_T = 4`` on the XT plane); with equal radii the result is scikit-image's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import ConfigError

MAPPINGS: tuple[str, ...] = ("default", "ror", "uniform", "nri_uniform")
MAX_POINTS = 16  # mapping tables have 2**P entries


def n_codes(n_points: int, mapping: str) -> int:
    """Number of distinct codes (histogram bins) of a mapping."""
    _check(n_points, mapping)
    if mapping == "default":
        return 2**n_points
    if mapping == "ror":
        return 2**n_points  # codes are the minimal rotation (sparse in 0..2**P-1)
    if mapping == "uniform":
        return n_points + 2
    return n_points * (n_points - 1) + 3


def _check(n_points: int, mapping: str) -> None:
    if mapping not in MAPPINGS:
        raise ConfigError(f"unknown LBP mapping {mapping!r}; choose one of {', '.join(MAPPINGS)}")
    if not isinstance(n_points, (int, np.integer)) or not 1 <= n_points <= MAX_POINTS:
        raise ConfigError(f"LBP neighbour count P={n_points!r} must be an integer in 1..{MAX_POINTS}")


@lru_cache(maxsize=64)
def mapping_table(n_points: int, mapping: str) -> np.ndarray:
    """Lookup table raw code (bit p = neighbour p >= centre) -> mapped code.

    Follows scikit-image's definitions exactly, including its numbering of the
    non-rotation-invariant uniform patterns (by number of ones, then rotation index).
    """
    _check(n_points, mapping)
    P = int(n_points)
    raw = np.arange(2**P)
    if mapping == "default":
        return raw.astype(np.int32)
    bits = (raw[:, None] >> np.arange(P)[None, :]) & 1  # (2**P, P), bit p = neighbour p
    if mapping == "ror":
        mask = 2**P - 1
        rots = [((raw >> k) | (raw << (P - k))) & mask for k in range(P)]
        return np.min(np.stack(rots), axis=0).astype(np.int32)
    changes = np.sum(bits[:, :-1] != bits[:, 1:], axis=1)  # scikit-image counts P-1 changes
    n_ones = bits.sum(axis=1)
    uniform = changes <= 2
    if mapping == "uniform":
        return np.where(uniform, n_ones, P + 1).astype(np.int32)
    # nri_uniform
    first_one = np.where(bits.any(axis=1), np.argmax(bits == 1, axis=1), -1)
    first_zero = np.where((bits == 0).any(axis=1), np.argmax(bits == 0, axis=1), -1)
    rot = np.where(first_one == 0, n_ones - first_zero, P - first_one)
    code = 1 + (n_ones - 1) * P + rot
    code = np.where(n_ones == 0, 0, code)
    code = np.where(n_ones == P, P * (P - 1) + 1, code)
    return np.where(uniform, code, P * (P - 1) + 2).astype(np.int32)


def neighbour_offsets(n_points: int, r_row: float, r_col: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of the ``P`` circle neighbours (scikit-image's convention)."""
    angles = 2 * np.pi * np.arange(n_points, dtype=np.float64) / n_points
    return np.round(-r_row * np.sin(angles), 5), np.round(r_col * np.cos(angles), 5)


def raw_plane_codes(
    volume: np.ndarray,
    row_axis: int,
    col_axis: int,
    n_points: int,
    r_row: float,
    r_col: float,
    centres: tuple[slice, ...] | None = None,
) -> np.ndarray:
    """Raw LBP code (bit ``p`` set when neighbour ``p`` >= centre) of voxels of ``volume``.

    The planes are spanned by ``row_axis`` and ``col_axis`` of ``volume`` (any N-d
    array, converted to float64); the remaining axes index the planes. Without
    ``centres`` every voxel is coded and neighbours outside the plane read 0, as in
    scikit-image; the result is shaped like ``volume``. With ``centres`` (one slice with
    explicit start/stop per axis) only those voxels are coded, and their neighbourhoods
    must lie inside the volume (what LBP-TOP histograms use: no padding, less work).
    """
    _check(n_points, "default")
    if not (r_row > 0 and r_col > 0):
        raise ConfigError(f"LBP radii must be positive, got ({r_row}, {r_col})")
    vol = np.asarray(volume, dtype=np.float64)
    br, bc = int(np.ceil(r_row)), int(np.ceil(r_col))
    if centres is None:
        pad = [(0, 0)] * vol.ndim
        pad[row_axis], pad[col_axis] = (br + 1, br + 1), (bc + 1, bc + 1)
        source = np.pad(vol, pad)
        region = [slice(0, n) for n in vol.shape]
        origin = [0] * vol.ndim
        origin[row_axis], origin[col_axis] = br + 1, bc + 1
    else:
        source = vol
        region = list(centres)
        origin = [0] * vol.ndim
        for axis, b in ((row_axis, br), (col_axis, bc)):
            if region[axis].start < b or region[axis].stop > vol.shape[axis] - b:
                raise ConfigError(f"LBP centres {region[axis]} on axis {axis} need {b} voxels of margin")
    index = [slice(origin[a] + region[a].start, origin[a] + region[a].stop) for a in range(vol.ndim)]
    centre = source[tuple(index)]

    def shifted(dr: int, dc: int) -> np.ndarray:
        idx = list(index)
        idx[row_axis] = slice(index[row_axis].start + dr, index[row_axis].stop + dr)
        idx[col_axis] = slice(index[col_axis].start + dc, index[col_axis].stop + dc)
        return source[tuple(idx)]

    rp, cp = neighbour_offsets(n_points, r_row, r_col)
    # scikit-image interpolates at the absolute position (index + offset), so the weights
    # carry that sum's rounding; reproduce it per row/column to be bit-identical at ties.
    shape_r = [-1 if a == row_axis else 1 for a in range(vol.ndim)]
    shape_c = [-1 if a == col_axis else 1 for a in range(vol.ndim)]
    rows = np.arange(region[row_axis].start, region[row_axis].stop, dtype=np.float64).reshape(shape_r)
    cols = np.arange(region[col_axis].start, region[col_axis].stop, dtype=np.float64).reshape(shape_c)
    raw = np.zeros(centre.shape, dtype=np.int32)
    for p in range(n_points):
        # offsets are rounded to 5 decimals: floor/ceil of index + offset = index + floor/ceil(offset)
        minr, maxr = int(np.floor(rp[p])), int(np.ceil(rp[p]))
        minc, maxc = int(np.floor(cp[p])), int(np.ceil(cp[p]))
        if minr == maxr and minc == maxc:
            texture = shifted(minr, minc)  # on the grid: scikit-image's weights give the pixel exactly
        else:
            dr = (rows + rp[p]) - (rows + minr)
            dc = (cols + cp[p]) - (cols + minc)
            # Same operation order as scikit-image's bilinear_interpolation (bit-identical).
            top = (1 - dc) * shifted(minr, minc) + dc * shifted(minr, maxc)
            bottom = (1 - dc) * shifted(maxr, minc) + dc * shifted(maxr, maxc)
            texture = (1 - dr) * top + dr * bottom
        raw |= ((texture - centre) >= 0).astype(np.int32) << p
    return raw


def plane_codes(
    volume: np.ndarray,
    row_axis: int,
    col_axis: int,
    n_points: int,
    r_row: float,
    r_col: float,
    mapping: str = "default",
) -> np.ndarray:
    """Mapped LBP codes, numbered as scikit-image numbers them (see :func:`mapping_table`)."""
    _check(n_points, mapping)
    raw = raw_plane_codes(volume, row_axis, col_axis, n_points, r_row, r_col)
    if mapping == "default":
        return raw
    return mapping_table(n_points, mapping)[raw]


@lru_cache(maxsize=64)
def bin_table(n_points: int, mapping: str) -> tuple[np.ndarray, int]:
    """Lookup table raw code -> histogram bin (dense 0..n_bins-1), and ``n_bins``.

    Equal to :func:`mapping_table` except for ``ror``, whose codes (minimal rotations)
    are sparse and are renumbered densely in increasing order.
    """
    table = mapping_table(n_points, mapping)
    if mapping == "ror":
        values, inverse = np.unique(table, return_inverse=True)
        return inverse.astype(np.int32), int(values.size)
    return table, n_codes(n_points, mapping)
