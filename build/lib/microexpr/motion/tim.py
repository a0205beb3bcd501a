"""Temporal resampling of a frame sequence: TIM and plain linear interpolation.

TIM (temporal interpolation model; Zhou, Zhao & Pietikainen 2011, used for
micro-expressions by Pfister et al. 2011). Formulation implemented here:

1. The T input frames are the nodes of a *path graph* (frame i linked to i+1). Its
   Laplacian ``L = D - A`` has eigenvectors ``y_k`` (k = 1..T-1 after dropping the
   constant one); row i of ``Y = [y_1 .. y_{T-1}]`` embeds frame i on a low-dimensional
   curve. We compute them with ``numpy.linalg.eigh``.
2. The embedding extends to a continuous curve: the k-th eigenvector is the sampled
   function ``y_k(s) = c_k cos(pi k (s + 1/2) / T)`` at s = 0..T-1 (Zhou et al. eq. for
   the path graph), so ``y_k(s)`` is defined for every real position s in [0, T-1].
3. The centred frames ``X - mean`` (one flattened frame per row) are mapped from the
   embedding by ``W = Y^T (X - mean)`` (Y has orthonormal columns orthogonal to the
   constant vector, so this is the exact least-squares solution and reproduces every
   input frame).
4. The N output frames are ``mean + y(s_j) W`` at ``s_j = linspace(0, T-1, N)``.

With all T-1 components TIM is thus the cosine-series (DCT-II) interpolant of each
pixel's time course: smooth, exact at the input frames, and it keeps the first and last
frames. The original used PCA to shrink the pixel dimension first; that does not change
the interpolant when all components are kept, so we skip it.

:func:`linear_resample` is the separately named alternative: piecewise-linear
interpolation between neighbouring frames at the same positions ``s_j``.
"""

from __future__ import annotations

import numpy as np

from ..errors import PreprocessingError


def _check(seq: np.ndarray, n: int) -> np.ndarray:
    seq = np.asarray(seq)
    if seq.ndim < 1 or seq.shape[0] < 1:
        raise PreprocessingError(f"need a sequence of at least one frame, got shape {seq.shape}")
    if int(n) != n or n < 1:
        raise PreprocessingError(f"target length must be a positive integer, got {n!r}")
    return seq


def _restore_dtype(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    if np.issubdtype(like.dtype, np.integer):
        info = np.iinfo(like.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(like.dtype)
    return out.astype(like.dtype if like.dtype in (np.float32, np.float64) else np.float32)


def path_graph_embedding(t: int) -> np.ndarray:
    """(T, T-1) eigenvectors of the path-graph Laplacian, constant one dropped, ascending."""
    lap = np.diag(np.r_[1.0, np.full(max(t - 2, 0), 2.0), 1.0][:t]) if t > 1 else np.zeros((1, 1))
    lap -= np.diag(np.ones(t - 1), 1) + np.diag(np.ones(t - 1), -1)
    _, vecs = np.linalg.eigh(lap)
    return vecs[:, 1:]


def _continuous_basis(t: int, s: np.ndarray) -> np.ndarray:
    """Normalised cos(pi k (s+1/2)/T), k = 1..T-1, at real positions s; shape (len(s), T-1)."""
    k = np.arange(1, t)
    return np.sqrt(2.0 / t) * np.cos(np.pi * np.outer(s + 0.5, k) / t)


def tim_interpolate(seq: np.ndarray, n: int) -> np.ndarray:
    """Resample ``seq`` (T, ...) to ``n`` frames with the temporal interpolation model.

    Integer input (uint8 frames) is rounded and clipped back to its dtype; float input
    keeps float32/float64.
    """
    seq = _check(seq, n)
    t = seq.shape[0]
    if t == 1:
        return np.repeat(seq, n, axis=0)
    x = seq.reshape(t, -1).astype(np.float64)
    mean = x.mean(axis=0)
    y = path_graph_embedding(t)
    # eigh fixes each eigenvector only up to sign (and the path graph's spectrum is simple):
    # align the signs with the analytic continuation so step 2 evaluates the same functions.
    ref = _continuous_basis(t, np.arange(t, dtype=np.float64))
    y = y * np.sign(np.sum(y * ref, axis=0))
    w = y.T @ (x - mean)
    s = np.linspace(0.0, t - 1.0, int(n))
    out = mean + _continuous_basis(t, s) @ w
    return _restore_dtype(out.reshape((int(n),) + seq.shape[1:]), seq)


def linear_resample(seq: np.ndarray, n: int) -> np.ndarray:
    """Resample ``seq`` (T, ...) to ``n`` frames by linear interpolation between neighbours."""
    seq = _check(seq, n)
    t = seq.shape[0]
    s = np.linspace(0.0, t - 1.0, int(n))
    lo = np.floor(s).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    frac = (s - lo).reshape((-1,) + (1,) * (seq.ndim - 1))
    x = seq.astype(np.float64)
    out = x[lo] * (1.0 - frac) + x[hi] * frac
    return _restore_dtype(out, seq)
