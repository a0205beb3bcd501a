"""SAMM Long Videos (200 fps, greyscale) and their micro- and macro-movement intervals.

Layout (as public code reading the MEGC releases uses it): ``ROOT/SAMM_longvideos/<sss>_<n>/
<sss>_<n>_<NNNN>.jpg`` (subject ``sss`` zero-padded to 3 digits, video ``n``, frame number)
and ``ROOT/SAMM_LongVideos_V<k>_Release.xlsx``: a few preamble rows, then a header row with
``Subject``, ``Filename`` (``<sss>_<n>_<expression>``), ``Inducement Code``, ``Onset``,
``Apex``, ``Offset``, ``Duration``, ``Type`` (``Micro - 1/2`` or ``Macro``), ``Action
Units``, ``Notes``; the header row is found by its cells, not by a fixed offset. Apex ``-1``
or empty means not annotated. Every folder is a long video, with or without expressions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..datasets.base import find_sheet, require_root, to_int
from ..datasets.layouts import ClipSpec, write_frames
from ..datasets.sheets import norm_header, read_rows
from ..errors import DatasetFormatError, DatasetNotFoundError
from ..video.frames import list_frames
from .videos import LongVideos, LongVideoSpec, VideoCollector, supplied_landmarks

NAME = "samm_long"
FPS = 200.0
REQUIRED = ("filename", "onset", "apex", "offset", "type")


def read(root: str | Path) -> LongVideos:
    """Every long video of a SAMM Long Videos copy with its annotated intervals."""
    root = require_root(NAME, root, "SAMM_LongVideos_V*_Release.xlsx and SAMM_longvideos/")
    sheet = find_sheet(NAME, root, ["SAMM_LongVideos*_Release.xlsx", "SAMM_LongVideos*.xlsx"],
                       "SAMM_LongVideos_V3_Release.xlsx")
    frames_dir = root / "SAMM_longvideos"
    if not frames_dir.is_dir():
        raise DatasetNotFoundError(f"{NAME}: expected the frames in {frames_dir}/<sss>_<n>/; not found")
    col = VideoCollector(NAME)
    keys: dict[str, str] = {}
    for vdir in sorted(p for p in frames_dir.iterdir() if p.is_dir()):
        subject = vdir.name.split("_")[0]
        if not subject.isdigit() or "_" not in vdir.name:
            col.skipped.append((str(vdir), "not a <sss>_<n> video folder"))
            continue
        keys[vdir.name] = col.add_video(subject, vdir.name, list_frames(vdir), FPS, supplied_landmarks(vdir))
    rows = read_rows(sheet)
    header_at = next((i for i, r in enumerate(rows) if all(h in {norm_header(c) for c in r} for h in REQUIRED)), None)
    if header_at is None:
        raise DatasetFormatError(f"{NAME}: {sheet.name} has no header row with {', '.join(REQUIRED)}; use the release's sheet")
    header = [norm_header(c) for c in rows[header_at]]
    at = {h: header.index(h) for h in REQUIRED}
    for n, r in enumerate(rows[header_at + 1:], start=header_at + 2):
        cells = {h: (r[i] if i < len(r) else None) for h, i in at.items()}
        if cells["filename"] is None or not str(cells["filename"]).strip():
            continue
        where = f"{sheet.name} row {n}"
        video = str(cells["filename"]).strip().rsplit("_", 1)[0]
        if video not in keys:
            raise DatasetFormatError(f"{NAME}: {where}: no folder {frames_dir / video} for {cells['filename']!r}")
        kind_text = str(cells["type"] or "").strip().lower()
        kind = "micro" if kind_text.startswith("micro") else "macro" if kind_text.startswith("macro") else None
        if kind is None:
            raise DatasetFormatError(f"{NAME}: {where}: Type {cells['type']!r} is neither Micro nor Macro")
        onset, apex, offset = (to_int(cells[h], f"{where} {h}") for h in ("onset", "apex", "offset"))
        if onset is None or offset is None:
            raise DatasetFormatError(f"{NAME}: {where}: Onset and Offset are required")
        col.add_truth(keys[video], kind, onset, None if apex is None or apex < 0 else apex, offset, None, where)
    return col.finish()


def write_fake_layout(root: Path, videos: Sequence[LongVideoSpec]) -> Path:
    """Write ``videos`` in the SAMM Long Videos layout (10 preamble rows, then the header; frame
    names with 4 digits). Spellings written here, independently of the reader."""
    root = Path(root)
    rows: list[list[Any]] = [["SAMM Long Videos"], ["Micro- and macro-movements, FACS coded"], []] + [[] for _ in range(7)]
    rows.append(["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
                 "Action Units", "Notes"])
    for v in videos:
        write_frames(root / "SAMM_longvideos" / v.video, ClipSpec(v.subject, v.video, v.frames,
                                                                  first_frame_number=v.first_frame_number,
                                                                  landmarks=v.landmarks),
                     lambda n, name=v.video: f"{name}_{n:04d}.jpg")
        for k, (kind, onset, apex, offset, _emotion) in enumerate(v.intervals, start=1):
            rows.append([v.subject, f"{v.video}_{k}", 1, onset, -1 if apex is None else apex, offset,
                         offset - onset + 1, "Micro - 1/2" if kind == "micro" else "Macro", "12", ""])
    from ..datasets.layouts import save_sheet

    save_sheet(root / "SAMM_LongVideos_V3_Release.xlsx", rows, "FACS_Codes")
    return root
