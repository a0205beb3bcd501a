"""Writers of the *native* on-disk layouts of the corpora (frames + sheets + quirks).

Used by the synthetic corpus generator (``microexpr synth``/``demo``) and by the tests'
fake-data writers, so the readers are exercised on exactly the layout a licensed copy has.

Contract (shared with ``microexpr.synth``):

``write_layout(dataset, root, clips, *, variant=None) -> Path`` writes ``clips`` (a list of
:class:`ClipSpec`) under ``root`` in the native layout of ``dataset`` and returns the
folder to pass to the reader as its ``root``.

What each dataset gets (``root`` is the returned folder):

=========  ===========================================================================
casme2     ``CASME2_RAW_selected/subNN/<clip>/imgN.jpg`` (variant ``raw``, default) or
           ``Cropped/subNN/<clip>/reg_imgN.jpg`` (``cropped``);
           ``CASME2-coding-20140508.xlsx`` (header on row 1, two unnamed columns, ``/``
           for a missing apex); ``CASME2-ObjectiveClasses.xlsx`` when any clip has an
           ``objective_class``.
samm       ``SAMM/<sss>/<clip>/<sss>_<NNNNN>.jpg`` (5 digits unless
           ``ClipSpec.frame_digits`` says otherwise); ``SAMM_Micro_FACS_Codes_v2.xlsx`` with
           13 preamble rows and the header on sheet row 14.
smic       ``<variant>/sN/micro/<emotion>/<clip>/image<global number>.bmp`` (variant ``HS``
           default, ``VIS``, ``NIR``); a clip whose emotion is ``non_micro`` goes to
           ``<variant>/sN/non_micro/<clip>/``. SMIC has no sheet: onset/offset/apex of the
           ClipSpec are not written (the folder *is* the clip).
ckplus     ``cohn-kanade-images/Sxxx/NNN/Sxxx_NNN_000000NN.png``; ``Emotion/.../*_emotion.txt``
           with one float (only for labelled sequences: ``emotion`` an int 0..7);
           ``Landmarks/.../*_landmarks.txt`` (68 lines ``x y``) when landmarks are given.
casme      ``CASME_raw_selected/subNN/<clip>/imgN.jpg``; ``CASME-coding.xlsx`` with
           ``Subject, Filename, OnsetF, ApexF1, ApexF2, OffsetF, Emotion, AU``.
casme_sq   ``rawpic/<subject>/<clip>/imgN.jpg`` (variant ``rawpic`` default or
           ``selectedpic``); ``CAS(ME)^2code_final.xlsx``, sheet ``CASMEcode_final``, no
           header row: participant, video name, onset, apex, offset, AUs, emotion, type,
           self-reported emotion.
=========  ===========================================================================

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

CASME2_SHEET = "CASME2-coding-20140508.xlsx"
CASME2_OBJECTIVE_SHEET = "CASME2-ObjectiveClasses.xlsx"
SAMM_SHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"
CASME_SHEET = "CASME-coding.xlsx"
CASME_SQ_SHEET = "CAS(ME)^2code_final.xlsx"
CASME_SQ_SHEET_NAME = "CASMEcode_final"
SAMM_HEADER = (
    "Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
    "Duration", "Micro", "Action Units", "Notes", "Estimated Emotion", "Objective Classes",
)
CASME2_HEADER = (
    "Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
    "Action Units", "Estimated Emotion",
)
CASME_HEADER = ("Subject", "Filename", "OnsetF", "ApexF1", "ApexF2", "OffsetF", "Emotion", "AU")


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


def _write_frames(folder: Path, spec: ClipSpec, name: Callable[[int], str]) -> None:
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


def _digits(text: str) -> int:
    m = re.search(r"\d+", str(text))
    if not m:
        raise DatasetFormatError(f"subject id {text!r} has no number in it")
    return int(m.group())


def _save_sheet(path: Path, rows: list[list[Any]], sheet_name: str = "Sheet1") -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name
    for row in rows:
        ws.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def _apex_cell(spec: ClipSpec) -> Any:
    return "/" if spec.apex is None else spec.apex


def _write_casme2(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    variant = variant or "raw"
    if variant not in {"raw", "cropped"}:
        raise DatasetFormatError(f"casme2 variant must be 'raw' or 'cropped', got {variant!r}")
    top, prefix = ("CASME2_RAW_selected", "img") if variant == "raw" else ("Cropped", "reg_img")
    rows: list[list[Any]] = [list(CASME2_HEADER)]
    objective: list[list[Any]] = [["Subject", "Filename", "Objective Class"]]
    for s in clips:
        if not re.fullmatch(r"sub\d{2}", s.subject):
            raise DatasetFormatError(f"casme2 subject must be a folder name like 'sub01', got {s.subject!r}")
        _write_frames(root / top / s.subject / s.clip, s, lambda n: f"{prefix}{n}.jpg")
        rows.append([
            _digits(s.subject), s.clip, None, s.onset, _apex_cell(s), s.offset, None,
            s.aus, s.emotion,
        ])
        if s.objective_class is not None:
            objective.append([_digits(s.subject), s.clip, int(s.objective_class)])
    _save_sheet(root / CASME2_SHEET, rows)
    if len(objective) > 1:
        _save_sheet(root / CASME2_OBJECTIVE_SHEET, objective)
    return root


def _write_samm(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    if variant not in {None, "raw"}:
        raise DatasetFormatError(f"samm has no variant {variant!r}")
    rows: list[list[Any]] = [
        ["SAMM - Spontaneous Actions and Micro-Movements"],
        ["Micro-movement FACS codes, version 2"],
        [],
        ["Coded by certified FACS coders."],
        ["Frame numbers refer to the numbers in the image file names."],
        [],
        ["Inducement Code: stimulus shown to the participant"],
        ["Duration: offset - onset + 1 (frames at 200 fps)"],
        [],
        ["Objective Classes follow Davison et al. (2018)"],
        [],
        ["Contact: see the dataset licence"],
        [],
    ]
    rows.append(list(SAMM_HEADER))
    for s in clips:
        if not re.fullmatch(r"\d{3}", s.subject):
            raise DatasetFormatError(f"samm subject must be a 3-digit folder name like '006', got {s.subject!r}")
        digits = s.frame_digits or 5
        _write_frames(root / "SAMM" / s.subject / s.clip, s, lambda n: f"{s.subject}_{n:0{digits}d}.jpg")
        duration = (s.offset - s.onset + 1) if s.onset is not None and s.offset is not None else None
        rows.append([
            s.subject, s.clip, s.extra.get("Inducement Code", 1), s.onset, _apex_cell(s), s.offset,
            s.extra.get("Duration", duration), s.extra.get("Micro", "Micro - 1/2"), s.aus,
            s.extra.get("Notes"), s.emotion, s.objective_class,
        ])
    _save_sheet(root / SAMM_SHEET, rows, "FACS_Codes")
    return root


def _write_smic(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    variant = variant or "HS"
    if variant not in {"HS", "VIS", "NIR"}:
        raise DatasetFormatError(f"smic variant must be 'HS', 'VIS' or 'NIR', got {variant!r}")
    for s in clips:
        if s.emotion == "non_micro":
            folder = root / variant / s.subject / "non_micro" / s.clip
        elif s.emotion in {"negative", "positive", "surprise"}:
            folder = root / variant / s.subject / "micro" / s.emotion / s.clip
        else:
            raise DatasetFormatError(
                f"smic clip {s.clip}: emotion must be negative/positive/surprise/non_micro, got {s.emotion!r}"
            )
        _write_frames(folder, s, lambda n: f"image{n}.bmp")
    return root


def _write_ckplus(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    if variant is not None:
        raise DatasetFormatError(f"ckplus has no variant {variant!r}")
    for s in clips:
        stem = f"{s.subject}_{s.clip}"
        _write_frames(root / "cohn-kanade-images" / s.subject / s.clip, s, lambda n: f"{stem}_{n:08d}.png")
        last = s.first_frame_number + len(s.frames) - 1
        if s.emotion is not None:
            txt = root / "Emotion" / s.subject / s.clip / f"{stem}_{last:08d}_emotion.txt"
            txt.parent.mkdir(parents=True, exist_ok=True)
            txt.write_text(f"   {float(s.emotion):.7e}\n")
        if s.landmarks is not None:
            for i, pts in enumerate(np.asarray(s.landmarks, dtype=float)):
                lm = root / "Landmarks" / s.subject / s.clip / f"{stem}_{s.first_frame_number + i:08d}_landmarks.txt"
                lm.parent.mkdir(parents=True, exist_ok=True)
                lm.write_text("".join(f"   {x:.7e}   {y:.7e}\n" for x, y in pts))
    return root


def _write_casme(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    if variant is not None:
        raise DatasetFormatError(f"casme has no variant {variant!r}")
    rows: list[list[Any]] = [list(CASME_HEADER)]
    for s in clips:
        _write_frames(root / "CASME_raw_selected" / s.subject / s.clip, s, lambda n: f"img{n}.jpg")
        rows.append([
            _digits(s.subject), s.clip, s.onset, _apex_cell(s), s.extra.get("ApexF2"), s.offset,
            s.emotion, s.aus,
        ])
    _save_sheet(root / CASME_SHEET, rows)
    return root


def _write_casme_sq(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    variant = variant or "rawpic"
    if variant not in {"rawpic", "selectedpic"}:
        raise DatasetFormatError(f"casme_sq variant must be 'rawpic' or 'selectedpic', got {variant!r}")
    rows: list[list[Any]] = []
    for s in clips:
        _write_frames(root / variant / s.subject / s.clip, s, lambda n: f"img{n}.jpg")
        rows.append([
            _digits(s.subject), s.clip, s.onset, _apex_cell(s), s.offset, s.aus, s.emotion,
            s.extra.get("type", "micro-expression"), s.extra.get("self-reported", s.emotion),
        ])
    _save_sheet(root / CASME_SQ_SHEET, rows, CASME_SQ_SHEET_NAME)
    return root


_WRITERS: dict[str, Callable[[Path, Sequence[ClipSpec], str | None], Path]] = {
    "casme2": _write_casme2,
    "samm": _write_samm,
    "smic": _write_smic,
    "ckplus": _write_ckplus,
    "casme": _write_casme,
    "casme_sq": _write_casme_sq,
}


def write_layout(dataset: str, root: str | Path, clips: Sequence[ClipSpec], *, variant: str | None = None) -> Path:
    """Write ``clips`` under ``root`` in ``dataset``'s native layout; return the reader root.

    Sheet-based datasets get one sheet covering all ``clips`` (an existing sheet is
    overwritten, so write a dataset in one call).
    """
    if dataset not in _WRITERS:
        raise DatasetFormatError(f"no layout writer for dataset {dataset!r}; known: {sorted(_WRITERS)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[str, str]] = set()
    for s in clips:
        if (s.subject, s.clip) in seen:
            raise DatasetFormatError(f"{dataset}: clip {s.subject}/{s.clip} given twice")
        seen.add((s.subject, s.clip))
        if len(s.frames) == 0:
            raise DatasetFormatError(f"{dataset}: clip {s.subject}/{s.clip} has no frames")
    return _WRITERS[dataset](root, clips, variant)
