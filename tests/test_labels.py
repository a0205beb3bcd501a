"""Label schemes as data: mappings, codes, exclusions, ground-truth lists (tables built by hand)."""

from __future__ import annotations

import pytest

from microexpr.cliptable import new_clip_table
from microexpr.errors import ConfigError, DatasetFormatError
from microexpr.identity import clip_identity as gt_match_key
from microexpr.labels import SCHEMES, apply_scheme


def _table(rows):
    """A ClipTable of (dataset, native subject, clip, emotion) with 3 dummy frames each."""
    return new_clip_table(
        {
            "dataset": ds, "subject": f"{ds}/{sub}", "clip": clip, "key": f"{ds}/{sub}/{clip}",
            "frames": ("a.jpg", "b.jpg", "c.jpg"), "fps": 100.0, "onset": 0, "apex": 1, "offset": 2,
            "apex_source": "annotated", "emotion": emo, "aus": "",
        }
        for ds, sub, clip, emo in rows
    )


SMIC = _table([("smic", "s01", "s1_ne_01", "negative"), ("smic", "s01", "s1_po_02", "positive"),
               ("smic", "s03", "s3_sur_01", "surprise")])


def test_schemes_are_data_with_published_codes():
    assert SCHEMES["composite3"].classes == ("negative", "positive", "surprise")
    assert SCHEMES["tlcnn4"].classes == ("positive", "negative", "surprise", "others")
    assert SCHEMES["composite3"].mapping["casme2"]["others"] is None
    assert SCHEMES["objective5"].mapping["samm"]["6"] is None


def test_composite3_maps_and_excludes_case_insensitively():
    t = _table([("samm", "006", "006_1_2", "Anger"), ("samm", "006", "006_1_3", "Other"),
                ("samm", "007", "007_1_1", "Happiness"), ("casme2", "sub01", "EP01", "repression"),
                ("casme2", "sub01", "EP02", "fear"), ("casme2", "sub02", "EP03", "surprise")])
    out, classes, report = apply_scheme(t, "composite3")
    assert list(out["clip"]) == ["006_1_2", "007_1_1", "EP01", "EP03"]
    assert list(out["label"]) == [0, 1, 0, 2] and out["label"].dtype == "int64"
    assert report.excluded == {("samm", "Other"): 1, ("casme2", "fear"): 1}
    assert report.counts == {"samm": {"negative": 1, "positive": 1, "surprise": 0},
                             "casme2": {"negative": 1, "positive": 0, "surprise": 1}}
    assert report.subjects == {"samm": 2, "casme2": 2}


def test_unknown_emotion_and_uncovered_dataset_fail_clearly():
    bad = SMIC.copy()
    bad.loc[0, "emotion"] = "joy"
    with pytest.raises(DatasetFormatError, match=r"smic/s01/s1_ne_01 \('joy'\)"):
        apply_scheme(bad, "composite3")
    with pytest.raises(ConfigError, match="does not cover dataset"):
        apply_scheme(SMIC, "objective5")
    with pytest.raises(ConfigError, match="unknown label scheme"):
        apply_scheme(SMIC, "seven")


def test_ground_truth_spellings_and_label_mismatch(tmp_path):
    assert gt_match_key("samm", "6", "006_1_2") == gt_match_key("samm", "006", "006_1_2")
    assert gt_match_key("smic", "s01", "s01_ne_01") == gt_match_key("smic", "s1", "s1_ne_01")
    assert gt_match_key("casme2", "1", "EP02_01f") == gt_match_key("casme2", "sub01", "EP02_01f")
    gt = tmp_path / "gt.csv"
    gt.write_text("smic,s01,s01_ne_01,0\nsmic,s01,s01_po_02,2\nsmic,s09,s09_ne_01,0\n")  # no header
    out, _, report = apply_scheme(SMIC, "composite3", ground_truth_csv=gt)
    assert list(out["clip"]) == ["s1_ne_01", "s1_po_02"] and list(out["label"]) == [0, 2]
    assert report.label_mismatches == [("smic/s01/s1_po_02", "positive", "surprise")]
    assert report.not_in_list == ["smic/s03/s3_sur_01"]
    assert report.missing_from_copy == ["smic,s09,s09_ne_01"]
    gt.write_text("dataset,subject,clip,label\nsmic,s01,s01_ne_01,5\n")
    with pytest.raises(DatasetFormatError, match="label 5"):
        apply_scheme(SMIC, "composite3", ground_truth_csv=gt)


def test_macro5_reads_any_macro_corpus_and_names_an_unknown_emotion():
    """Micro-Attention §4.1 keeps happiness, surprise, anger, disgust, sadness from macro corpora
    whatever their name (CK+'s words, JAFFE's codes, a user's manifest); neutral/fear/contempt
    are excluded and counted; a word the scheme does not list is an error naming the clip."""
    table = _table([("ckplus", "S005", "001", "happy"), ("ckplus", "S005", "002", "contempt"),
                    ("oulu", "P001", "Anger", "Anger"), ("jaffe", "KA", "KA.SA1", "SA"),
                    ("jaffe", "KA", "KA.FE1", "FE"), ("mug", "003", "d1", "disgust"), ("mug", "003", "s1", "surprise")])
    out, classes, report = apply_scheme(table, "macro5")
    assert classes == ("happiness", "surprise", "anger", "disgust", "sadness")
    assert dict(zip(out["key"], out["label_name"])) == {
        "ckplus/S005/001": "happiness", "oulu/P001/Anger": "anger", "jaffe/KA/KA.SA1": "sadness",
        "mug/003/d1": "disgust", "mug/003/s1": "surprise"}
    assert report.excluded == {("ckplus", "contempt"): 1, ("jaffe", "FE"): 1}
    with pytest.raises(DatasetFormatError, match=r"oulu/P001/x \('smirk'\)"):
        apply_scheme(_table([("oulu", "P001", "x", "smirk")]), "macro5")
