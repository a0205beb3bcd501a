"""The MEGC interval metric on hand-made interval sets; every expected number is worked out by
hand in the comments (frames are inclusive: 0..9 is 10 frames)."""

from __future__ import annotations

import pytest

from microexpr.errors import MicroexprError
from microexpr.spotting.metric import Interval, iou, match, spotting_scores


def I(a: int, b: int, kind: str = "micro", score: float = 0.0) -> Interval:  # noqa: E743
    return Interval(a, b, kind, score)


def test_iou_counts_inclusive_frames():
    assert iou(I(0, 9), I(0, 9)) == 1.0
    assert iou(I(0, 9), I(0, 4)) == 0.5          # 5 shared / 10 covered
    assert iou(I(0, 9), I(0, 3)) == 0.4          # 4 / 10
    assert iou(I(0, 9), I(10, 19)) == 0.0        # touching: no shared frame
    assert iou(I(0, 9), I(9, 18)) == pytest.approx(1 / 19)  # one shared frame of 19
    assert iou(I(0, 19), I(5, 14)) == 0.5        # nested: 10 / 20


def test_threshold_is_inclusive_and_touching_intervals_do_not_match():
    assert match([I(0, 4)], [I(0, 9)]) == [0]    # IoU exactly 0.5 is a hit
    assert match([I(0, 3)], [I(0, 9)]) == [None]
    assert match([I(10, 19)], [I(0, 9)]) == [None]
    assert match([I(5, 14)], [I(0, 19)]) == [0]  # nested, 0.5


def test_a_spot_overlapping_two_truths_matches_the_better_one_only():
    truths = [I(0, 9), I(12, 21)]
    # spot 2..13: with 0..9 8 shared of 14 (0.571); with 12..21 2 shared of 20 (0.1)
    assert match([I(2, 13)], truths) == [0]
    s = spotting_scores([([I(2, 13)], truths)])["micro"]
    assert (s["tp"], s["fp"], s["fn"]) == (1, 0, 1)
    assert s["precision"] == 1.0 and s["recall"] == 0.5 and s["f1"] == pytest.approx(2 / 3)


def test_one_truth_two_spots_the_higher_score_takes_it_and_ties_go_to_the_earlier_truth():
    # both spots have IoU >= 0.5 with 0..9; the second has the higher score and takes it
    assert match([I(0, 8, score=0.2), I(1, 9, score=0.9)], [I(0, 9)]) == [None, 0]
    # spot 5..14 against truths 0..9 and 10..19: 5/15 each -> below 0.5; widen: 0..19 vs 0..9 / 10..19 -> 0.5 each
    assert match([I(0, 19)], [I(10, 19), I(0, 9)]) == [0]  # equal IoU: the first truth listed
    assert match([I(0, 19), I(0, 19)], [I(0, 9), I(10, 19)]) == [0, 1]


def test_types_are_matched_separately_and_pooled_overall():
    spotted = [I(0, 9, "micro"), I(20, 60, "macro"), I(100, 104, "micro")]
    truths = [I(0, 9, "macro"), I(22, 60, "macro"), I(100, 105, "micro")]
    s = spotting_scores([(spotted, truths)])
    # micro: spots 0..9 (no micro truth there) and 100..104 (5/6 with 100..105) -> TP 1, spotted 2, truths 1
    assert (s["micro"]["tp"], s["micro"]["fp"], s["micro"]["fn"]) == (1, 1, 0)
    # macro: 20..60 vs 22..60: 39/41 -> TP; truth 0..9 (macro) unmatched -> FN
    assert (s["macro"]["tp"], s["macro"]["fp"], s["macro"]["fn"]) == (1, 0, 1)
    # overall pools counts: TP 2, spotted 3, truths 3 -> P = R = F1 = 2/3
    assert s["overall"]["precision"] == pytest.approx(2 / 3) and s["overall"]["f1"] == pytest.approx(2 / 3)


def test_counts_are_pooled_over_videos_not_averaged():
    video1 = ([I(0, 9)], [I(0, 9)])                        # TP 1 of 1 spotted, 1 truth
    video2 = ([I(0, 9), I(20, 29), I(40, 49)], [I(60, 69)])  # 3 false positives, 1 missed
    s = spotting_scores([video1, video2])["micro"]
    # pooled: P = 1/4, R = 1/2, F1 = 2 * (1/8) / (3/4) = 1/3 (the mean of per-video F1s would be 1/2)
    assert s["precision"] == 0.25 and s["recall"] == 0.5 and s["f1"] == pytest.approx(1 / 3)
    empty = spotting_scores([([], [I(0, 9)])])["micro"]
    assert (empty["precision"], empty["recall"], empty["f1"]) == (0.0, 0.0, 0.0)


def test_malformed_intervals_are_refused():
    with pytest.raises(MicroexprError, match="offset is before the onset"):
        I(10, 5)
    with pytest.raises(MicroexprError, match="type 'meso'"):
        Interval(0, 5, "meso")
