"""Clips listed in a coding sheet: the one loop the sheet-driven readers share.

CASME, CASME II and SAMM each ship a coding sheet whose records name a subject, a clip
folder, onset/apex/offset frame numbers, an emotion and action units, beside a folder
``<frames_dir>/<subject folder>/<clip>/`` of frames. :func:`collect_sheet_clips` turns
those records into clips of a :class:`~microexpr.datasets.base.ClipCollector`, so that
reading a cell, applying the keyed repairs, finding the frame folder and reporting what is
missing or unused happen the same way (with the same messages) in every such reader. What
differs between the sheets (column names, subject folder spelling, how records are
numbered) is a :class:`SheetLayout`; what a reader adds per clip (CASME's second apex,
the objective classes) comes from its ``details`` callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import DatasetFormatError
from .base import ClipCollector, clip_files, norm_subject_number, to_int
from .sheets import norm_header


@dataclass(frozen=True)
class SheetLayout:
    """How one dataset's coding sheet is laid out.

    Column names are spelt as in the sheet: they are matched after
    :func:`~microexpr.datasets.sheets.norm_header` and quoted as spelt in error messages.
    ``subject_folder`` formats the subject number as the frames folder names it
    (``"sub{:02d}"`` -> ``sub01``). Records are numbered from ``first_record`` and called
    ``record_word`` in messages: ``2``/``"row"`` when the header is the sheet's first row
    (so the number is the spreadsheet row), ``1``/``"record"`` when the header's row varies
    (SAMM's preamble) and the number counts records.
    """

    onset: str
    apex: str
    offset: str
    emotion: str
    aus: str
    subject_folder: str = "sub{:02d}"
    first_record: int = 2
    record_word: str = "row"

    @property
    def header(self) -> list[str]:
        """The columns a header row must hold for the sheet to be this dataset's."""
        return ["Subject", "Filename", self.onset, self.apex, self.offset]


@dataclass(frozen=True)
class SheetRecord:
    """One sheet record being read, as handed to a reader's ``details`` callback."""

    cells: Mapping[str, Any]
    """The record's cells keyed by normalised header (``norm_header``)."""
    where: str
    """``"<sheet file> row N"`` (or ``record N``): the prefix of this record's error messages."""
    subject_number: int
    subject: str
    """The native subject folder name (``sub01``, ``006``): the first half of a repair key."""
    clip: str


@dataclass(frozen=True)
class ClipDetails:
    """What a reader adds to one clip beyond the shared columns."""

    objective_class: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def collect_sheet_clips(
    col: ClipCollector,
    sheet: Path,
    records: Sequence[Mapping[str, Any]],
    layout: SheetLayout,
    *,
    frames_dir: Path,
    subjects: Mapping[str, Path],
    fps: float,
    frame_prefix: str | None = None,
    details: Callable[[SheetRecord], ClipDetails] | None = None,
) -> None:
    """Add one clip to ``col`` per record of ``sheet``, then list unused clip folders.

    For each record: the onset/apex/offset cells are read as frame numbers (a bad cell
    raises naming the sheet, record and column); the keyed repairs of
    ``(subject folder, Filename)`` are applied; the frame folder is
    ``subjects[subject] / Filename`` (``frames_dir / subject / Filename`` for a subject
    with no folder) and a missing one is a problem of the clip naming the record and the
    folder looked for (the clip is then left out, per ``on_problem``). Frame files whose
    name does not start with ``frame_prefix`` (when given) are listed in ``col.skipped``
    rather than used. ``details`` is asked only for clips whose folder exists. Finally
    every entry of a subject folder that no record named is listed in ``col.skipped``.
    """
    if records and norm_header(layout.emotion) not in records[0]:
        raise DatasetFormatError(f"coding sheet {sheet} has no {layout.emotion!r} column (its columns: "
                                 f"{sorted(k for k in records[0])}); restore the column from the original sheet")
    used: set[Path] = set()
    seen: dict[tuple[str, str], str] = {}
    for n, cells in enumerate(records, start=layout.first_record):
        where = f"{sheet.name} {layout.record_word} {n}"
        num = norm_subject_number(cells["subject"], where)
        sub = layout.subject_folder.format(num)
        clip = str(cells["filename"]).strip()
        if (sub, clip) in seen:
            raise DatasetFormatError(f"{where}: clip {sub}/{clip} is listed twice in {sheet} (also {seen[(sub, clip)]}); "
                                     "delete one of the two rows, or correct its Filename")
        seen[(sub, clip)] = f"{layout.record_word} {n}"
        values = col.repaired(sub, clip, {
            "onset": to_int(cells[norm_header(layout.onset)], f"{where} {layout.onset}"),
            "apex": to_int(cells[norm_header(layout.apex)], f"{where} {layout.apex}"),
            "offset": to_int(cells[norm_header(layout.offset)], f"{where} {layout.offset}"),
            "emotion": cells.get(norm_header(layout.emotion)),
        })
        folder = subjects.get(sub, frames_dir / sub) / clip
        if not folder.is_dir():
            col.problem(f"{col.dataset}/{sub}/{clip}", f"sheet {layout.record_word} {n} has no frame folder {folder}; "
                        "restore the folder, or correct the sheet's Filename with repairs=")
            continue
        used.add(folder)
        frames, landmarks = clip_files(folder, col.skipped)
        if frame_prefix is not None:
            col.skipped += [(str(p), f"frame name does not start with {frame_prefix}")
                            for p in frames if not p.name.startswith(frame_prefix)]
            frames = [p for p in frames if p.name.startswith(frame_prefix)]
        more = details(SheetRecord(cells, where, num, sub, clip)) if details is not None else ClipDetails()
        col.add(
            native_subject=sub, subject_id=sub, clip=clip, frames=frames, fps=fps,
            onset=values["onset"], apex=values["apex"], offset=values["offset"],
            emotion=values["emotion"], aus=cells.get(norm_header(layout.aus), ""),
            objective_class=more.objective_class, landmarks=landmarks, extra=more.extra,
        )
    for sdir in subjects.values():
        col.skipped += [(str(p), "not listed in the coding sheet") for p in sorted(sdir.iterdir()) if p not in used]
