"""CAS(ME)^2 long videos (30 fps) and their micro- and macro-expression intervals.

Layout (public code that reads the release agrees on it; the column order of the naming
sheets is not documented, so digits are read where they are): ``ROOT/CAS(ME)^2code_final*.xlsx``
with the codes sheet (``CASMEcode_final``, or ``CASFEcode_final`` in some copies; no header
row: participant, ``<video name>_<n>``, onset, apex, offset, AUs, estimated emotion,
``micro-expression`` | ``macro-expression``, self-reported emotion), ``naming rule1`` (a row
per participant: folder number, folder name, participant number) and ``naming rule2`` (a row
per stimulus: 4-digit code such as ``0101``, video name such as ``disgust1``); frames in
``ROOT/rawpic/s<folder>/<folder>_<code><stimulus>/imgN.jpg``. Every folder under ``rawpic/``
is a long video, with or without annotated expressions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from ..datasets.base import find_sheet, require_root, to_int
from ..video.frames import list_frames
from ..datasets.layouts import ClipSpec, write_frames
from ..datasets.sheets import read_rows
from ..errors import DatasetFormatError, DatasetNotFoundError
from .videos import LongVideos, LongVideoSpec, VideoCollector, supplied_landmarks

NAME = "casme_sq_long"
FPS = 30.0
CODE_SHEETS = ("CASMEcode_final", "CASFEcode_final")


def _digits(value: Any) -> int | None:
    m = re.search(r"\d+", str(value if value is not None else ""))
    return int(m.group()) if m else None


def read(root: str | Path) -> LongVideos:
    """Every long video of a CAS(ME)^2 copy with its annotated intervals."""
    from openpyxl import load_workbook

    root = require_root(NAME, root, "CAS(ME)^2code_final.xlsx and rawpic/")
    sheet = find_sheet(NAME, root, ["CAS(ME)^2code_final*.xlsx", "CAS(ME)*code*.xlsx"], "CAS(ME)^2code_final.xlsx")
    raw = root / "rawpic"
    if not raw.is_dir():
        raise DatasetNotFoundError(f"{NAME}: expected the long videos' frames in {raw}/s<NN>/<video>/; not found")
    names = load_workbook(sheet, read_only=True).sheetnames
    codes_sheet = next((s for s in CODE_SHEETS if s in names), names[0])
    for needed in ("naming rule1", "naming rule2"):
        if needed not in names:
            raise DatasetFormatError(f"{NAME}: {sheet.name} has no sheet {needed!r} (sheets: {names}); it maps the "
                                     "codes sheet to the rawpic folders: use the original workbook")
    folder_of = {}
    for r in read_rows(sheet, "naming rule1"):
        if r and len(r) >= 3 and _digits(r[2]) is not None and (_digits(r[0]) or _digits(r[1])) is not None:
            folder_of[int(_digits(r[2]))] = int(_digits(r[0]) if _digits(r[0]) is not None else _digits(r[1]))
    code_of = {}
    for r in read_rows(sheet, "naming rule2"):
        if r and len(r) >= 2 and _digits(r[0]) is not None and r[1] is not None:
            code_of[str(r[1]).strip().lower()] = int(_digits(r[0]))
    col = VideoCollector(NAME)
    keys: dict[tuple[int, int], str] = {}
    for sdir in sorted(p for p in raw.iterdir() if p.is_dir()):
        folder = _digits(sdir.name)
        for vdir in sorted(p for p in sdir.iterdir() if p.is_dir()):
            m = re.match(r"(\d+)_(\d{4})", vdir.name)
            if folder is None or m is None:
                col.skipped.append((str(vdir), "not a <folder>_<code><stimulus> video folder"))
                continue
            keys[(folder, int(m.group(2)))] = col.add_video(sdir.name, vdir.name, list_frames(vdir), FPS, supplied_landmarks(vdir))
        col.skipped += [(str(p), "not a video folder") for p in sdir.iterdir() if not p.is_dir()]
    for n, r in enumerate(read_rows(sheet, codes_sheet), start=1):
        if not r or r[0] is None or not str(r[0]).strip():
            continue
        where = f"{sheet.name} ({codes_sheet}) row {n}"
        r = tuple(r) + (None,) * (9 - len(r))
        participant = _digits(r[0])
        if participant not in folder_of:
            raise DatasetFormatError(f"{NAME}: {where}: participant {r[0]!r} is not in 'naming rule1'")
        name = str(r[1]).strip().rsplit("_", 1)[0].lower()
        if name not in code_of:
            raise DatasetFormatError(f"{NAME}: {where}: video name {name!r} has no code in 'naming rule2'")
        key = keys.get((folder_of[participant], code_of[name]))
        if key is None:
            raise DatasetFormatError(f"{NAME}: {where}: no folder rawpic/s{folder_of[participant]}/"
                                     f"{folder_of[participant]}_{code_of[name]:04d}* for video {name!r}")
        kind_text = str(r[7] or "").strip().lower()
        kind = "micro" if kind_text.startswith("micro") else "macro" if kind_text.startswith("macro") else None
        if kind is None:
            raise DatasetFormatError(f"{NAME}: {where}: expression type {r[7]!r} is neither micro- nor macro-expression")
        onset, apex, offset = (to_int(r[i], f"{where} {w}") for i, w in ((2, "onset"), (3, "apex"), (4, "offset")))
        if onset is None or offset is None:
            raise DatasetFormatError(f"{NAME}: {where}: onset and offset are required")
        # CAS(ME)^2 writes apex 0 where it is not annotated
        col.add_truth(key, kind, onset, apex if apex else None, offset, r[6], where)
    return col.finish()


def write_fake_layout(root: Path, videos: Sequence[LongVideoSpec]) -> Path:
    """Write ``videos`` in the CAS(ME)^2 long-video layout (subjects ``s15``...; ``extra``: ``code``
    (int, e.g. 101) and ``stimulus`` (folder suffix); ``intervals`` go to the codes sheet). The
    sheet and folder spellings are written here independently of the reader."""
    root = Path(root)
    participants: dict[str, int] = {}
    names: dict[int, str] = {}
    codes: list[list[Any]] = []
    for v in videos:
        folder = int(re.sub(r"\D", "", v.subject))
        participant = participants.setdefault(v.subject, len(participants) + 1)
        code = int(v.extra.get("code", 101 + len(names)))
        names[code] = v.video
        vdir = root / "rawpic" / v.subject / f"{folder}_{code:04d}{v.extra.get('stimulus', v.video)}"
        write_frames(vdir, ClipSpec(v.subject, v.video, v.frames, first_frame_number=v.first_frame_number,
                                    landmarks=v.landmarks), lambda n: f"img{n}.jpg")
        for k, (kind, onset, apex, offset, emotion) in enumerate(v.intervals, start=1):
            codes.append([participant, f"{v.video}_{k}", onset, 0 if apex is None else apex, offset, "12",
                          emotion, f"{kind}-expression", emotion])
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "CASMEcode_final"
    for row in codes:
        ws.append(row)
    rule1 = wb.create_sheet("naming rule1")
    for subject, participant in participants.items():
        folder = int(re.sub(r"\D", "", subject))
        rule1.append([folder, f"s{folder}", participant])
    rule2 = wb.create_sheet("naming rule2")
    for code, name in sorted(names.items()):
        rule2.append([f"{code:04d}", name])
    root.mkdir(parents=True, exist_ok=True)
    wb.save(root / "CAS(ME)^2code_final.xlsx")
    return root
