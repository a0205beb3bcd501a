"""CASME (I) reader (19 subjects, 60 fps).

Layout: a coding sheet ``ROOT/*.xlsx`` whose header holds ``Subject, Filename, OnsetF,
ApexF1, ApexF2, OffsetF, Emotion, AU`` and frames ``ROOT/CASME_raw_selected/subNN/<Filename>/``.
``ApexF1`` is the apex; ``ApexF2`` (a second apex some clips have) is kept as
``native_apex2``. A missing ApexF1 is filled by ``apex`` (``midpoint`` by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, require_root, subject_dirs, to_int
from .sheet_clips import ClipDetails, SheetLayout, SheetRecord, collect_sheet_clips
from .sheets import header_records, read_rows
from .layouts import ClipSpec, apex_cell, digits, save_sheet, write_frames
from ..errors import DatasetFormatError, DatasetNotFoundError

NAME = "casme"
FPS = 60.0
EMOTIONS = frozenset({"happiness", "surprise", "disgust", "repression", "tense", "fear", "sadness", "contempt"})
LAYOUT = SheetLayout(onset="OnsetF", apex="ApexF1", offset="OffsetF", emotion="Emotion", aus="AU")
HEADER = LAYOUT.header
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
    collect_sheet_clips(col, sheet, records, LAYOUT, frames_dir=frames_dir, subjects=subjects, fps=FPS,
                        details=_second_apex)
    return col.finish(apex, on_problem)


def _second_apex(record: SheetRecord) -> ClipDetails:
    """``ApexF2`` (a second apex some clips have) as the extra column ``native_apex2``."""
    return ClipDetails(extra={"native_apex2": to_int(record.cells.get("apexf2"), f"{record.where} ApexF2")})


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


# ------------------------------------------------------------------ fake-layout writer
CASME_SHEET = "CASME-coding.xlsx"
CASME_HEADER = ("Subject", "Filename", "OnsetF", "ApexF1", "ApexF2", "OffsetF", "Emotion", "AU")

def write_fake_layout(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    """Write ``clips`` in the native casme layout under ``root`` (tests, ``microexpr synth``):
    ``CASME_raw_selected/subNN/<clip>/imgN.jpg``; ``CASME-coding.xlsx`` with
    ``Subject, Filename, OnsetF, ApexF1, ApexF2, OffsetF, Emotion, AU``.

    The spellings below are the official files' own, written out here rather than taken from
    the reader, so that a convention the reader gets wrong is not repeated by the writer."""
    if variant is not None:
        raise DatasetFormatError(f"casme has no variant {variant!r}")
    rows: list[list[Any]] = [list(CASME_HEADER)]
    for s in clips:
        write_frames(root / "CASME_raw_selected" / s.subject / s.clip, s, lambda n: f"img{n}.jpg")
        rows.append([
            digits(s.subject), s.clip, s.onset, apex_cell(s), s.extra.get("ApexF2"), s.offset,
            s.emotion, s.aus,
        ])
    save_sheet(root / CASME_SHEET, rows)
    return root

