"""SAMM reader (32 subjects, 200 fps, greyscale; 159 micro-expressions).

Layout: ``ROOT/SAMM_Micro_FACS_Codes_v2.xlsx`` (about 13 preamble rows; the header row is
found by its cell values) and frames ``ROOT/SAMM/<sss>/<clip>/<sss>_<number>.jpg`` (also
accepted: the subject folders directly in ROOT). Frame numbers have 5 digits in most
names and 4 in some; both are read by their number, never by their width.
"""

from __future__ import annotations

from pathlib import Path

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, find_sheet, require_root, subject_dirs
from .sheet_clips import ClipDetails, SheetLayout, SheetRecord, collect_sheet_clips
from .sheets import header_records, objective_class, read_rows

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
