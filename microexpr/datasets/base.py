"""Pieces every dataset reader shares: results, repairs, frame numbering, apex filling.

A reader turns a native folder into :class:`DatasetRead`. Readers never guess silently:

* every change to an annotation is a :class:`RepairRule` keyed by ``(subject, clip)`` in
  the dataset module's ``REPAIRS`` dict (the ONE place per dataset) or passed by the user
  (``repairs=`` option), and each applied one is returned as a :class:`Repair`;
* every file or folder the reader does not use is returned in ``skipped`` with a reason;
* a clip whose annotation cannot be used (frame missing, apex outside onset..offset,
  sheet row without frames...) is a *problem*: by default (``on_problem="raise"``) the
  reader raises one :class:`DatasetFormatError` listing all of them; with
  ``on_problem="skip"`` the clips are left out and listed in ``DatasetRead.problems``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from ..cliptable import make_key, namespaced_subject, new_clip_table, parse_aus
from ..errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from ..video.frames import FRAME_EXTENSIONS, list_frames
from .apex_fill import APEX_RULES

log = logging.getLogger(__name__)

STRAY_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
LANDMARKS_FILE = "landmarks68.npy"


@dataclass(frozen=True)
class RepairRule:
    """A keyed correction: set ``field`` (a native frame number or a sheet value) from
    ``old`` to ``new``. Applied only when the source still says ``old`` (so a corrected
    release is left alone, and the non-application is visible in the result)."""

    field: str
    old: Any
    new: Any
    reason: str


@dataclass(frozen=True)
class Repair:
    """A repair that was applied to one clip."""

    dataset: str
    subject: str
    clip: str
    field: str
    old: Any
    new: Any
    reason: str


@dataclass
class DatasetRead:
    """What a reader returns: the ClipTable, applied repairs, ignored items, (with
    ``on_problem="skip"``) the clips left out as ``(key, message)``, and the rule that fills
    missing apexes. :func:`microexpr.datasets.read_dataset` checks the frames, then fills the
    apexes with that rule (a step of its own: readers never touch motion code)."""

    table: pd.DataFrame
    repairs: list[Repair] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    apex_rule: str = "midpoint"


RepairTable = Mapping[tuple[str, str], Iterable[RepairRule]]


def require_root(dataset: str, root: str | Path, expected: str) -> Path:
    """Return ``root`` as a Path or raise the one instructive not-found error."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetNotFoundError(
            f"{dataset}: dataset root {path} does not exist or is not a folder; expected {expected}. "
            f"Pass the folder of your licensed copy with --root (or --data {dataset}=DIR)."
        )
    return path.resolve()


