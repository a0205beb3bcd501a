"""CAS(ME)^2 reader (30 fps).

Layout: ``ROOT/CAS(ME)^2code_final.xlsx``, sheet ``CASMEcode_final`` with NO header row:
participant, video name, onset, apex, offset, AUs, estimated emotion, expression type
(micro/macro), self-reported emotion; frames ``ROOT/rawpic/<sNN>/<video name>/imgN.jpg``
(or ``selectedpic/``).

Decisions (the real folder naming is unverified here): the subject folder is ``s<N>`` or
``s<NN>`` for participant N, and the clip folder is named as the sheet's video name; a
missing folder is a problem naming the path looked for. Only micro-expressions are read by
default (``expression_type="micro"``; ``"macro"`` or ``"all"`` on request); the other
rows are listed in ``skipped``. When one video holds several expressions, each clip is
named ``<video>_<onset>``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, check_option, clip_files
from .base import find_sheet, norm_subject_number, require_root, to_int
from .sheets import read_rows
from .layouts import ClipSpec, apex_cell, digits, save_sheet, write_frames
from ..errors import DatasetFormatError, DatasetNotFoundError

NAME = "casme_sq"
FPS = 30.0
SHEET_NAME = "CASMEcode_final"  # the worksheet of CAS(ME)^2code_final.xlsx that holds the codes
EMOTIONS = frozenset({"positive", "negative", "surprise", "others"})
VARIANTS = ("rawpic", "selectedpic")

# Repairs keyed by (subject folder "s15", video name). None verified yet.
REPAIRS: dict[tuple[str, str], tuple[RepairRule, ...]] = {}


def read(
    root: str | Path,
    *,
    variant: str | None = None,
    expression_type: str = "micro",
    apex: str = "midpoint",
    repairs: RepairTable | None = None,
    on_problem: str = "raise",
) -> DatasetRead:
    """Read a CAS(ME)^2 copy into a ClipTable (subjects ``casme_sq/s15``...)."""
    check_option(NAME, "expression_type", expression_type, ("micro", "macro", "all"))
    if variant is not None:
        check_option(NAME, "variant", variant, VARIANTS)
    root = require_root(NAME, root, "CAS(ME)^2code_final.xlsx and rawpic/ (or selectedpic/)")
    sheet = find_sheet(NAME, root, ["CAS(ME)^2code_final*.xlsx", "CAS(ME)*code*.xlsx"], "CAS(ME)^2code_final.xlsx")
    names = [variant] if variant else list(VARIANTS)
    frames_dir = next((root / v for v in names if (root / v).is_dir()), None)
    if frames_dir is None:
        raise DatasetNotFoundError(f"{NAME}: expected {' or '.join(names)}/ with the frames in {root}; found none")
    col = ClipCollector(NAME, REPAIRS, repairs)
    col.skipped += [(str(p), "not part of the CAS(ME)^2 layout") for p in sorted(root.iterdir())
                    if p not in {sheet, frames_dir}]
    rows = [r for r in read_rows(sheet, SHEET_NAME) if r and r[0] is not None and str(r[0]).strip()]
    per_video = Counter((norm_subject_number(r[0], sheet.name), str(r[1]).strip()) for r in rows)
    for n, r in enumerate(rows, start=1):
        what = f"{sheet.name} row {n}"
        r = tuple(r) + (None,) * (9 - len(r))
        kind = str(r[7] or "").lower()
        if expression_type != "all" and not kind.startswith(expression_type):
            col.skipped.append((f"{sheet}#row{n}", f"expression type {r[7]!r} (reading {expression_type} only)"))
            continue
        num = norm_subject_number(r[0], what)
        video = str(r[1]).strip()
        sdir = next((frames_dir / s for s in (f"s{num}", f"s{num:02d}") if (frames_dir / s).is_dir()), frames_dir / f"s{num}")
        sub = sdir.name
        values = col.repaired(sub, video, {
            "onset": to_int(r[2], f"{what} onset"), "apex": to_int(r[3], f"{what} apex"),
            "offset": to_int(r[4], f"{what} offset"), "emotion": r[6],
        })
        clip = video if per_video[(num, video)] == 1 else f"{video}_{values['onset']}"
        folder = sdir / video
        if not folder.is_dir():
            col.problem(f"{NAME}/{sub}/{clip}", f"sheet row {n} has no frame folder {folder}")
            continue
        frames, landmarks = clip_files(folder, col.skipped)
        col.add(
            native_subject=sub, subject_id=sub, clip=clip, frames=frames, fps=FPS,
            onset=values["onset"], apex=values["apex"], offset=values["offset"],
            emotion=values["emotion"], aus=r[5] or "", landmarks=landmarks,
        )
    return col.finish(apex, on_problem)


# ------------------------------------------------------------------ fake-layout writer
CASME_SQ_SHEET = "CAS(ME)^2code_final.xlsx"
CASME_SQ_SHEET_NAME = "CASMEcode_final"

def write_fake_layout(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    """Write ``clips`` in the native casme_sq layout under ``root`` (tests, ``microexpr synth``):
    ``rawpic/<subject>/<clip>/imgN.jpg`` (variant ``rawpic`` default or ``selectedpic``);
    ``CAS(ME)^2code_final.xlsx``, sheet ``CASMEcode_final``, no header row: participant,
    video name, onset, apex, offset, AUs, emotion, type, self-reported emotion.

    The spellings below are the official files' own, written out here rather than taken from
    the reader, so that a convention the reader gets wrong is not repeated by the writer."""
    variant = variant or "rawpic"
    if variant not in {"rawpic", "selectedpic"}:
        raise DatasetFormatError(f"casme_sq variant must be 'rawpic' or 'selectedpic', got {variant!r}")
    rows: list[list[Any]] = []
    for s in clips:
        write_frames(root / variant / s.subject / s.clip, s, lambda n: f"img{n}.jpg")
        rows.append([
            digits(s.subject), s.clip, s.onset, apex_cell(s), s.offset, s.aus, s.emotion,
            s.extra.get("type", "micro-expression"), s.extra.get("self-reported", s.emotion),
        ])
    save_sheet(root / CASME_SQ_SHEET, rows, CASME_SQ_SHEET_NAME)
    return root

