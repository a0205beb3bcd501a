"""Sliding-window arithmetic, candidate pool and interval selection, against hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from microexpr.errors import ConfigError
from microexpr.predict.pipeline import _slide
from microexpr.predict.windows import Candidate, CandidatePool, WindowSpec, offset_after, select_intervals, smooth


def test_window_spec_from_seconds():
    assert WindowSpec.from_seconds(30.0) == WindowSpec(16, 8)  # round(0.5 * 30) + 1 = 16 frames, half stride
    assert WindowSpec.from_seconds(200.0) == WindowSpec(101, 50)
    assert WindowSpec.from_seconds(25.0, 1.0, 0.2) == WindowSpec(26, 5)
    assert WindowSpec.from_seconds(2.0) == WindowSpec(3, 1)  # at least 3 frames
    with pytest.raises(ConfigError):
        WindowSpec.from_seconds(30.0, -1.0)


class _Stream(list):
    path = Path("fake")


def test_slide_visits_every_stride_and_the_tail_with_bounded_buffers():
    frames = _Stream(np.full((2, 2), i, np.uint8) for i in range(20))
    seen: list[tuple[int, list[int]]] = []
    n = _slide(frames, WindowSpec(5, 2), {"decode": 0.0}, _NoBar(), lambda fr, s: seen.append((s, [int(f[0, 0]) for f in fr])))
    assert n == 20
    assert [s for s, _ in seen] == [0, 2, 4, 6, 8, 10, 12, 14, 15]
    assert all(fr == list(range(s, s + 5)) for s, fr in seen)  # each window holds exactly its frames
    short: list[int] = []
    _slide(_Stream(frames[:3]), WindowSpec(5, 2), {"decode": 0.0}, _NoBar(), lambda fr, s: short.append(len(fr)))
    assert short == [3]  # a clip shorter than a window is one window


class _NoBar:
    def update(self, k: int) -> None:
        pass


def test_smooth_and_offset():
    np.testing.assert_allclose(smooth(np.array([0.0, 3.0, 0.0, 3.0])), [1.0, 1.0, 2.0, 2.0])  # edge-padded mean of 3
    curve = np.array([0.0, 1.0, 4.0, 3.0, 1.9, 1.0])
    assert offset_after(curve, 2) == 4  # first value below 4 / 2 after the apex
    assert offset_after(np.array([0.0, 2.0, 1.5]), 1) == 2  # never below half: last frame


def test_pool_keeps_the_best_and_selection_skips_overlaps():
    pool = CandidatePool(3)
    for onset, score in [(0, 1.0), (8, 5.0), (16, 4.0), (24, 0.5), (32, 4.5)]:
        pool.add(Candidate(onset, onset + 5, onset + 10, score))
    assert [c.onset for c in pool.ranked()] == [8, 32, 16]
    # 8..18 and 16..26 overlap: 16 is skipped
    assert [c.onset for c in select_intervals(pool.ranked(), 3)] == [8, 32]
    assert [c.onset for c in select_intervals(pool.ranked(), 1)] == [8]
    with pytest.raises(ConfigError):
        select_intervals(pool.ranked(), 0)