def check_option(dataset: str, name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise :class:`ConfigError` when an option value is not one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(f"{dataset}: option {name}={value!r} is not one of {list(allowed)}")


def is_stray(path: Path) -> bool:
    """True for OS litter and files no reader uses (``.DS_Store``, ``Thumbs.db``, hidden)."""
    return path.name.lower() in STRAY_NAMES or path.name.startswith(".")


def find_sheet(dataset: str, root: Path, patterns: Iterable[str], description: str) -> Path:
    """The first file in ``root`` matching one of the glob ``patterns`` (sorted), or raise."""
    for pattern in patterns:
        hits = sorted(p for p in root.glob(pattern) if p.is_file() and not p.name.startswith("~$"))
        if hits:
            return hits[0]
    raise DatasetNotFoundError(f"{dataset}: expected {description} in {root}; found none")


def frame_number(path: str | Path) -> int:
    """The frame number in a frame file name: the last run of digits of its stem."""
    nums = re.findall(r"\d+", Path(path).stem)
    if not nums:
        raise DatasetFormatError(f"frame file {path} has no frame number in its name")
    return int(nums[-1])


def to_int(value: Any, what: str) -> int | None:
    """A sheet cell as an int; ``None`` for ``/``, empty or NaN; raise naming ``what`` otherwise."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if not value.is_integer():
            raise DatasetFormatError(f"{what}: expected a whole frame number, got {value}")
        return int(value)
    if isinstance(value, int):
        return int(value)
    s = str(value).strip()
    if s in {"", "/", "-", "nan", "NaN"}:
        return None
    try:
        f = float(s)
    except ValueError:
        raise DatasetFormatError(f"{what}: expected a frame number, got {value!r}") from None
    if not f.is_integer():
        raise DatasetFormatError(f"{what}: expected a whole frame number, got {value!r}")
    return int(f)


def clip_files(folder: Path, skipped: list[tuple[str, str]]) -> tuple[list[Path], str | None]:
    """Frames of a clip folder (natural order) and its ``landmarks68.npy`` if present.

    Anything else in the folder is appended to ``skipped``.
    """
    frames = list_frames(folder)
    landmarks = None
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in FRAME_EXTENSIONS and not p.name.startswith("."):
            continue
        if p.name == LANDMARKS_FILE:
            landmarks = str(p)
            continue
        skipped.append((str(p), "not a frame file"))
    return frames, landmarks


class ClipCollector:
    """Builds the rows of one dataset: applies repairs, converts frame numbers to positions,
    records problems, then makes the ClipTable and fills apexes."""

    def __init__(self, dataset: str, repairs: RepairTable, extra: RepairTable | None) -> None:
        self.dataset = dataset
        self.rules: dict[tuple[str, str], list[RepairRule]] = {}
        for table in (repairs, extra or {}):
            for k, rules in table.items():
                self.rules.setdefault((str(k[0]), str(k[1])), []).extend(rules)
        self.rows: list[dict[str, Any]] = []
        self.repairs: list[Repair] = []
        self.skipped: list[tuple[str, str]] = []
        self.problems: list[tuple[str, str]] = []

    def repaired(self, subject: str, clip: str, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with the keyed repairs of (native subject, clip) applied and recorded."""
        out = dict(values)
        for rule in self.rules.get((subject, clip), []):
            if rule.field not in out:
                raise DatasetFormatError(f"{self.dataset}: repair of {subject}/{clip} names unknown field {rule.field!r}")
            if out[rule.field] == rule.old:
                out[rule.field] = rule.new
                self.repairs.append(Repair(self.dataset, subject, clip, rule.field, rule.old, rule.new, rule.reason))
        return out

    def problem(self, key: str, message: str) -> None:
        self.problems.append((key, message))

    def add(
        self,
        *,
        native_subject: str,
        subject_id: str,
        clip: str,
        frames: list[Path],
        fps: float,
        onset: int | None,
        apex: int | None,
        offset: int | None,
        emotion: Any,
        aus: Any = "",
        numbers: bool = True,
        objective_class: Any = None,
        landmarks: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Add one clip. With ``numbers=True`` onset/apex/offset are frame numbers (as in
        file names) and are converted to positions; otherwise they are already positions.
        ``None`` onset/offset mean the first/last frame; ``None`` apex stays missing."""
        subject = namespaced_subject(self.dataset, subject_id)
        key = make_key(subject, clip)
        if not frames:
            self.problem(key, "clip folder has no frame files")
            return
        if numbers:
            nums = [frame_number(p) for p in frames]
            pos = {n: i for i, n in enumerate(nums)}
            resolved: dict[str, int | None] = {}
            for name, value in (("onset", onset), ("apex", apex), ("offset", offset)):
                if value is None:
                    resolved[name] = None
                elif value in pos:
                    resolved[name] = pos[value]
                else:
                    self.problem(
                        key,
                        f"{name} frame {value} has no frame file (files number {nums[0]}..{nums[-1]}); "
                        f"fix the copy or add a repair for ({native_subject!r}, {clip!r})",
                    )
                    return
            native = {"native_onset": onset, "native_apex": apex, "native_offset": offset}
            onset_p, apex_p, offset_p = resolved["onset"], resolved["apex"], resolved["offset"]
        else:
            onset_p, apex_p, offset_p = onset, apex, offset
            native = {}
        onset_p = 0 if onset_p is None else onset_p
        offset_p = len(frames) - 1 if offset_p is None else offset_p
        if not (0 <= onset_p <= offset_p < len(frames)):
            self.problem(key, f"onset ({onset}) is after offset ({offset})")
            return
        if apex_p is not None and not (onset_p <= apex_p <= offset_p):
            self.problem(key, f"apex frame {apex} outside onset..offset ({onset}..{offset})")
            return
        row = {
            "dataset": self.dataset,
            "subject": subject,
            "clip": clip,
            "key": key,
            "frames": tuple(str(p) for p in frames),
            "fps": float(fps),
            "onset": onset_p,
            "apex": apex_p,
            "offset": offset_p,
            "apex_source": "annotated" if apex_p is not None else "missing",
            "emotion": "" if emotion is None else str(emotion).strip(),
            "aus": parse_aus(aus),
            "objective_class": objective_class,
            "landmarks": landmarks,
            **native,
            **(extra or {}),
        }
        self.rows.append(row)

    def finish(self, apex_rule: str, on_problem: str) -> DatasetRead:
        check_option(self.dataset, "on_problem", on_problem, ("raise", "skip"))
        if self.problems and on_problem == "raise":
            raise problems_error(self.dataset, self.problems)
        for key, msg in self.problems:
            log.warning("%s: leaving out %s: %s", self.dataset, key, msg)
        table = new_clip_table(self.rows)
        if "landmarks" in table.columns:
            table["landmarks"] = table["landmarks"].astype(object).where(table["landmarks"].notna(), None)
        check_option(self.dataset, "apex", apex_rule, APEX_RULES)
        return DatasetRead(table=table, repairs=self.repairs, skipped=self.skipped, problems=self.problems,
                           apex_rule=apex_rule)


def problems_error(dataset: str, problems: list[tuple[str, str]]) -> DatasetFormatError:
    """The error of a read that found clips it cannot use (``on_problem: raise``), listing them."""
    lines = "\n".join(f"  {k}: {m}" for k, m in problems[:30])
    more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
    return DatasetFormatError(
        f"{dataset}: {len(problems)} clip(s) cannot be used:\n{lines}{more}\n"
        f"Run `microexpr datasets check --dataset {dataset} --root DIR` for the full list; "
        f"to leave these clips out, add `--option {dataset}.on_problem=skip` to `microexpr run` "
        f"(data.options.{dataset}.on_problem: skip in a config)."
    )


def norm_subject_number(value: Any, what: str) -> int:
    """A subject cell (``1``, ``1.0``, ``"01"``, ``"sub01"``, ``"s1"``) as an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    m = re.search(r"\d+", str(value))
    if not m:
        raise DatasetFormatError(f"{what}: subject cell {value!r} has no number")
    return int(m.group())


def subject_dirs(dataset: str, parent: Path, skipped: list[tuple[str, str]]) -> dict[str, Path]:
    """Sub-folders of ``parent`` by name; files there are recorded as skipped."""
    out = {}
    for p in sorted(parent.iterdir()):
        if p.is_dir() and not p.name.startswith("."):
            out[p.name] = p
        else:
            skipped.append((str(p), "not a folder of the dataset layout"))
    return out
