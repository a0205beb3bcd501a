"""Label schemes applied to fake native copies read by the real readers."""

from __future__ import annotations

import pandas as pd
import pytest

from microexpr.datasets import read_dataset
from microexpr.datasets.layouts import ClipSpec, write_layout
from microexpr.errors import DatasetFormatError
from microexpr.labels import apply_scheme

from tests.datasets.fakes import frames, write_casme, write_casme2, write_ckplus, write_samm, write_smic


def test_objective5_reads_the_objective_classes(tmp_path):
    c2 = read_dataset("casme2", write_casme2(tmp_path)[0]).table
    samm = read_dataset("samm", write_samm(tmp_path)[0]).table
    out, classes, report = apply_scheme(pd.concat([c2, samm], ignore_index=True), "objective5")
    assert classes == ("happiness", "surprise", "anger", "disgust", "sadness")
    # casme2: classes 1, 7, 6 -> one kept; samm: 3, 7, 1 -> two kept
    assert dict(zip(out["clip"], out["label_name"])) == {"EP02_01f": "happiness", "006_1_2": "anger",
                                                         "007_3_1": "happiness"}
    assert list(out["label"]) == [0, 2, 0]
    assert report.excluded == {("casme2", "6"): 1, ("casme2", "7"): 1, ("samm", "7"): 1}


def test_objective5_without_the_file_names_it(tmp_path):
    clips = [ClipSpec("sub01", "EP01", frames(3), 1, onset=1, apex=2, offset=3, emotion="happiness")]
    table = read_dataset("casme2", write_layout("casme2", tmp_path / "c", clips)).table
    with pytest.raises(DatasetFormatError, match="CASME2-ObjectiveClasses.xlsx"):
        apply_scheme(table, "objective5")


def test_tlcnn4_and_native(tmp_path):
    c2 = read_dataset("casme2", write_casme2(tmp_path)[0]).table
    out, classes, _ = apply_scheme(c2, "tlcnn4")
    assert dict(zip(out["clip"], out["label_name"])) == {"EP02_01f": "positive", "EP03_02": "negative",
                                                         "EP01_11f": "others"}
    assert list(out["label"]) == [0, 1, 3]
    ck = read_dataset("ckplus", write_ckplus(tmp_path)[0], include_unlabelled=True).table
    out, classes, report = apply_scheme(ck, "native")
    assert classes == ("disgust", "surprise") and len(out) == 2
    assert report.excluded == {("ckplus", "unlabelled"): 1}


def test_tlcnn4_on_casme_casme2_and_smic(tmp_path):
    """TLCNN §4.2: positive = happiness, negative = disgust/sadness/fear/repression..., surprise, others
    (CASME's "tense" and CASME II's "others"); SMIC's three classes map by name."""
    tables = [read_dataset(name, writer(tmp_path)[0]).table
              for name, writer in (("casme", write_casme), ("casme2", write_casme2), ("smic", write_smic))]
    out, classes, report = apply_scheme(pd.concat(tables, ignore_index=True), "tlcnn4")
    assert classes == ("positive", "negative", "surprise", "others")
    assert dict(zip(out["clip"], out["label_name"])) == {
        "EP01_5": "others", "EP07_10": "positive",  # CASME: tense, happiness
        "EP02_01f": "positive", "EP03_02": "negative", "EP01_11f": "others",  # CASME II
        "s1_ne_01": "negative", "s1_po_02": "positive", "s3_sur_01": "surprise",  # SMIC-HS (non_micro not read)
    }
    assert [classes[i] for i in out["label"]] == list(out["label_name"])
    counts = {ds: {c: n for c, n in per.items() if n} for ds, per in report.counts.items()}
    assert counts == {"casme": {"others": 1, "positive": 1}, "casme2": {"positive": 1, "negative": 1, "others": 1},
                      "smic": {"negative": 1, "positive": 1, "surprise": 1}}
    assert report.excluded == {}
