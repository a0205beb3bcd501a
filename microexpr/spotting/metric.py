"""The MEGC spotting metric: interval matching at IoU >= 0.5, precision/recall/F1 pooled over videos.

Definitions (MEGC 2019-2022 spotting challenges; Li et al., "MEGC2019 / MEGC2020 spotting
baseline"): an interval is the inclusive frame range ``onset..offset``; the IoU of two
intervals counts frames, ``|A ∩ B| / |A ∪ B|``. A spotted interval is a true positive when
its IoU with a ground-truth interval of the same video (and, per type, the same type) is
at least ``threshold`` (0.5) and that ground truth is not matched yet. Counts are pooled over
every video of a dataset: ``precision = TP / spotted``, ``recall = TP / truths``, ``F1 =
2PR / (P + R)`` (0 when TP = 0). ``micro`` and ``macro`` compare spotted intervals of a type
with truths of that type; ``overall`` pools both types' TP, spotted and truth counts.

Our decisions where the challenge texts are silent, so that results do not depend on
input order: spotted intervals are matched in descending score (ties: earlier onset, then
shorter); each takes the unmatched truth with the highest IoU (ties: the earlier truth). A
spotted interval overlapping two truths matches at most one of them; the other stays a
false negative unless another spotted interval matches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MicroexprError

TYPES: tuple[str, ...] = ("micro", "macro")
THRESHOLD = 0.5


@dataclass(frozen=True)
class Interval:
    """``onset``..``offset`` (inclusive frame indices) of one video; ``kind`` micro | macro."""

    onset: int
    offset: int
    kind: str = "micro"
    score: float = 0.0
    apex: int | None = None

    def __post_init__(self) -> None:
        if self.offset < self.onset:
            raise MicroexprError(f"interval {self.onset}..{self.offset}: the offset is before the onset")
        if self.kind not in TYPES:
            raise MicroexprError(f"interval {self.onset}..{self.offset}: type {self.kind!r} is not one of {TYPES}")

    @property
    def length(self) -> int:
        return self.offset - self.onset + 1


def iou(a: Interval, b: Interval) -> float:
    """Frames shared over frames covered, of two inclusive intervals."""
    inter = min(a.offset, b.offset) - max(a.onset, b.onset) + 1
    if inter <= 0:
        return 0.0
    return inter / (a.length + b.length - inter)


def match(spotted: Sequence[Interval], truths: Sequence[Interval], threshold: float = THRESHOLD) -> list[int | None]:
    """For each spotted interval (in its given order), the index of the truth it matches, or None."""
    order = sorted(range(len(spotted)), key=lambda i: (-spotted[i].score, spotted[i].onset, spotted[i].length))
    taken: set[int] = set()
    out: list[int | None] = [None] * len(spotted)
    for i in order:
        best, best_iou = None, threshold
        for j, t in enumerate(truths):
            if j in taken:
                continue
            v = iou(spotted[i], t)
            if v >= best_iou and (best is None or v > best_iou):
                best, best_iou = j, v
        if best is not None:
            taken.add(best)
            out[i] = best
    return out


@dataclass
class Counts:
    tp: int = 0
    spotted: int = 0
    truths: int = 0

    def add(self, other: "Counts") -> None:
        self.tp += other.tp
        self.spotted += other.spotted
        self.truths += other.truths

    def scores(self) -> dict[str, Any]:
        p = self.tp / self.spotted if self.spotted else 0.0
        r = self.tp / self.truths if self.truths else 0.0
        f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
        return {"tp": self.tp, "fp": self.spotted - self.tp, "fn": self.truths - self.tp, "precision": p, "recall": r,
                "f1": f1}


def video_counts(spotted: Iterable[Interval], truths: Iterable[Interval],
                 threshold: float = THRESHOLD) -> dict[str, Counts]:
    """Per type, TP / spotted / truth counts of one video (types matched separately)."""
    spotted, truths = list(spotted), list(truths)
    out = {}
    for kind in TYPES:
        s = [x for x in spotted if x.kind == kind]
        t = [x for x in truths if x.kind == kind]
        tp = sum(m is not None for m in match(s, t, threshold))
        out[kind] = Counts(tp, len(s), len(t))
    return out


def spotting_scores(videos: Iterable[tuple[Sequence[Interval], Sequence[Interval]]],
                    threshold: float = THRESHOLD) -> dict[str, dict[str, Any]]:
    """``{"micro": ..., "macro": ..., "overall": ...}`` with TP, FP, FN, precision, recall, F1
    pooled over ``videos`` (each a pair: spotted intervals, truth intervals)."""
    totals = {kind: Counts() for kind in TYPES}
    for spotted, truths in videos:
        for kind, c in video_counts(spotted, truths, threshold).items():
            totals[kind].add(c)
    overall = Counts()
    for c in totals.values():
        overall.add(c)
    return {**{k: c.scores() for k, c in totals.items()}, "overall": overall.scores()}
