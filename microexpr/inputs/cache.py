"""The on-disk cache of input arrays: content keys, atomic writes, tolerant reads.

Key = SHA-256 of a canonical JSON of everything the array depends on: representation
name and code version, the versions of the steps it uses, the fully resolved parameters,
and the clip's fingerprint (key, annotations, frame-file stats). Files are ``.npy``
written with :func:`microexpr.io_utils.atomic_save_npy` (temporary file + rename), so a
killed run leaves either a complete file or none; the hidden ``.*.tmp`` leftovers of a
killed writer are never read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..io_utils import atomic_save_npy

log = logging.getLogger(__name__)


def cache_key(material: Any) -> str:
    """Hex digest (32 chars) of the canonical JSON of ``material``."""
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def load_cached(path: Path) -> np.ndarray | None:
    """The array at ``path``, or None if there is none."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # Cannot happen with atomic writes; if the file system lost data, say so and recompute.
        log.warning("unreadable cache file %s (%s): deleting it and recomputing", path, exc)
        path.unlink(missing_ok=True)
        return None


def save_cached(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically."""
    atomic_save_npy(path, np.ascontiguousarray(array))
