"""Long-video readers on fake copies in the released layouts (spellings as the releases write
them: ``CAS(ME)^2code_final.xlsx`` with sheets ``CASMEcode_final``, ``naming rule1``, ``naming
rule2``; ``SAMM_LongVideos_V3_Release.xlsx`` with ``Micro - 1/2`` / ``Macro`` types and frames
like ``009_4_0007.jpg``), their quirks, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from microexpr.errors import DatasetFormatError
from microexpr.spotting import casme_sq_long, samm_long
from microexpr.spotting.videos import LongVideoSpec


def frames(n: int) -> list[np.ndarray]:
    return [np.full((8, 8), i % 255, np.uint8) for i in range(n)]


def casme_copy(tmp_path, **over):
    videos = [
        LongVideoSpec("s15", "disgust1", frames(40), [("micro", 5, 8, 12, "negative"), ("macro", 20, 0, 35, "negative")],
                      extra={"code": 101, "stimulus": "disgustingteeth"}),
        LongVideoSpec("s15", "anger1", frames(30), [], extra={"code": 401, "stimulus": "angryfaces"}),
        LongVideoSpec("s16", "disgust1", frames(25), [("micro", 2, None, 6, "positive")],
                      extra={"code": 101, "stimulus": "disgustingteeth"}),
    ]
    for k, v in over.items():
        setattr(videos[0], k, v)
    return casme_sq_long.write_fake_layout(tmp_path / "casme2", videos)


def test_casme_sq_long_reads_every_video_and_converts_frame_numbers(tmp_path):
    root = casme_copy(tmp_path)
    assert (root / "rawpic" / "s15" / "15_0101disgustingteeth" / "img1.jpg").is_file()
    (root / "rawpic" / "s15" / "notes.txt").write_text("stray")
    lv = casme_sq_long.read(root)
    assert list(lv.videos["key"]) == ["casme_sq_long/s15/15_0101disgustingteeth", "casme_sq_long/s15/15_0401angryfaces",
                                      "casme_sq_long/s16/16_0101disgustingteeth"]
    assert set(lv.videos["fps"]) == {30.0} and lv.videos["frames"].map(len).tolist() == [40, 30, 25]
    t = lv.truths
    first = t[t["key"] == "casme_sq_long/s15/15_0101disgustingteeth"]
    # frame numbers 5, 8, 12 (files img1.. -> position = number - 1); apex 0 = not annotated
    assert first[["type", "onset", "apex", "offset"]].values.tolist() == [["micro", 4, 7, 11], ["macro", 19, -1, 34]]
    assert t[t["key"].str.startswith("casme_sq_long/s16")][["onset", "offset"]].values.tolist() == [[1, 5]]
    assert lv.intervals("casme_sq_long/s15/15_0401angryfaces") == []
    assert any("notes.txt" in s for s, _ in lv.skipped)


def test_casme_sq_long_errors_name_the_row_and_the_fix(tmp_path):
    root = casme_copy(tmp_path / "a", intervals=[("micro", 30, 35, 45, "negative")])
    with pytest.raises(DatasetFormatError, match=r"row 1: offset frame 45 of video .*15_0101disgustingteeth is outside its frames 1\.\.40"):
        casme_sq_long.read(root)
    root = casme_copy(tmp_path / "b")
    (root / "rawpic" / "s15" / "15_0401angryfaces" / "img7.jpg").unlink()
    with pytest.raises(DatasetFormatError, match=r"misses frames: after frame 6 comes 8"):
        casme_sq_long.read(root)


def samm_copy(tmp_path, first=1):
    videos = [
        LongVideoSpec("006", "006_1", frames(50), [("micro", 10, 14, 20, ""), ("macro", 25, None, 45, "")], first),
        LongVideoSpec("009", "009_4", frames(20), [], first),
    ]
    return samm_long.write_fake_layout(tmp_path / "samm", videos)


def test_samm_long_finds_its_header_and_reads_types(tmp_path):
    root = samm_copy(tmp_path, first=5)
    assert (root / "SAMM_longvideos" / "009_4" / "009_4_0007.jpg").is_file()
    lv = samm_long.read(root)
    assert list(lv.videos["key"]) == ["samm_long/006/006_1", "samm_long/009/009_4"]
    assert set(lv.videos["fps"]) == {200.0}
    # frame numbers start at 5 here: 10 -> position 5; apex -1 -> not annotated
    assert lv.truths[["type", "onset", "apex", "offset"]].values.tolist() == [["micro", 5, 9, 15], ["macro", 20, -1, 40]]


def test_samm_long_row_past_the_video_end_is_an_error(tmp_path):
    root = samm_long.write_fake_layout(tmp_path / "s", [LongVideoSpec("006", "006_1", frames(20), [("micro", 15, 18, 25, "")])])
    with pytest.raises(DatasetFormatError, match=r"SAMM_LongVideos_V3_Release.xlsx row 12: offset frame 25 .* outside its frames 1\.\.20"):
        samm_long.read(root)
