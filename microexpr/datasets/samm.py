"""SAMM reader (32 subjects, 200 fps, greyscale; 159 micro-expressions).

Layout: ``ROOT/SAMM_Micro_FACS_Codes_v2.xlsx`` (about 13 preamble rows; the header row is
found by its cell values) and frames ``ROOT/SAMM/<sss>/<clip>/<sss>_<number>.jpg`` (also
accepted: the subject folders directly in ROOT). Frame numbers have 5 digits in most
names and 4 in some; both are read by their number, never by their width.
"""

from __future__ import annotations

from pathlib import Path

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, clip_files, find_sheet
from .base import norm_subject_number, require_root, subject_dirs, to_int
from .sheets import header_records, objective_class, read_rows

NAME = "samm"
FPS = 200.0
EMOTIONS = frozenset({"Anger", "Contempt", "Disgust", "Fear", "Happiness", "Other", "Sadness", "Surprise"})
HEADER = ["Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame"]

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
    used: set[Path] = set()
    for n, rec in enumerate(header_records(sheet, read_rows(sheet), HEADER), start=1):
        what = f"{sheet.name} record {n}"
        sub = f"{norm_subject_number(rec['subject'], what):03d}"
        clip = str(rec["filename"]).strip()
        values = col.repaired(sub, clip, {
            "onset": to_int(rec["onsetframe"], f"{what} Onset Frame"),
            "apex": to_int(rec["apexframe"], f"{what} Apex Frame"),
            "offset": to_int(rec["offsetframe"], f"{what} Offset Frame"),
            "emotion": rec.get("estimatedemotion"),
        })
        folder = subjects.get(sub, frames_dir / sub) / clip
        if not folder.is_dir():
            col.problem(f"{NAME}/{sub}/{clip}", f"sheet record {n} has no frame folder {folder}")
            continue
        used.add(folder)
        frames, landmarks = clip_files(folder, col.skipped)
        col.add(
            native_subject=sub, subject_id=sub, clip=clip, frames=frames, fps=FPS,
            onset=values["onset"], apex=values["apex"], offset=values["offset"],
            emotion=values["emotion"], aus=rec.get("actionunits", ""),
            objective_class=objective_class(rec.get("objectiveclasses"), what), landmarks=landmarks,
        )
    for sdir in subjects.values():
        for p in sorted(sdir.iterdir()):
            if p not in used:
                col.skipped.append((str(p), "not listed in the coding sheet"))
    return col.finish(apex, on_problem)
