"""SAMM reader (32 subjects, 200 fps, greyscale; 159 micro-expressions).

Layout: ``ROOT/SAMM_Micro_FACS_Codes_v2.xlsx`` (about 13 preamble rows; the header row is
found by its cell values) and frames ``ROOT/SAMM/<sss>/<clip>/<sss>_<number>.jpg`` (also
accepted: the subject folders directly in ROOT). Frame numbers have 5 digits in most
names and 4 in some; both are read by their number, never by their width.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, find_sheet, require_root, subject_dirs
from .sheet_clips import ClipDetails, SheetLayout, SheetRecord, collect_sheet_clips
from .sheets import header_records, objective_class, read_rows
from .layouts import ClipSpec, apex_cell, save_sheet, write_frames
from ..errors import DatasetFormatError

NAME = "samm"
FPS = 200.0
EMOTIONS = frozenset({"Anger", "Contempt", "Disgust", "Fear", "Happiness", "Other", "Sadness", "Surprise"})
# The header row is found by its cells below ~13 preamble rows, so records are numbered
# (1 = first record), not given as spreadsheet rows.
LAYOUT = SheetLayout(
    onset="Onset Frame", apex="Apex Frame", offset="Offset Frame", emotion="Estimated Emotion",
    aus="Action Units", subject_folder="{:03d}", first_record=1, record_word="record",
)
HEADER = LAYOUT.header

# Annotation repairs keyed by (subject "006", Filename). The one place SAMM is corrected;
# rules apply only while the sheet still holds ``old`` and are all reported. Left empty
# until a wrong value is verified on a licensed copy (``microexpr datasets check`` lists
# apexes/offsets that fall outside the clip); users may pass ``repairs=`` meanwhile.
REPAIRS: dict[tuple[str, str], tuple[RepairRule, ...]] = {}


def read(
    root: str | Path,
    *,
    apex: str = "midpoint",
    repairs: RepairTable | None = None,
    on_problem: str = "raise",
) -> DatasetRead:
    """Read a SAMM copy into a ClipTable (subjects ``samm/006``...)."""
    root = require_root(NAME, root, "SAMM_Micro_FACS_Codes_v2.xlsx and the SAMM/ frames folder")
    sheet = find_sheet(NAME, root, ["SAMM_Micro_FACS_Codes*.xlsx", "SAMM*.xlsx"], "SAMM_Micro_FACS_Codes_v2.xlsx")
    frames_dir = root / "SAMM" if (root / "SAMM").is_dir() else root
    col = ClipCollector(NAME, REPAIRS, repairs)
    if frames_dir != root:
        col.skipped += [(str(p), "not part of the SAMM layout") for p in sorted(root.iterdir())
                        if p.name not in {sheet.name, "SAMM"}]
        subjects = subject_dirs(NAME, frames_dir, col.skipped)
    else:
        subjects = {}
        for p in sorted(root.iterdir()):
            if p.is_dir() and p.name.isdigit():
                subjects[p.name] = p
            elif p != sheet:
                col.skipped.append((str(p), "not part of the SAMM layout"))
    if not subjects:
        from ..errors import DatasetNotFoundError

        raise DatasetNotFoundError(f"{NAME}: expected subject folders (006, 007, ...) in {frames_dir}; found none")
    collect_sheet_clips(
        col, sheet, header_records(sheet, read_rows(sheet), HEADER), LAYOUT,
        frames_dir=frames_dir, subjects=subjects, fps=FPS, details=_objective_class,
    )
    return col.finish(apex, on_problem)


def _objective_class(record: SheetRecord) -> ClipDetails:
    """The MEGC objective class of a clip, from the sheet's ``Objective Classes`` column."""
    return ClipDetails(objective_class=objective_class(record.cells.get("objectiveclasses"), record.where))


# ------------------------------------------------------------------ fake-layout writer
SAMM_SHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"
SAMM_HEADER = (
    "Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
    "Duration", "Micro", "Action Units", "Notes", "Estimated Emotion", "Objective Classes",
)

def write_fake_layout(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    """Write ``clips`` in the native samm layout under ``root`` (tests, ``microexpr synth``):
    ``SAMM/<sss>/<clip>/<sss>_<NNNNN>.jpg`` (5 digits unless ``ClipSpec.frame_digits``
    says otherwise); ``SAMM_Micro_FACS_Codes_v2.xlsx`` with 13 preamble rows and the header on
    sheet row 14.

    The spellings below are the official files' own, written out here rather than taken from
    the reader, so that a convention the reader gets wrong is not repeated by the writer."""
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
        write_frames(root / "SAMM" / s.subject / s.clip, s, lambda n: f"{s.subject}_{n:0{digits}d}.jpg")
        duration = (s.offset - s.onset + 1) if s.onset is not None and s.offset is not None else None
        rows.append([
            s.subject, s.clip, s.extra.get("Inducement Code", 1), s.onset, apex_cell(s), s.offset,
            s.extra.get("Duration", duration), s.extra.get("Micro", "Micro - 1/2"), s.aus,
            s.extra.get("Notes"), s.emotion, s.objective_class,
        ])
    save_sheet(root / SAMM_SHEET, rows, "FACS_Codes")
    return root

