"""Listing and reading frame files.

Frame file names sort *naturally* (``img2`` before ``img10``): every reader and every
preprocessing step lists frames with :func:`list_frames` so positions mean the same thing
everywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from ..errors import DatasetFormatError

FRAME_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
_NUM = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key splitting digit runs into integers: ``img2`` < ``img10``."""
    return tuple(int(t) if t.isdigit() else t.lower() for t in _NUM.split(str(name)))


def list_frames(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder`` in natural order (hidden and other files ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetFormatError(f"frame folder {folder} does not exist or is not a folder")
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in FRAME_EXTENSIONS
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_frame(path: str | Path, *, grey: bool = False) -> np.ndarray:
    """Read one frame as uint8 RGB (H, W, 3) or greyscale (H, W); raise naming the file.

    OpenCV returns BGR; we convert to RGB so every array in microexpr is RGB. (The published
    STSTNet flow PNGs are the one place BGR matters: see ``microexpr.sources.flow_png``.)
    ``path`` may also be a video frame reference ``"<video>#<index>"`` (decoded up to that
    frame; to read many frames of one video use :func:`microexpr.video.source.read_frames`).
    """
    from .source import read_frames, split_ref  # late import: source.py imports this module

    if split_ref(str(path))[1] is not None:  # "<video>#<index>" reference (see video.source)
        return read_frames([str(path)], [0], grey=grey)[0]
    flag = cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR
    img = cv2.imread(str(path), flag)
    if img is None:
        raise DatasetFormatError(
            f"cannot read image {path}: missing, empty or corrupt; re-extract or replace this frame"
        )
    if not grey:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img
