"""Pre-computed feature files: a NumPy ``.npz`` with ``X`` (n, d) and ``keys`` (n,).

Lets users evaluate descriptors they computed elsewhere under any protocol: the rows of
``X`` are matched to ClipTable keys (``casme2/sub01/EP02_01f``) by the ``keys`` array, so
the file's row order does not matter and may hold more clips than a run uses. Keys match
by clip identity (:mod:`microexpr.identity`), so the official MEGC 2019 spellings
(``smic/s01/s01_ne_01``, ``samm/6/006_1_2``) find the readers' clips (``smic/s01/s1_ne_01``,
``samm/006/006_1_2``); two keys of one file naming the same clip are an error.

Write one with ``np.savez(path, X=X, keys=np.array(keys, dtype=str))`` (keys as a string
array: object arrays would need pickle, which is refused for safety).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import DatasetFormatError
from ..identity import ClipId, key_identity

__all__ = ["load_feature_file", "save_feature_file"]

MAX_FEATURE_VALUE = 1e150
"""Largest magnitude accepted: beyond it squares (variances, distances, kernels) overflow float64."""


def load_feature_file(path: str | os.PathLike[str], keys: Sequence[str], *, strict: bool = False) -> np.ndarray:
    """Rows of ``X`` for ``keys``, in that order, as float64 of shape (len(keys), d).

    Raises :class:`DatasetFormatError` naming the file when it is missing or malformed
    (no ``X``/``keys``, wrong shapes, duplicate or non-finite entries) and naming the
    clip keys the file lacks. Extra keys in the file are fine (a fold asks for a subset),
    unless ``strict``: then the file must hold exactly ``keys`` and extra ones are named.
    """
    p = Path(path)
    X, index = _read(str(p.resolve()) if p.exists() else str(p))
    wanted = [str(k) for k in keys]
    ids = [key_identity(k) for k in wanted]
    missing = [k for k, i in zip(wanted, ids) if i not in index]
    if missing:
        raise DatasetFormatError(
            f"feature file {p}: {len(missing)} clip key(s) missing, e.g. {missing[:5]}; "
            f"it holds {len(index)} keys such as {list(index.values())[:3]}: recompute the features for these clips"
        )
    if strict:
        extra = sorted(index[i][1] for i in set(index) - set(ids))
        if extra:
            raise DatasetFormatError(
                f"feature file {p}: {len(extra)} key(s) not in the clip table, e.g. {extra[:5]}; "
                "remove them or check that the file belongs to this dataset"
            )
    rows = np.fromiter((index[i][0] for i in ids), dtype=np.int64, count=len(ids))
    return X[rows]


def save_feature_file(path: str | os.PathLike[str], X: np.ndarray, keys: Sequence[str]) -> Path:
    """Write a feature file atomically (``X`` as float, ``keys`` as a string array)."""
    from ..io_utils import atomic_save_npz

    X = np.asarray(X, dtype=float)
    k = np.asarray([str(x) for x in keys], dtype=str)
    if X.ndim != 2 or X.shape[0] != len(k):
        raise DatasetFormatError(f"feature file {path}: X must be (n, d) with n = len(keys) = {len(k)}, got {X.shape}")
    return atomic_save_npz(path, X=X, keys=k)


def _read(path: str) -> tuple[np.ndarray, dict[ClipId, tuple[int, str]]]:
    # Cached per (path, modification time): a run reads the same file once per fold, and a
    # rewritten file is never served stale.
    return _read_stamped(path, _mtime(path))


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return -1.0


@lru_cache(maxsize=8)
def _read_stamped(path: str, mtime: float) -> tuple[np.ndarray, dict[ClipId, tuple[int, str]]]:
    p = Path(path)
    if mtime < 0 or not p.is_file():
        raise DatasetFormatError(f"feature file {p} not found; give the path of an .npz holding X and keys")
    if p.stat().st_size == 0:
        raise DatasetFormatError(f"feature file {p} is empty (0 bytes); write it again with "
                                 "np.savez(path, X=X, keys=np.array(keys, dtype=str))")
    try:
        z = np.load(p, allow_pickle=False)
    except Exception as exc:  # not an .npz/.npy, truncated, or object arrays (which would need pickle)
        raise DatasetFormatError(
            f"feature file {p} is not a readable NumPy .npz of plain arrays ({type(exc).__name__}); save it with "
            "np.savez(path, X=X, keys=np.array(keys, dtype=str)) (save keys as a string array, not objects)"
        ) from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DatasetFormatError(f"feature file {p} holds a single array (.npy); save X and keys together: "
                                 "np.savez(path, X=X, keys=np.array(keys, dtype=str))")
    try:
        with z:
            names = set(z.files)
            absent = [n for n in ("X", "keys") if n not in names]
            if absent:
                raise DatasetFormatError(
                    f"feature file {p} lacks array(s) {absent}; it has {sorted(names)} (need X (n, d) and keys (n,))"
                )
            X = np.asarray(z["X"])
            keys = np.asarray(z["keys"])
    except DatasetFormatError:
        raise
    except Exception as exc:  # object arrays (pickle refused) or a damaged member
        raise DatasetFormatError(
            f"feature file {p}: X and keys must be plain arrays ({type(exc).__name__}); save keys as a string array: "
            "np.savez(path, X=X, keys=np.array(keys, dtype=str))"
        ) from None
    if X.ndim != 2:
        raise DatasetFormatError(f"feature file {p}: X must be 2-D (n_clips, n_features), got shape {X.shape}")
    if keys.ndim != 1 or keys.shape[0] != X.shape[0]:
        raise DatasetFormatError(
            f"feature file {p}: keys must be 1-D with one entry per row of X ({X.shape[0]}), got shape {keys.shape}"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise DatasetFormatError(f"feature file {p}: X must be numeric, got dtype {X.dtype}")
    if X.shape[1] == 0:
        raise DatasetFormatError(f"feature file {p}: X has no columns (shape {X.shape}); there is nothing to classify")
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        bad = np.where(~np.all(np.isfinite(X), axis=1))[0]
        raise DatasetFormatError(f"feature file {p}: non-finite values in the rows of {[str(keys[i]) for i in bad[:5]]}")
    huge = np.where(np.abs(X).max(axis=1) > MAX_FEATURE_VALUE)[0]
    if len(huge):
        raise DatasetFormatError(
            f"feature file {p}: values beyond {MAX_FEATURE_VALUE:g} in the rows of {[str(keys[i]) for i in huge[:5]]} "
            "(their squares overflow, so no classifier can use them); rescale the features")
    str_keys = [k.decode() if isinstance(k, bytes) else str(k) for k in keys.tolist()]
    index: dict[ClipId, tuple[int, str]] = {}
    dups = []
    for i, k in enumerate(str_keys):
        ident = key_identity(k)
        if ident in index:
            dups.append(k if index[ident][1] == k else f"{index[ident][1]} = {k}")
        index[ident] = (i, k)
    if dups:
        raise DatasetFormatError(f"feature file {p}: duplicate keys {dups[:5]}; each clip must appear once (zero padding "
                                 "and the s/sub tokens do not change a clip's identity)")
    X.setflags(write=False)
    return X, index
