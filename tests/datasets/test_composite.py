"""Acceptance: fake CASME II + SAMM + SMIC-HS copies with the real composite counts give
exactly the MEGC 2019 composite set (442 clips: 250/109/83, 68 subjects)."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from microexpr.datasets import read_dataset
from microexpr.datasets.layouts import ClipSpec, write_layout
from microexpr.labels import apply_scheme

from tests.datasets.fakes import frames

# Subjects of the composite set (DATASETS.md)
CASME2_SUBJECTS = [f"sub{n:02d}" for n in [*range(1, 10), *range(11, 18), *range(19, 27)]]
SAMM_SUBJECTS = [f"{n:03d}" for n in [6, 7, *range(9, 25), 26, 28, *range(30, 38)]]
SMIC_SUBJECTS = [f"s{n}" for n in [*range(1, 7), 8, 9, *range(11, 16), 18, 19, 20]]

# native emotion -> count in the composite set; negative is split over its native labels
CASME2_COUNTS = {"disgust": 60, "repression": 28, "happiness": 32, "surprise": 25}
SAMM_COUNTS = {"Anger": 57, "Contempt": 12, "Disgust": 9, "Fear": 8, "Sadness": 6, "Happiness": 26, "Surprise": 15}
SMIC_COUNTS = {"negative": 70, "positive": 51, "surprise": 43}
# clips the composite scheme must exclude (two subjects only have those)
CASME2_EXCLUDED = {"others": 99, "fear": 2, "sadness": 7}
SAMM_EXCLUDED = {"Other": 26}

FR = frames(3)


def _spread(subjects, counts, extra_subjects=()):
    """(subject, emotion) pairs: the counted emotions round-robin over ``subjects``, excluded
    ones over ``subjects`` + ``extra_subjects``."""
    labels = [e for e, n in counts.items() for _ in range(n)]
    return list(zip(itertools.cycle(subjects), labels))


@pytest.fixture(scope="module")
def composite_copy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("composite")
    specs = {}
    pairs = _spread(CASME2_SUBJECTS, CASME2_COUNTS) + _spread(CASME2_SUBJECTS + ["sub10", "sub18"], CASME2_EXCLUDED)
    specs["casme2"] = [
        ClipSpec(s, f"EP{i:03d}_01f", FR, 10, onset=10, apex=None if i % 7 == 0 else 11, offset=12, emotion=e, aus="4")
        for i, (s, e) in enumerate(pairs)
    ]
    pairs = _spread(SAMM_SUBJECTS, SAMM_COUNTS) + _spread(SAMM_SUBJECTS + ["008", "025"], SAMM_EXCLUDED)
    specs["samm"] = [
        ClipSpec(s, f"{s}_{i}_1", FR, 100, onset=100, apex=101, offset=102, emotion=e, aus="12")
        for i, (s, e) in enumerate(pairs)
    ]
    short = {"negative": "ne", "positive": "po", "surprise": "sur"}
    specs["smic"] = [
        ClipSpec(s, f"{s}_{short[e]}_{i:02d}", FR, 1000 + 10 * i, emotion=e)
        for i, (s, e) in enumerate(_spread(SMIC_SUBJECTS, SMIC_COUNTS))
    ] + [ClipSpec("s2", "s2_no_01", FR, 1, emotion="non_micro")]
    roots = {name: write_layout(name, tmp / name, clips) for name, clips in specs.items()}
    tables = {name: read_dataset(name, root).table for name, root in roots.items()}
    return tmp, roots, specs, pd.concat(list(tables.values()), ignore_index=True)


def test_composite3_gives_the_standard_442(composite_copy):
    _, _, specs, table = composite_copy
    assert len(table) == sum(len(v) for v in specs.values()) - 1  # non_micro ignored
    labelled, classes, report = apply_scheme(table, "composite3")
    assert classes == ("negative", "positive", "surprise")
    assert len(labelled) == 442
    assert labelled["label"].value_counts().sort_index().tolist() == [250, 109, 83]
    assert labelled["subject"].nunique() == 68
    per = labelled.groupby("dataset")
    assert per.size().to_dict() == {"casme2": 145, "samm": 133, "smic": 164}
    assert per["subject"].nunique().to_dict() == {"casme2": 24, "samm": 28, "smic": 16}
    assert report.counts["casme2"] == {"negative": 88, "positive": 32, "surprise": 25}
    assert report.counts["samm"] == {"negative": 92, "positive": 26, "surprise": 15}
    assert report.counts["smic"] == {"negative": 70, "positive": 51, "surprise": 43}
    assert report.excluded == {("casme2", "fear"): 2, ("casme2", "others"): 99, ("casme2", "sadness"): 7,
                               ("samm", "Other"): 26}
    # codes follow the published order 0 negative, 1 positive, 2 surprise
    assert set(zip(labelled["label"], labelled["label_name"])) == {(0, "negative"), (1, "positive"), (2, "surprise")}
    assert "casme2/sub10" not in set(labelled["subject"]) and "samm/008" not in set(labelled["subject"])


def test_slash_apexes_are_filled_by_the_named_rule(composite_copy):
    _, _, specs, table = composite_copy
    c2 = table[table["dataset"] == "casme2"]
    n_slash = sum(s.apex is None for s in specs["casme2"])
    assert (c2["apex_source"] == "midpoint").sum() == n_slash
    assert (c2.loc[c2["apex_source"] == "midpoint", "apex"] == 1).all()  # (0 + 2) // 2
    assert (table.loc[table["dataset"] == "smic", "apex_source"] == "middle").all()


def test_ground_truth_list_fixes_the_clips_and_reports_missing(composite_copy, tmp_path):
    _, _, _, table = composite_copy
    labelled, classes, _ = apply_scheme(table, "composite3")
    lines = ["dataset,subject,clip,label"]
    for row in labelled.itertuples():
        native = row.subject.split("/")[1]
        if row.dataset == "samm":  # official spelling: SAMM subjects unpadded
            native = str(int(native))
        clip = row.clip
        if row.dataset == "smic":  # composite spelling s01_ne_01 for folder s1_ne_01
            native = f"s{int(native[1:]):02d}"
            head, rest = clip.split("_", 1)
            clip = f"s{int(head[1:]):02d}_{rest}"
        lines.append(f"{row.dataset},{native},{clip},{row.label}")
    dropped = lines.pop(5)  # one local clip the list does not name
    lines.append("smic,s07,s07_po_01,1")  # listed clips the copy lacks
    lines.append("samm,99,099_1_1,0")
    gt = tmp_path / "gt.csv"
    gt.write_text("\n".join(lines) + "\n")
    out, classes2, report = apply_scheme(table, "composite3", ground_truth_csv=gt)
    assert classes2 == classes
    assert len(out) == 441
    assert report.missing_from_copy == ["smic,s07,s07_po_01", "samm,99,099_1_1"]
    ds, sub, clip, _ = dropped.split(",")
    assert any(k.endswith(f"/{clip}") for k in report.not_in_list)
    assert "missing from the local copy" in report.summary()
