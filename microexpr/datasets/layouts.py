"""Writers of the *native* on-disk layouts of the corpora (frames + sheets + quirks).

Used by the synthetic corpus generator (``microexpr synth``/``demo``) and by the tests'
fake-data writers, so the readers are exercised on exactly the layout a licensed copy has.

Contract (shared with ``microexpr.synth``):

``write_layout(dataset, root, clips, *, variant=None) -> Path`` writes ``clips`` (a list of
:class:`ClipSpec`) under ``root`` in the native layout of ``dataset`` and returns the
folder to pass to the reader as its ``root``.

Each corpus's writer sits beside its reader (``write_fake_layout`` in ``casme2.py``,
``samm.py``, ``smic.py``, ``ckplus.py``, ``casme.py``, ``casme_sq.py``; its docstring says what
it writes) and spells the official file and column names itself, independently of the reader.
This module holds what they share: :class:`ClipSpec`, frame/sheet writing, the dispatcher.

Every layout also gets ``landmarks68.npy`` (n_frames, 68, 2) in the clip's frame folder
when ``ClipSpec.landmarks`` is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from ..errors import DatasetFormatError

JPEG_QUALITY = 95



@dataclass
class ClipSpec:
    """One clip to write in a native layout.

    ``subject`` is the native folder id (``sub01``, ``006``, ``s1``, ``S005``); ``clip`` the
    native clip name (``EP02_01f``, ``006_1_2``, ``s1_ne_01``, ``001``). ``frames`` are uint8
    arrays (H, W) or (H, W, 3) RGB. ``first_frame_number`` is the number in the first frame
    file name; ``onset``/``apex``/``offset`` are *frame numbers* as a sheet writes them
    (``apex=None`` is written as ``/`` where the dataset does so). ``emotion`` is the native
    label (CK+: the integer code 0..7, or ``None`` for an unlabelled sequence; SMIC: the
    folder name). ``landmarks`` (n_frames, 68, 2) is written as ``landmarks68.npy`` in the
    clip folder when given. ``extra`` holds any other native sheet column by its header.
    ``frame_digits`` overrides the zero padding of frame numbers in file names (SAMM: 5 by
    default, some real clips use 4).
    """

    subject: str
    clip: str
    frames: Sequence[np.ndarray]
    first_frame_number: int = 1
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    emotion: Any = None
    aus: str = ""
    objective_class: int | None = None
    landmarks: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    frame_digits: int | None = None


def write_image(path: Path, image: np.ndarray) -> None:
    """Write an RGB or grey uint8 image with OpenCV (high JPEG quality); raise on failure."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise DatasetFormatError(f"frame for {path} must be uint8, got {arr.dtype}")
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.suffix.lower() in {".jpg", ".jpeg"} else []
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), arr, params):
        raise DatasetFormatError(f"could not write frame {path}")


def write_frames(folder: Path, spec: ClipSpec, name: Callable[[int], str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(spec.frames):
        write_image(folder / name(spec.first_frame_number + i), frame)
    if spec.landmarks is not None:
        lm = np.asarray(spec.landmarks, dtype=np.float32)
        if lm.ndim != 3 or lm.shape[1:] != (68, 2) or lm.shape[0] != len(spec.frames):
            raise DatasetFormatError(
                f"clip {spec.subject}/{spec.clip}: landmarks must have shape "
                f"({len(spec.frames)}, 68, 2), got {lm.shape}"
            )
        np.save(folder / "landmarks68.npy", lm, allow_pickle=False)


def digits(text: str) -> int:
    m = re.search(r"\d+", str(text))
    if not m:
        raise DatasetFormatError(f"subject id {text!r} has no number in it")
    return int(m.group())


def save_sheet(path: Path, rows: list[list[Any]], sheet_name: str = "Sheet1") -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name
    for row in rows:
        ws.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def apex_cell(spec: ClipSpec) -> Any:
    return "/" if spec.apex is None else spec.apex








DATASETS_WITH_WRITERS: tuple[str, ...] = ("casme2", "samm", "smic", "ckplus", "casme", "casme_sq")


def write_layout(dataset: str, root: str | Path, clips: Sequence[ClipSpec], *, variant: str | None = None) -> Path:
    """Write ``clips`` under ``root`` in ``dataset``'s native layout; return the reader root.

    Sheet-based datasets get one sheet covering all ``clips`` (an existing sheet is
    overwritten, so write a dataset in one call).
    """
    if dataset not in DATASETS_WITH_WRITERS:
        raise DatasetFormatError(f"no layout writer for dataset {dataset!r}; known: {sorted(DATASETS_WITH_WRITERS)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[str, str]] = set()
    for s in clips:
        if (s.subject, s.clip) in seen:
            raise DatasetFormatError(f"{dataset}: clip {s.subject}/{s.clip} given twice")
        seen.add((s.subject, s.clip))
        if len(s.frames) == 0:
            raise DatasetFormatError(f"{dataset}: clip {s.subject}/{s.clip} has no frames")
    import importlib

    module = importlib.import_module(f"microexpr.datasets.{dataset}")  # the reader's module holds its writer
    return module.write_fake_layout(root, clips, variant)
