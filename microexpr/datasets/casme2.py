"""CASME II reader (26 subjects, 200 fps).

Layout: ``ROOT/CASME2-coding-*.xlsx`` (header on row 1) and the frames in
``ROOT/CASME2_RAW_selected/subNN/<Filename>/imgN.jpg`` (``variant="raw"``) or
``ROOT/Cropped/subNN/<Filename>/reg_imgN.jpg`` (``variant="cropped"``). The MEGC 2018
objective classes are read from ``ROOT/CASME2-ObjectiveClasses.xlsx`` when present.

``ApexFrame`` is ``/`` for about 21 clips: filled by ``apex`` (``midpoint`` by default,
``flow_peak`` to spot it from optical flow) and recorded in ``apex_source``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, check_option, find_sheet
from .base import norm_subject_number, require_root, subject_dirs
from .sheet_clips import ClipDetails, SheetLayout, collect_sheet_clips
from .sheets import header_records, objective_class, read_rows
from .layouts import ClipSpec, apex_cell, digits, save_sheet, write_frames
from ..errors import DatasetFormatError

NAME = "casme2"
FPS = 200.0
EMOTIONS = frozenset({"happiness", "surprise", "disgust", "repression", "others", "fear", "sadness"})
VARIANT_DIRS = {"raw": ("CASME2_RAW_selected", "CASME2_RAW"), "cropped": ("Cropped", "CASME2_Cropped")}
OBJECTIVE_FILE = "CASME2-ObjectiveClasses.xlsx"
LAYOUT = SheetLayout(
    onset="OnsetFrame", apex="ApexFrame", offset="OffsetFrame", emotion="Estimated Emotion", aus="Action Units"
)

# Annotation repairs, keyed by (subject folder, Filename). The one place CASME II is
# corrected. Each rule applies only while the sheet still holds ``old``; every applied
# rule is reported. The sheet is known to contain at least one wrong offset, but no
# entry is added here until the exact clip and value are verified against a licensed
# copy: add it (or pass ``repairs={(subject, clip): [RepairRule(...)]}``) when
# ``microexpr datasets check`` names it.
REPAIRS: dict[tuple[str, str], tuple[RepairRule, ...]] = {}


def read(
    root: str | Path,
    *,
    variant: str = "raw",
    apex: str = "midpoint",
    repairs: RepairTable | None = None,
    on_problem: str = "raise",
) -> DatasetRead:
    """Read a CASME II copy into a ClipTable (subjects ``casme2/subNN``)."""
    check_option(NAME, "variant", variant, VARIANT_DIRS)
    root = require_root(NAME, root, "CASME2-coding-*.xlsx and CASME2_RAW_selected/ (or Cropped/)")
    sheet = find_sheet(NAME, root, ["CASME2-coding-*.xlsx", "CASME2*coding*.xlsx"], "CASME2-coding-*.xlsx")
    frames_dir = next((root / d for d in VARIANT_DIRS[variant] if (root / d).is_dir()), None)
    if frames_dir is None:
        raise _missing_frames_error(root, variant)
    col = ClipCollector(NAME, REPAIRS, repairs)
    objective = _objective_classes(root)
    known = {sheet.name, OBJECTIVE_FILE} | {d for v in VARIANT_DIRS.values() for d in v}
    col.skipped += [(str(p), "not part of the CASME II layout") for p in sorted(root.iterdir()) if p.name not in known]
    subjects = subject_dirs(NAME, frames_dir, col.skipped)
    records = header_records(sheet, read_rows(sheet), LAYOUT.header)
    collect_sheet_clips(
        col, sheet, records, LAYOUT, frames_dir=frames_dir, subjects=subjects, fps=FPS,
        frame_prefix=("" if variant == "raw" else "reg_") + "img",
        details=lambda record: ClipDetails(objective_class=objective.get((record.subject_number, record.clip))),
    )
    return col.finish(apex, on_problem)


def _objective_classes(root: Path) -> dict[tuple[int, str], int | None]:
    path = root / OBJECTIVE_FILE
    if not path.is_file():
        return {}
    out = {}
    for n, rec in enumerate(header_records(path, read_rows(path), ["Subject", "Filename", "Objective Class"]), start=2):
        what = f"{path.name} row {n}"
        key = (norm_subject_number(rec["subject"], what), str(rec["filename"]).strip())
        out[key] = objective_class(rec["objectiveclass"], what)
    return out


def _missing_frames_error(root: Path, variant: str) -> Exception:
    """The not-found error for a missing frames folder (named for the variant asked)."""
    from ..errors import DatasetNotFoundError

    dirs = " or ".join(VARIANT_DIRS[variant])
    return DatasetNotFoundError(
        f"{NAME}: expected the {variant} frames folder {dirs} in {root}; found none "
        f"(use variant='cropped' for the Cropped release)"
    )


# ------------------------------------------------------------------ fake-layout writer
CASME2_SHEET = "CASME2-coding-20140508.xlsx"
CASME2_OBJECTIVE_SHEET = "CASME2-ObjectiveClasses.xlsx"
CASME2_HEADER = (
    "Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
    "Action Units", "Estimated Emotion",
)

def write_fake_layout(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    """Write ``clips`` in the native casme2 layout under ``root`` (tests, ``microexpr synth``):
    ``CASME2_RAW_selected/subNN/<clip>/imgN.jpg`` (variant ``raw``, default) or
    ``Cropped/subNN/<clip>/reg_imgN.jpg`` (``cropped``); ``CASME2-coding-20140508.xlsx``
    (header on row 1, two unnamed columns, ``/`` for a missing apex);
    ``CASME2-ObjectiveClasses.xlsx`` when any clip has an ``objective_class``.

    The spellings below are the official files' own, written out here rather than taken from
    the reader, so that a convention the reader gets wrong is not repeated by the writer."""
    variant = variant or "raw"
    if variant not in {"raw", "cropped"}:
        raise DatasetFormatError(f"casme2 variant must be 'raw' or 'cropped', got {variant!r}")
    top, prefix = ("CASME2_RAW_selected", "img") if variant == "raw" else ("Cropped", "reg_img")
    rows: list[list[Any]] = [list(CASME2_HEADER)]
    objective: list[list[Any]] = [["Subject", "Filename", "Objective Class"]]
    for s in clips:
        if not re.fullmatch(r"sub\d{2}", s.subject):
            raise DatasetFormatError(f"casme2 subject must be a folder name like 'sub01', got {s.subject!r}")
        write_frames(root / top / s.subject / s.clip, s, lambda n: f"{prefix}{n}.jpg")
        rows.append([
            digits(s.subject), s.clip, None, s.onset, apex_cell(s), s.offset, None,
            s.aus, s.emotion,
        ])
        if s.objective_class is not None:
            objective.append([digits(s.subject), s.clip, int(s.objective_class)])
    save_sheet(root / CASME2_SHEET, rows)
    if len(objective) > 1:
        save_sheet(root / CASME2_OBJECTIVE_SHEET, objective)
    return root

