"""Shared checks for descriptor inputs: lists of per-clip arrays (ragged lengths allowed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, PreprocessingError


def as_clip_list(X: Any, what: str) -> list[Any]:
    """Return ``X`` as a list of clips: a list/tuple as is, an ndarray split along axis 0."""
    if isinstance(X, np.ndarray):
        if X.dtype == object:
            return list(X)
        return [X[i] for i in range(X.shape[0])]
    if isinstance(X, (list, tuple)):
        return list(X)
    raise PreprocessingError(
        f"{what} expects a list of per-clip arrays (or one stacked array), got {type(X).__name__}"
    )


def check_grid(grid: Any, name: str = "grid") -> tuple[int, int]:
    """Validate a (rows, cols) block grid."""
    if isinstance(grid, (int, np.integer)):
        grid = (int(grid), int(grid))
    if (
        not isinstance(grid, Sequence)
        or len(grid) != 2
        or not all(isinstance(g, (int, np.integer)) and g >= 1 for g in grid)
    ):
        raise ConfigError(f"{name}={grid!r} must be a pair of positive integers (rows, cols), e.g. [5, 5]")
    return int(grid[0]), int(grid[1])


def block_edges(n: int, n_blocks: int) -> np.ndarray:
    """Edges of ``n_blocks`` near-equal blocks over ``n`` pixels (block i = [e[i], e[i+1]))."""
    return np.round(np.linspace(0, n, n_blocks + 1)).astype(int)


def block_index(shape: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """(H, W) int array: the row-major block number of every pixel."""
    h, w = shape
    rows = np.searchsorted(block_edges(h, grid[0]), np.arange(h), side="right") - 1
    cols = np.searchsorted(block_edges(w, grid[1]), np.arange(w), side="right") - 1
    return rows[:, None] * grid[1] + cols[None, :]
