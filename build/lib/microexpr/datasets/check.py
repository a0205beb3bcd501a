"""``check_dataset``: validate a local copy and list every problem (``microexpr datasets check``).

Problems found: sheet rows without a frame folder, empty clip folders, onset/apex/offset
frames without a file, apex outside onset..offset, missing frame files inside
onset..offset (a gap in the file numbers), emotions the dataset does not define (and,
with ``scheme``, emotions the scheme does not list), truncated JPEGs and frames of another
size than the rest of their clip (every reader refuses those, naming each file), and frames
that do not decode strictly (every frame is decoded by Pillow, which refuses truncated
data, and by OpenCV). The reader runs with ``on_problem="skip"`` so one bad clip
does not hide the others.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import pandas as pd

from . import read_dataset, reader_module
from ..video.frames import frame_file_problems
from .base import Repair, frame_number
from ..errors import DatasetFormatError, MicroexprError


@dataclass
class CheckReport:
    """Result of :func:`check_dataset`; ``ok`` is True when there are no problems."""

    dataset: str
    root: str
    table: pd.DataFrame
    repairs: list[Repair] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    scheme_summary: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        t = self.table
        lines = [f"{self.dataset} at {self.root}: {len(t)} clips, {t['subject'].nunique() if len(t) else 0} subjects"]
        lines.append("clips per emotion:")
        for emo, n in sorted(Counter(t["emotion"]).items()):
            lines.append(f"  {emo or '(empty)'}: {n}")
        lines.append("clips per subject:")
        for sub, n in sorted(Counter(t["subject"]).items()):
            lines.append(f"  {sub}: {n}")
        if "apex_source" in t.columns and len(t):
            lines.append("apex source: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(t["apex_source"]).items())))
        lines.append(f"repairs applied: {len(self.repairs)}")
        for r in self.repairs:
            lines.append(f"  {r.subject}/{r.clip} {r.field}: {r.old} -> {r.new} ({r.reason})")
        lines.append(f"skipped items: {len(self.skipped)}")
        for path, reason in self.skipped[:50]:
            lines.append(f"  {path}: {reason}")
        if len(self.skipped) > 50:
            lines.append(f"  ... and {len(self.skipped) - 50} more")
        if self.scheme_summary:
            lines.append(self.scheme_summary)
        lines.append(f"problems: {len(self.problems)}")
        for key, msg in self.problems:
            lines.append(f"  PROBLEM {key}: {msg}")
        lines.append("OK" if self.ok else f"FAILED: {len(self.problems)} problem(s)")
        return "\n".join(lines)


def check_dataset(
    name: str, root: str | Path, /, *, scheme: str | None = None, decode: bool = True, progress: bool = False,
    **options: Any,
) -> CheckReport:
    """Read ``name`` at ``root`` (reader ``options`` as for ``read_dataset``) and list its problems."""
    options = {**options, "on_problem": "skip"}
    result = read_dataset(name, root, check_frames=not decode, **options)
    table = result.table
    problems = list(result.problems)
    known = {e.lower() for e in getattr(reader_module(name), "EMOTIONS", ())}
    frames_iter = table.itertuples(index=False)
    if progress:
        from tqdm import tqdm

        frames_iter = tqdm(frames_iter, total=len(table), desc=f"checking {name}", unit="clip")
    for row in frames_iter:
        if known and str(row.emotion).strip().lower() not in known:
            problems.append((row.key, f"unknown emotion {row.emotion!r}; {name} defines {sorted(known)}"))
        problems += _gaps(row)
        if decode:
            problems += [(row.key, msg) for msg in frame_file_problems(list(row.frames), decode=True)]
            for p in row.frames:
                if cv2.imread(p, cv2.IMREAD_UNCHANGED) is None:
                    problems.append((row.key, f"corrupt or unreadable image {p}"))
    scheme_summary = None
    if scheme is not None:
        from ..labels import apply_scheme

        try:
            _, _, rep = apply_scheme(table, scheme)
            scheme_summary = rep.summary()
        except DatasetFormatError as exc:
            problems.append((name, str(exc)))
        except MicroexprError as exc:
            scheme_summary = f"label scheme {scheme}: not applicable: {exc}"
    return CheckReport(
        dataset=name, root=str(root), table=table, repairs=result.repairs, skipped=result.skipped,
        problems=problems, scheme_summary=scheme_summary,
    )


def _gaps(row: Any) -> list[tuple[str, str]]:
    """Missing frame numbers between the onset and offset files of one clip."""
    try:
        nums = [frame_number(p) for p in row.frames[int(row.onset) : int(row.offset) + 1]]
    except DatasetFormatError:
        return []  # frames without numbers (e.g. a manifest's stills): nothing to compare
    missing = sorted(set(range(nums[0], nums[-1] + 1)) - set(nums)) if nums else []
    if not missing:
        return []
    shown = ", ".join(str(m) for m in missing[:10]) + (" ..." if len(missing) > 10 else "")
    return [(row.key, f"{len(missing)} frame file(s) missing inside onset..offset: frame number(s) {shown}")]
