"""Generic CSV-manifest reader for the other corpora (Oulu-CASIA, JAFFE, MUG, MMI, KDEF...).

The manifest is a CSV with columns ``path``, ``label``, ``subject`` and optional
``neutral_path``, ``frame``, ``landmarks``, ``fps``, ``clip``. Paths are relative to the
manifest's folder and may not leave it (``..`` out of the folder or absolute paths are
errors).

* ``path`` is a folder of frames (a sequence) or one image (a still photo).
* A still with ``neutral_path`` becomes the 2-frame clip (neutral, expressive); a still
  without it is a 1-frame clip. onset = 0, offset = last frame.
* ``frame`` (optional) is the 0-based position of the peak frame in a sequence folder;
  by default the peak is the last frame (sequences run neutral -> peak, as in CK+).
* ``landmarks`` (optional) is a ``.npy`` (n_frames, 68, 2) path, relative like the others
  (a sequence folder's own ``landmarks68.npy`` is used when the column is empty).
* Files of the manifest folder that no row names are not looked at; non-frame files inside
  a sequence folder are listed in ``skipped``.
* ``clip`` (optional) names the clip; by default the path with ``/`` replaced by ``__``.
* ``label`` becomes ``emotion`` as written; the ``native`` label scheme uses it as is.

The dataset name in the table is ``dataset_name`` (default ``manifest``); give each manifest
its own name (e.g. ``dataset_name="jaffe"``) so subjects stay namespaced per corpus.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, clip_files, to_int
from ..errors import DatasetFormatError, DatasetNotFoundError
from ..io_utils import read_text_file
from ..video.frames import FRAME_EXTENSIONS

NAME = "manifest"
REQUIRED = ("path", "label", "subject")
OPTIONAL = ("neutral_path", "frame", "landmarks", "fps", "clip")

# Repairs keyed by (subject, clip); a manifest is the user's own file, so none are built in.
REPAIRS: dict[tuple[str, str], tuple[RepairRule, ...]] = {}


def read(
    root: str | Path,
    *,
    dataset_name: str = NAME,
    fps: float = 30.0,
    repairs: RepairTable | None = None,
    on_problem: str = "raise",
) -> DatasetRead:
    """Read a manifest CSV (``root`` is the CSV file, or a folder holding ``manifest.csv``)."""
    name = dataset_name
    path = Path(root).expanduser()
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{name}: expected a manifest CSV (columns {', '.join(REQUIRED)}) at {path}; not found"
        )
    path = path.resolve()
    base = path.parent
    col = ClipCollector(name, REPAIRS, repairs)
    with io.StringIO(read_text_file(path, "manifest"), newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise DatasetFormatError(f"manifest {path}: missing column(s) {missing}; it has {header}")
        unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
        if unknown:
            raise DatasetFormatError(f"manifest {path}: unknown column(s) {unknown}; allowed: {list(REQUIRED + OPTIONAL)}")
        for n, raw in enumerate(reader, start=2):
            rec = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            _row(col, base, path, n, rec, fps)
    return col.finish("midpoint", on_problem)


def _inside(base: Path, rel: str, manifest: Path, n: int) -> Path:
    p = Path(rel)
    if p.is_absolute():
        raise DatasetFormatError(f"manifest {manifest} line {n}: path {rel!r} must be relative to the manifest folder")
    full = (base / p).resolve()
    if not full.is_relative_to(base):
        raise DatasetFormatError(f"manifest {manifest} line {n}: path {rel!r} leaves the manifest folder {base}")
    return full


def _row(col: ClipCollector, base: Path, manifest: Path, n: int, rec: dict[str, Any], fps: float) -> None:
    if not rec["path"] or not rec["subject"]:
        raise DatasetFormatError(f"manifest {manifest} line {n}: empty path or subject")
    if not rec["label"]:
        col.problem(f"{col.dataset}/{rec['subject'].replace('/', '_')}/{rec.get('clip') or rec['path'].strip('/').replace('/', '__')}",
                    f"manifest {manifest} line {n}: empty label; fill it in or delete the row")
        return
    if rec.get("fps"):
        try:
            row_fps = float(rec["fps"])
        except ValueError:
            row_fps = float("nan")
        if not row_fps > 0 or row_fps == float("inf"):
            raise DatasetFormatError(f"manifest {manifest} line {n}: fps {rec['fps']!r} is not a positive number")
    target = _inside(base, rec["path"], manifest, n)
    subject = rec["subject"].replace("/", "_")
    clip = rec.get("clip") or rec["path"].strip("/").replace("/", "__")
    folder_landmarks = None
    if target.is_dir():
        frames, folder_landmarks = clip_files(target, col.skipped)
    elif target.is_file() and target.suffix.lower() in FRAME_EXTENSIONS:
        frames = [target]
        if rec.get("neutral_path"):
            frames = [_inside(base, rec["neutral_path"], manifest, n), target]
            if not frames[0].is_file():
                col.problem(f"{col.dataset}/{subject}/{clip}", f"neutral image {frames[0]} not found")
                return
    else:
        col.problem(f"{col.dataset}/{subject}/{clip}", f"line {n}: {target} is not a frame folder or image file")
        return
    peak = to_int(rec.get("frame"), f"manifest {manifest} line {n} frame")
    last = len(frames) - 1
    landmarks = str(_inside(base, rec["landmarks"], manifest, n)) if rec.get("landmarks") else folder_landmarks
    values = col.repaired(subject, clip, {"emotion": rec["label"]})
    col.add(
        native_subject=subject, subject_id=subject, clip=clip, frames=frames,
        fps=row_fps if rec.get("fps") else fps,
        onset=0, apex=last if peak is None else peak, offset=last, numbers=False,
        emotion=values["emotion"], landmarks=landmarks,
    )
