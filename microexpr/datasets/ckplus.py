"""CK+ reader (Extended Cohn-Kanade: 123 subjects, 593 sequences, 327 labelled; 30 fps).

Layout: ``ROOT/cohn-kanade-images/S005/001/S005_001_00000001.png``, labels in
``ROOT/Emotion/S005/001/S005_001_000000NN_emotion.txt`` (one float: 0 neutral, 1 anger,
2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise), optional
``ROOT/Landmarks/S005/001/*_landmarks.txt`` (68 lines ``x y``).

Decisions: each sequence runs neutral -> peak, so onset is the first frame and apex =
offset = the last (``apex_source="annotated"``: CK+ labels the last frame as the peak).
``emotion`` holds the *name* of the code (``"disgust"`` for 3.0), since the integer is
only an index into CK+'s README list. Unlabelled sequences (no emotion file) are left out
and listed in ``skipped`` unless ``include_unlabelled=True`` (then ``emotion`` is
``"unlabelled"``, which every label scheme excludes). ``landmarks`` is the clip's
``landmarks68.npy`` when present, else the sequence's ``Landmarks`` folder (read it with
:func:`microexpr.face.landmarks.load_supplied_landmarks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, clip_files, require_root, subject_dirs
from .layouts import ClipSpec, write_frames
from ..errors import DatasetFormatError, DatasetNotFoundError

NAME = "ckplus"
FPS = 30.0
CODES = {0: "neutral", 1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happy", 6: "sadness", 7: "surprise"}
EMOTIONS = frozenset(CODES.values()) | {"unlabelled"}
UNLABELLED = "unlabelled"

# Repairs keyed by (subject "S005", sequence "001"); field "emotion" or positions. None known.
REPAIRS: dict[tuple[str, str], tuple[RepairRule, ...]] = {}


def read(
    root: str | Path,
    *,
    include_unlabelled: bool = False,
    repairs: RepairTable | None = None,
    on_problem: str = "raise",
) -> DatasetRead:
    """Read a CK+ copy into a ClipTable (subjects ``ckplus/S005``, clips ``001``)."""
    root = require_root(NAME, root, "cohn-kanade-images/ and Emotion/")
    images = root / "cohn-kanade-images"
    if not images.is_dir():
        raise DatasetNotFoundError(f"{NAME}: expected cohn-kanade-images/S005/001/*.png in {root}; found none")
    col = ClipCollector(NAME, REPAIRS, repairs)
    col.skipped += [(str(p), "not part of the CK+ layout") for p in sorted(root.iterdir())
                    if p.name not in {"cohn-kanade-images", "Emotion", "Landmarks"}]
    for sub, sdir in subject_dirs(NAME, images, col.skipped).items():
        for seq in sorted(sdir.iterdir()):
            if not seq.is_dir():
                col.skipped.append((str(seq), "not a sequence folder"))
                continue
            emotion = _emotion(root / "Emotion" / sub / seq.name)
            if emotion is None and not include_unlabelled:
                col.skipped.append((str(seq), "unlabelled sequence (no Emotion file); include_unlabelled=True keeps it"))
                continue
            frames, landmarks = clip_files(seq, col.skipped)
            lm_dir = root / "Landmarks" / sub / seq.name
            if landmarks is None and lm_dir.is_dir():
                landmarks = str(lm_dir)
            values = col.repaired(sub, seq.name, {"emotion": emotion or UNLABELLED})
            col.add(
                native_subject=sub, subject_id=sub, clip=seq.name, frames=frames, fps=FPS,
                onset=0, apex=len(frames) - 1, offset=len(frames) - 1, numbers=False,
                emotion=values["emotion"], landmarks=landmarks,
            )
    return col.finish("midpoint", on_problem)


def _emotion(folder: Path) -> str | None:
    files = sorted(folder.glob("*_emotion.txt")) if folder.is_dir() else []
    if not files:
        return None
    if len(files) > 1:
        raise DatasetFormatError(f"{NAME}: more than one emotion file in {folder}; keep the one for the peak frame")
    text = files[0].read_text().strip()
    try:
        code = float(text)
    except ValueError:
        raise DatasetFormatError(f"{NAME}: {files[0]} should hold one number 0..7, got {text!r}") from None
    if not code.is_integer() or int(code) not in CODES:
        raise DatasetFormatError(f"{NAME}: {files[0]} holds {text!r}, not a CK+ emotion code 0..7")
    return CODES[int(code)]


# ------------------------------------------------------------------ fake-layout writer
def write_fake_layout(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    """Write ``clips`` in the native ckplus layout under ``root`` (tests, ``microexpr synth``):
    ``cohn-kanade-images/Sxxx/NNN/Sxxx_NNN_000000NN.png``; ``Emotion/.../*_emotion.txt``
    with one float (only for labelled sequences: ``emotion`` an int 0..7);
    ``Landmarks/.../*_landmarks.txt`` (68 lines ``x y``) when landmarks are given.

    The spellings below are the official files' own, written out here rather than taken from
    the reader, so that a convention the reader gets wrong is not repeated by the writer."""
    if variant is not None:
        raise DatasetFormatError(f"ckplus has no variant {variant!r}")
    for s in clips:
        stem = f"{s.subject}_{s.clip}"
        write_frames(root / "cohn-kanade-images" / s.subject / s.clip, s, lambda n: f"{stem}_{n:08d}.png")
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

