"""Average direction-magnitude (ADM) sequences, the temporal input of ATNet (§III-A).

Per flow field: split it into a ``grid`` x ``grid`` array of blocks (row-major; block
edges from ``np.array_split`` when the size is not divisible); per block, the mean of the
per-pixel magnitudes ``rho = sqrt(u^2 + v^2)`` and the mean of the per-pixel directions
``theta`` (paper eqs. 5-6: plain arithmetic means). ``theta`` follows
``cv2.cartToPolar``'s convention: radians in [0, 2 pi), 0 = +x (right), pi/2 = +y (down
the image); zero vectors have direction 0.
A field gives ``2 * grid**2`` numbers, interleaved ``(theta_1, rho_1, theta_2, rho_2, ...)``
as in the authors' data files (``interleave=False`` gives all directions then all
magnitudes).

The sequence: 65 frames centred on the apex (``half_window`` = 32 each side) -> 64 flows
between consecutive frames. A flow whose two frames are not both inside onset..offset and
inside the clip is *missing* and gives a zero row. ``layout="left_padded"`` (default,
the authors' data) puts all zero rows first and the real rows after them in temporal
order; ``layout="aligned"`` keeps every row at its temporal position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import PreprocessingError
from .flow import compute_flow
from .strain import _check_flow

LAYOUTS = ("left_padded", "aligned")


def block_direction_magnitude(flow: np.ndarray, *, grid: int = 8, interleave: bool = True) -> np.ndarray:
    """(2 * grid**2,) float32 vector of per-block mean direction and mean magnitude."""
    flow = _check_flow(flow).astype(np.float32, copy=False)
    h, w = flow.shape[:2]
    if grid < 1 or grid > min(h, w):
        raise PreprocessingError(f"ADM grid {grid} does not fit a {h}x{w} flow field")
    u = flow[..., 0].astype(np.float64)
    v = flow[..., 1].astype(np.float64)
    mag = np.hypot(u, v)
    ang = np.mod(np.arctan2(v, u), 2 * np.pi)  # exact; cv2.cartToPolar is only ~0.3 deg accurate
    rows = np.array_split(np.arange(h), grid)
    cols = np.array_split(np.arange(w), grid)
    dirs = np.empty(grid * grid, np.float64)
    mags = np.empty(grid * grid, np.float64)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            sl = (slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1))
            dirs[i * grid + j] = ang[sl].mean(dtype=np.float64)
            mags[i * grid + j] = mag[sl].mean(dtype=np.float64)
    if interleave:
        out = np.empty(2 * grid * grid, np.float64)
        out[0::2], out[1::2] = dirs, mags
    else:
        out = np.concatenate([dirs, mags])
    return out.astype(np.float32)


def adm_sequence(
    flows: Sequence[np.ndarray | None],
    *,
    grid: int = 8,
    length: int = 64,
    interleave: bool = True,
    layout: str = "left_padded",
) -> np.ndarray:
    """(length, 2 * grid**2) float32 ADM matrix from a list of flows (``None`` = missing).

    ``flows`` may be shorter than ``length``: the missing rows are zero rows (placed first
    with ``left_padded``, last with ``aligned``). Longer lists are an error.
    """
    if layout not in LAYOUTS:
        raise PreprocessingError(f"unknown ADM layout {layout!r}; choose one of {LAYOUTS}")
    if len(flows) > length:
        raise PreprocessingError(f"{len(flows)} flow fields do not fit an ADM sequence of length {length}")
    width = 2 * grid * grid
    rows = [None if f is None else block_direction_magnitude(f, grid=grid, interleave=interleave) for f in flows]
    out = np.zeros((length, width), np.float32)
    if layout == "aligned":
        for t, r in enumerate(rows):
            if r is not None:
                out[t] = r
    else:
        real = [r for r in rows if r is not None]
        if real:
            out[length - len(real):] = np.stack(real)
    return out


def adm_window(n_frames: int, onset: int, apex: int, offset: int, *, half_window: int = 32) -> list[tuple[int, int] | None]:
    """The 2*half_window frame pairs around ``apex``; ``None`` where a pair is missing.

    Pair t joins frames ``apex - half_window + t`` and ``+ t + 1``; it is present only if
    both frames lie in ``max(onset, 0) .. min(offset, n_frames - 1)``.
    """
    if not (0 <= onset <= apex <= offset < n_frames):
        raise PreprocessingError(
            f"need 0 <= onset ({onset}) <= apex ({apex}) <= offset ({offset}) < n_frames ({n_frames})"
        )
    pairs: list[tuple[int, int] | None] = []
    for t in range(2 * half_window):
        a = apex - half_window + t
        b = a + 1
        pairs.append((a, b) if onset <= a and b <= offset else None)
    return pairs


def adm_from_frames(
    frames: Sequence[np.ndarray] | Callable[[int], np.ndarray],
    onset: int,
    apex: int,
    offset: int,
    *,
    n_frames: int | None = None,
    half_window: int = 32,
    grid: int = 8,
    flow_method: str = "farneback",
    flow_preset: str = "default",
    interleave: bool = True,
    layout: str = "left_padded",
) -> np.ndarray:
    """ADM matrix of a clip from its uint8 grey frames (already face-cropped and resized).

    ``frames`` is the clip's frame list, or a function ``i -> frame`` (then ``n_frames`` is
    required) called with ascending indices, each at most once, so a caller can stream.
    """
    if callable(frames):
        if n_frames is None:
            raise PreprocessingError("adm_from_frames needs n_frames when frames is a function")
        get_frame = frames
    else:
        n_frames = len(frames) if n_frames is None else n_frames
        get_frame = frames.__getitem__
    pairs = adm_window(n_frames, onset, apex, offset, half_window=half_window)
    flows: list[np.ndarray | None] = []
    last: tuple[int, np.ndarray] | None = None  # the previous pair's second frame
    for pair in pairs:
        if pair is None:
            flows.append(None)
            continue
        a, b = pair
        fa = last[1] if last is not None and last[0] == a else get_frame(a)
        fb = get_frame(b)
        last = (b, fb)
        flows.append(compute_flow(fa, fb, flow_method, flow_preset))
    return adm_sequence(flows, grid=grid, length=2 * half_window, interleave=interleave, layout=layout)
