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
    STSTNet flow PNGs are the one place BGR matters: see ``microexpr.inputs.flow_transform``.)
    Image files only (this module imports nothing of :mod:`microexpr.video.source`): a frame
    reference that may also be a video frame ``"<video>#<index>"`` is read with
    :func:`microexpr.video.source.read_frame`, which is what ``microexpr.video.read_frame`` is.
    """
    flag = cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR
    img = cv2.imread(str(path), flag)
    if img is None:
        raise DatasetFormatError(
            f"cannot read image {path}: missing, empty or corrupt; re-extract or replace this frame"
        )
    if not grey:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


_JPEG = frozenset({".jpg", ".jpeg"})


def frame_file_problems(paths: list[str | Path], *, decode: bool = False) -> list[str]:
    """Problems of a clip's frame files, one message per file naming it (empty: all fine).

    Cheap checks, run by every reader on every clip: each file's header is readable
    (Pillow reads the size without decoding), a JPEG ends with its end-of-image marker
    (libjpeg silently fills a truncated file with grey and only prints "Premature end of
    JPEG file" to stderr, with no file name), and every frame of the clip has one size.
    ``decode=True`` (``datasets check``) also decodes every file strictly, so damaged data
    inside a file is found too.
    """
    from PIL import Image

    problems: list[str] = []
    sizes: dict[tuple[int, int], list[str]] = {}
    for p in paths:
        p = str(p)
        try:
            with Image.open(p) as im:
                size = im.size
                if decode:
                    im.load()  # strict: Pillow refuses truncated data unless told otherwise
        except (OSError, ValueError, SyntaxError) as exc:
            problems.append(f"{p}: not a readable image ({exc}); re-extract or replace this frame")
            continue
        if Path(p).suffix.lower() in _JPEG and not _ends_with_eoi(p):
            problems.append(f"{p}: truncated JPEG (no end-of-image marker); re-extract or replace this frame")
            continue
        sizes.setdefault(size, []).append(p)
    if len(sizes) > 1:
        (w, h), _ = max(sizes.items(), key=lambda kv: len(kv[1]))
        for (fw, fh), files in sizes.items():
            if (fw, fh) != (w, h):
                problems += [f"{f}: {fw}x{fh} pixels, but the clip's other frames are {w}x{h}" for f in files]
    return problems


def _ends_with_eoi(path: str) -> bool:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - 64))
        tail = fh.read().rstrip(b"\x00\r\n ")
    return tail.endswith(b"\xff\xd9")
