"""Sliding windows over a long video and the choice of candidate micro-expression intervals.

Decisions (the papers spot nothing in long videos; these are ours):

- Window length defaults to ``round(0.5 s * fps) + 1`` frames (at least 3): micro-expressions
  last under 0.5 s, so one window spans onset -> offset of any of them. The stride defaults
  to half a window, so every interval shorter than half a window lies inside one window.
- Each window's *motion score* is the peak of the smoothed mean dense-flow magnitude
  (pixels, at the crop's resolution) from the window's first frame (the curve of
  :func:`microexpr.motion.apex.flow_magnitude_curve`); its apex is that peak, its onset the
  window's first frame, its offset the first frame after the apex where the curve falls
  below half the peak (else the window's last frame).
- Candidates are chosen greedily by score, skipping any that overlap an already chosen
  interval (non-maximum suppression), up to ``top_k``. Only the best ``keep`` candidates
  (a small multiple of ``top_k``) keep their two face crops in memory, so memory stays
  bounded on a video of any length.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError

MICRO_MAX_SECONDS = 0.5


@dataclass(frozen=True)
class WindowSpec:
    """Window length and stride in frames."""

    length: int
    stride: int

    @classmethod
    def from_seconds(cls, fps: float, window_s: float | None = None, stride_s: float | None = None) -> "WindowSpec":
        """Frames for ``window_s`` seconds (default 0.5) and ``stride_s`` (default half the window)."""
        if window_s is not None and not window_s > 0:
            raise ConfigError(f"window length must be positive seconds, got {window_s}")
        if stride_s is not None and not stride_s > 0:
            raise ConfigError(f"window stride must be positive seconds, got {stride_s}")
        length = max(3, int(round((window_s or MICRO_MAX_SECONDS) * fps)) + 1)
        stride = max(1, int(round(stride_s * fps)) if stride_s else length // 2)
        return cls(length, stride)


def smooth(curve: np.ndarray, k: int = 3) -> np.ndarray:
    """Centred moving average over ``k`` frames with edge padding (as apex spotting uses)."""
    if k <= 1 or len(curve) < 2:
        return np.asarray(curve, dtype=np.float64)
    pad = k // 2
    xp = np.pad(np.asarray(curve, dtype=np.float64), (pad, k - 1 - pad), mode="edge")
    return np.convolve(xp, np.ones(k) / k, mode="valid")


def offset_after(curve: np.ndarray, apex: int) -> int:
    """First index after ``apex`` where ``curve`` drops below half its value at the apex (else the last)."""
    peak = curve[apex]
    for i in range(apex + 1, len(curve)):
        if curve[i] < 0.5 * peak:
            return i
    return len(curve) - 1


@dataclass
class Candidate:
    """One window's proposal: absolute frame indices, score, and (while kept) its face data."""

    onset: int
    apex: int
    offset: int
    score: float
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    def overlaps(self, other: "Candidate") -> bool:
        return self.onset <= other.offset and other.onset <= self.offset


class CandidatePool:
    """The ``keep`` highest-scoring candidates seen so far (a min-heap; ties keep the earlier)."""

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ConfigError(f"need to keep at least one candidate, got {keep}")
        self.keep = keep
        self._heap: list[tuple[float, int, Candidate]] = []
        self.seen = 0

    def add(self, cand: Candidate) -> None:
        score = cand.score if math.isfinite(cand.score) else -math.inf
        item = (score, -self.seen, cand)  # among equal scores the earlier window ranks higher
        self.seen += 1
        if len(self._heap) < self.keep:
            heapq.heappush(self._heap, item)
        elif item[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, item)

    def ranked(self) -> list[Candidate]:
        return [c for _, _, c in sorted(self._heap, key=lambda t: t[:2], reverse=True)]


def select_intervals(ranked: list[Candidate], top_k: int) -> list[Candidate]:
    """Greedy non-maximum suppression: best first, skipping overlaps, at most ``top_k``."""
    if top_k < 1:
        raise ConfigError(f"--top must be at least 1, got {top_k}")
    chosen: list[Candidate] = []
    for c in ranked:
        if len(chosen) == top_k:
            break
        if not any(c.overlaps(o) for o in chosen):
            chosen.append(c)
    return chosen
