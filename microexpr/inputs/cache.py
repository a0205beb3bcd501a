"""The on-disk cache of input arrays: content keys, atomic writes, tolerant reads.

Key = SHA-256 of a canonical JSON of everything the array depends on: representation
name and code version, the versions of the steps it uses, the fully resolved parameters,
and the clip's fingerprint (key, annotations, frame-file stats). Files are ``.npy``
written with :func:`microexpr.io_utils.atomic_save_npy` (temporary file + rename), so a
killed run leaves either a complete file or none; the hidden ``.*.tmp`` leftovers of a
killed writer are never read.

Reads trust nothing: each ``.npy`` has a ``.sha256`` beside it (dtype, shape and bytes),
and a caller passes the dtype and shape its representation must have. A file that fails
either check (replaced, truncated by a broken disk, or from a copy without checksums) is
named in a warning, deleted and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..io_utils import atomic_save_npy, atomic_write_text

log = logging.getLogger(__name__)


def cache_key(material: Any) -> str:
    """Hex digest (32 chars) of the canonical JSON of ``material``."""
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def array_digest(array: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes."""
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def load_cached(path: Path, expect: tuple[Any, tuple[int, ...]] | None = None) -> np.ndarray | None:
    """The array at ``path``, or None if there is none or it fails a check (then it is deleted).

    ``expect`` is ``(dtype, shape)`` the array must have; its checksum must match too.
    """
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        return _discard(path, f"is unreadable ({exc})")
    if expect is not None and (arr.dtype != np.dtype(expect[0]) or arr.shape != tuple(expect[1])):
        return _discard(path, f"holds {arr.dtype} {arr.shape} where {np.dtype(expect[0])} {tuple(expect[1])} is expected")
    try:
        stored = path.with_suffix(".sha256").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        stored = None
    if stored != array_digest(arr):
        return _discard(path, "does not match its checksum" if stored else "has no checksum beside it")
    return arr


def _discard(path: Path, why: str) -> None:
    log.warning("cache file %s %s: deleting it and recomputing", path, why)
    path.unlink(missing_ok=True)
    path.with_suffix(".sha256").unlink(missing_ok=True)
    return None


def save_cached(path: Path, array: np.ndarray) -> None:
    """Write ``array``'s checksum beside ``path``, then the array atomically: a file that has its
    final name always has its checksum (a writer killed in between leaves only the checksum)."""
    arr = np.ascontiguousarray(array)
    atomic_write_text(path.with_suffix(".sha256"), array_digest(arr))
    atomic_save_npy(path, arr)
