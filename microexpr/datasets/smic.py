"""SMIC reader (HS: 100 fps, 16 subjects with micro-expressions; VIS/NIR: 25 fps).

Layout: ``ROOT/<HS|VIS|NIR>/sN/micro/<negative|positive|surprise>/<clip>/image<number>.bmp``
(ROOT may also be the variant folder itself). There is no spreadsheet: the label is the
folder name, onset and offset are the first and last frame, and there is **no apex**:
it is filled by ``apex`` (``middle`` by default, as ATNet and Micro-Attention do; or
``flow_peak``/``dc_rois``) and recorded in ``apex_source``. The ``non_micro`` trees are
ignored (listed in ``skipped``). Subjects are namespaced with two digits (``smic/s01``);
clip names stay as the folders spell them (``s1_ne_01``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from .base import ClipCollector, DatasetRead, RepairRule, RepairTable, check_option, clip_files
from .base import require_root, subject_dirs
from .layouts import ClipSpec, write_frames
from ..errors import DatasetFormatError, DatasetNotFoundError

NAME = "smic"
FPS = {"HS": 100.0, "VIS": 25.0, "NIR": 25.0}
EMOTIONS = frozenset({"negative", "positive", "surprise"})

# Repairs keyed by (subject folder "s1", clip folder). Fields: onset/apex/offset (frame
# numbers) and emotion. No known errors; kept so every reader repairs the same way.
REPAIRS: dict[tuple[str, str], tuple[RepairRule, ...]] = {}


def subject_id(folder: str) -> str:
    """``s1`` -> ``s01`` (the spelling of the composite lists)."""
    m = re.fullmatch(r"s(\d+)", folder.strip().lower())
    if not m:
        raise ValueError(folder)
    return f"s{int(m.group(1)):02d}"


def canonical_clip(name: str) -> str:
    """Clip name with the subject number unpadded (``s01_ne_01`` -> ``s1_ne_01``), for matching
    the composite spelling against the folders."""
    return re.sub(r"^s0*(\d+)_", lambda m: f"s{int(m.group(1))}_", str(name).strip().lower())


def read(
    root: str | Path,
    *,
    variant: str = "HS",
    apex: str = "middle",
    repairs: RepairTable | None = None,
    on_problem: str = "raise",
) -> DatasetRead:
    """Read a SMIC copy (one of HS, VIS, NIR) into a ClipTable."""
    check_option(NAME, "variant", variant, FPS)
    root = require_root(NAME, root, f"the {variant}/ folder with s1/micro/... inside")
    col = ClipCollector(NAME, REPAIRS, repairs)
    if (root / variant).is_dir():
        col.skipped += [(str(p), f"not the {variant} variant") for p in sorted(root.iterdir()) if p.name != variant]
        base = root / variant
    elif any(re.fullmatch(r"s\d+", p.name) and p.is_dir() for p in root.iterdir()):
        base = root
    else:
        raise DatasetNotFoundError(f"{NAME}: expected {variant}/s1/micro/<emotion>/<clip>/ in {root}; found none")
    for name, sdir in subject_dirs(NAME, base, col.skipped).items():
        try:
            sid = subject_id(name)
        except ValueError:
            col.skipped.append((str(sdir), "not a subject folder (sN)"))
            continue
        for part in sorted(sdir.iterdir()):
            if part.name != "micro":
                reason = "non-micro-expression clips are not used" if part.name == "non_micro" else "not part of the SMIC layout"
                col.skipped.append((str(part), reason))
                continue
            for edir in sorted(part.iterdir()):
                if not edir.is_dir():
                    col.skipped.append((str(edir), "not an emotion folder"))
                    continue
                for cdir in sorted(edir.iterdir()):
                    if not cdir.is_dir():
                        col.skipped.append((str(cdir), "not a clip folder"))
                        continue
                    frames, landmarks = clip_files(cdir, col.skipped)
                    values = col.repaired(name, cdir.name, {"onset": None, "apex": None, "offset": None, "emotion": edir.name})
                    col.add(
                        native_subject=name, subject_id=sid, clip=cdir.name, frames=frames, fps=FPS[variant],
                        onset=values["onset"], apex=values["apex"], offset=values["offset"],
                        emotion=values["emotion"], landmarks=landmarks,
                    )
    return col.finish(apex, on_problem)


# ------------------------------------------------------------------ fake-layout writer
def write_fake_layout(root: Path, clips: Sequence[ClipSpec], variant: str | None) -> Path:
    """Write ``clips`` in the native smic layout under ``root`` (tests, ``microexpr synth``):
    ``<variant>/sN/micro/<emotion>/<clip>/image<global number>.bmp`` (variant ``HS``
    default, ``VIS``, ``NIR``); a clip whose emotion is ``non_micro`` goes to
    ``<variant>/sN/non_micro/<clip>/``. SMIC has no sheet: onset/offset/apex of the ClipSpec
    are not written (the folder *is* the clip).

    The spellings below are the official files' own, written out here rather than taken from
    the reader, so that a convention the reader gets wrong is not repeated by the writer."""
    variant = variant or "HS"
    if variant not in {"HS", "VIS", "NIR"}:
        raise DatasetFormatError(f"smic variant must be 'HS', 'VIS' or 'NIR', got {variant!r}")
    for s in clips:
        if s.emotion == "non_micro":
            folder = root / variant / s.subject / "non_micro" / s.clip
        elif s.emotion in {"negative", "positive", "surprise"}:
            folder = root / variant / s.subject / "micro" / s.emotion / s.clip
        else:
            raise DatasetFormatError(
                f"smic clip {s.clip}: emotion must be negative/positive/surprise/non_micro, got {s.emotion!r}"
            )
        write_frames(folder, s, lambda n: f"image{n}.bmp")
    return root

