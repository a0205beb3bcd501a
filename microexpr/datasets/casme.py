"""CASME (I) reader (19 subjects, 60 fps).

Layout: a coding sheet ``ROOT/*.xlsx`` whose header holds ``Subject, Filename, OnsetF,
ApexF1, ApexF2, OffsetF, Emotion, AU`` and frames ``ROOT/CASME_raw_selected/subNN/<Filename>/``.
``ApexF1`` is the apex; ``ApexF2`` (a second apex some clips have) is kept as
``native_apex2``. A missing ApexF1 is filled by ``apex`` (``midpoint`` by default).
"""

from __future__ import annotations

from pathlib import Path

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, norm_subject_number, require_root
from .base import clip_files, subject_dirs, to_int
from .sheets import header_records, read_rows
from ..errors import DatasetFormatError, DatasetNotFoundError

NAME = "casme"
FPS = 60.0
EMOTIONS = frozenset({"happiness", "surprise", "disgust", "repression", "tense", "fear", "sadness", "contempt"})
HEADER = ["Subject", "Filename", "OnsetF", "ApexF1", "OffsetF"]
FRAMES_DIRS = ("CASME_raw_selected", "CASME_RAW_selected")

# Repairs keyed by (subject folder "sub01", Filename). None verified yet.
REPAIRS: dict[tuple[str, str], tuple[RepairRule, ...]] = {}


def read(
    root: str | Path,
    *,
    apex: str = "midpoint",
    repairs: RepairTable | None = None,
    on_problem: str = "raise",
) -> DatasetRead:
    """Read a CASME (I) copy into a ClipTable (subjects ``casme/subNN``)."""
    root = require_root(NAME, root, "a CASME coding .xlsx and CASME_raw_selected/")
    frames_dir = next((root / d for d in FRAMES_DIRS if (root / d).is_dir()), None)
    if frames_dir is None:
        raise DatasetNotFoundError(f"{NAME}: expected CASME_raw_selected/subNN/<Filename>/ in {root}; found none")
    sheet, records = _find_sheet(root)
    col = ClipCollector(NAME, REPAIRS, repairs)
    col.skipped += [(str(p), "not part of the CASME layout") for p in sorted(root.iterdir())
                    if p not in {sheet, frames_dir}]
    subjects = subject_dirs(NAME, frames_dir, col.skipped)
    used: set[Path] = set()
    for n, rec in enumerate(records, start=2):
        what = f"{sheet.name} row {n}"
        sub = f"sub{norm_subject_number(rec['subject'], what):02d}"
        clip = str(rec["filename"]).strip()
        values = col.repaired(sub, clip, {
            "onset": to_int(rec["onsetf"], f"{what} OnsetF"),
            "apex": to_int(rec["apexf1"], f"{what} ApexF1"),
            "offset": to_int(rec["offsetf"], f"{what} OffsetF"),
            "emotion": rec.get("emotion"),
        })
        folder = subjects.get(sub, frames_dir / sub) / clip
        if not folder.is_dir():
            col.problem(f"{NAME}/{sub}/{clip}", f"sheet row {n} has no frame folder {folder}")
            continue
        used.add(folder)
        frames, landmarks = clip_files(folder, col.skipped)
        col.add(
            native_subject=sub, subject_id=sub, clip=clip, frames=frames, fps=FPS,
            onset=values["onset"], apex=values["apex"], offset=values["offset"],
            emotion=values["emotion"], aus=rec.get("au", ""), landmarks=landmarks,
            extra={"native_apex2": to_int(rec.get("apexf2"), f"{what} ApexF2")},
        )
    for sdir in subjects.values():
        col.skipped += [(str(p), "not listed in the coding sheet") for p in sorted(sdir.iterdir()) if p not in used]
    return col.finish(apex, on_problem)


def _find_sheet(root: Path) -> tuple[Path, list[dict]]:
    sheets = sorted(p for p in root.glob("*.xlsx") if not p.name.startswith("~$"))
    for path in sheets:
        try:
            return path, header_records(path, read_rows(path), HEADER)
        except DatasetFormatError:
            continue
    raise DatasetNotFoundError(
        f"{NAME}: expected a coding sheet (.xlsx with columns {', '.join(HEADER)}) in {root}; "
        f"found {[p.name for p in sheets] or 'no .xlsx file'}"
    )
