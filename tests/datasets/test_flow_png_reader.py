"""The ``flow_png`` reader: a folder of STSTNet-style flow PNGs alone -> a valid ClipTable."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from microexpr.cli import main as cli_main
from microexpr.cliptable import validate_clip_table
from microexpr.datasets import check_dataset, read_dataset
from microexpr.errors import ConfigError, DatasetFormatError
from microexpr.inputs import load_inputs
from microexpr.labels import apply_scheme
from microexpr.protocols import make_folds

from tests.datasets.flow_png_fakes import COUNTS, SUBJECTS, FakeClip, composite_clips, write_flat, write_official_labels, write_per_fold


@pytest.fixture(scope="module")
def composite(tmp_path_factory):
    """The 442-image flat folder and the official list (SAMM subjects unpadded)."""
    root = tmp_path_factory.mktemp("png442")
    clips = composite_clips()
    files = write_flat(root / "png", clips)
    gt = write_official_labels(root / "megc2019.csv", clips)
    return clips, files, root / "png", gt


def test_composite_folder_reads_like_the_real_readers(composite):
    clips, files, folder, gt = composite
    read = read_dataset("flow_png", folder, labels=str(gt))
    t = read.table
    validate_clip_table(t)
    assert len(t) == 442 and t["key"].is_unique
    # keys spelt as the casme2/samm/smic readers spell them (smic/s01/s1_ne_01, samm/006/006_1_0)
    assert sorted(t["key"]) == sorted(c.key for c in clips)
    for ds, subs in SUBJECTS.items():
        part = t[t["dataset"] == ds]
        assert sorted(part["subject"].unique()) == sorted(f"{ds}/{s}" for s in subs)
        assert tuple(Counter(part["emotion"])[c] for c in ("negative", "positive", "surprise")) == COUNTS[ds]
    row = t.set_index("key").loc[clips[0].key]
    assert row["frames"] == (str(files[clips[0].key]),) and row["flow_png"] == str(files[clips[0].key])
    assert (row["onset"], row["apex"], row["offset"]) == (0, 0, 0)
    assert dict(zip(t["dataset"], t["apex_source"])) == {"casme2": "annotated", "samm": "annotated", "smic": "dc_rois"}
    assert set(zip(t["dataset"], t["fps"])) == {("casme2", 200.0), ("samm", 200.0), ("smic", 100.0)}
    assert [p for p, _ in read.skipped] == [str(folder / ".DS_Store")] and read.problems == []

    labelled, classes, report = apply_scheme(t, "composite3")
    assert classes == ("negative", "positive", "surprise") and report.total == 442
    assert {ds: tuple(c.values()) for ds, c in report.counts.items()} == COUNTS
    assert sum(report.subjects.values()) == 68
    truth = {c.key: c.label for c in clips}
    assert all(truth[k] == y for k, y in zip(labelled["key"], labelled["label"]))
    # the same official list as data.ground_truth_csv matches every clip
    _, _, rep_gt = apply_scheme(t, "composite3", ground_truth_csv=gt)
    assert rep_gt.missing_from_copy == [] and rep_gt.not_in_list == [] and rep_gt.label_mismatches == []

    cde = make_folds(labelled, "cde")
    assert len(cde) == 68 and sorted(f.name for f in cde) == sorted(labelled["subject"].unique())
    loso = make_folds(labelled, "loso")
    ds_of = dict(zip(labelled["key"], labelled["dataset"]))
    assert len(loso) == 68 and all(len({ds_of[k] for k in f.train_keys + f.test_keys}) == 1 for f in loso)
    (hde,) = make_folds(labelled, "hde", train=["casme2", "samm"], test="smic")
    assert {ds_of[k] for k in hde.test_keys} == {"smic"} and len(hde.test_keys) == 164
    assert {ds_of[k] for k in hde.train_keys} == {"casme2", "samm"} and len(hde.train_keys) == 278


def test_per_fold_layout_labels_from_folders(tmp_path):
    clips = composite_clips()[::20]  # 23 clips over the three corpora
    write_per_fold(tmp_path / "folds", clips)
    (tmp_path / "folds" / "video442subName.txt").write_text("sub01\n")
    read = read_dataset("flow_png", tmp_path / "folds")
    t = read.table
    assert sorted(t["key"]) == sorted(c.key for c in clips)  # one row per clip, not one per copy
    assert dict(zip(t["key"], t["emotion"])) == {c.key: ("negative", "positive", "surprise")[c.label] for c in clips}
    reasons = [r for _, r in read.skipped]
    n_sub = len({c.subject for c in clips})
    assert any(f"{len(clips) * (n_sub - 1)} further copies" in r for r in reasons)
    assert any(p.endswith("video442subName.txt") for p, _ in read.skipped)
    # a labels file that disagrees with a folder is a problem naming the clip
    bad = [FakeClip(c.dataset, c.subject, c.clip, (c.label + 1) % 3 if i == 0 else c.label) for i, c in enumerate(clips)]
    gt = write_official_labels(tmp_path / "gt.csv", bad)
    with pytest.raises(DatasetFormatError, match=f"{clips[0].key}.*folder label"):
        read_dataset("flow_png", tmp_path / "folds", labels=str(gt))


def test_simple_labels_file_with_names_and_relative_path(tmp_path):
    clips = [FakeClip("casme2", "sub01", "EP02_01f", 1), FakeClip("smic", "s03", "s3_sur_02", 2),
             FakeClip("samm", "006", "006_1_2", 0)]
    folder = write_flat(tmp_path / "png", clips)["casme2/sub01/EP02_01f"].parent
    (folder / "labels.csv").write_text("subject,clip,label\nsub1,EP02_01f,positive\ns3,s03_sur_02,Surprise\n6,006_1_2,0\n")
    t = read_dataset("flow_png", folder, labels="labels.csv").table  # relative: looked up in the folder
    assert dict(zip(t["key"], t["emotion"])) == {"casme2/sub01/EP02_01f": "positive", "smic/s03/s3_sur_02": "surprise",
                                                "samm/006/006_1_2": "negative"}
    (folder / "labels.csv").write_text("subject,clip,label\nsub1,EP02_01f,happy\n")
    with pytest.raises(DatasetFormatError, match="labels.csv line 2: label 'happy'"):
        read_dataset("flow_png", folder, labels="labels.csv")
    with pytest.raises(DatasetFormatError, match="no labels; give the labels CSV"):
        read_dataset("flow_png", folder)
    with pytest.raises(DatasetFormatError, match="nope.csv not found"):
        read_dataset("flow_png", folder, labels="nope.csv")


def test_unknown_subject_spelling_is_refused_naming_the_file(tmp_path):
    clips = [FakeClip("samm", "006", "006_1_2", 0)]
    folder = write_flat(tmp_path / "png", clips)["samm/006/006_1_2"].parent
    (folder / "subject7_EP01_01.png").write_bytes((folder / "006_006_1_2 .png").read_bytes())
    (folder / "labels.csv").write_text("samm,6,006_1_2,0\n")
    with pytest.raises(DatasetFormatError, match=r"subject7_EP01_01\.png: subject 'subject7' is not subNN .*sub01_EP02_01f"):
        read_dataset("flow_png", folder, labels="labels.csv")


def test_labels_and_images_that_do_not_match_are_reported_never_dropped(tmp_path):
    clips = [FakeClip("casme2", "sub01", "EP02_01f", 1), FakeClip("samm", "006", "006_1_2", 0),
             FakeClip("smic", "s01", "s1_ne_01", 0)]
    folder = write_flat(tmp_path / "png", clips)["samm/006/006_1_2"].parent
    gt = write_official_labels(tmp_path / "gt.csv", clips[1:] + [FakeClip("samm", "007", "007_2_1", 2)])
    with pytest.raises(DatasetFormatError) as err:
        read_dataset("flow_png", folder, labels=str(gt))
    msg = str(err.value)
    assert "casme2/sub01/EP02_01f: sub01_EP02_01f .png: no row in the labels file" in msg
    assert "samm/007/007_2_1: gt.csv line 4 names this clip but" in msg and "2 clip(s) cannot be used" in msg
    read = read_dataset("flow_png", folder, labels=str(gt), on_problem="skip")
    assert sorted(read.table["key"]) == ["samm/006/006_1_2", "smic/s01/s1_ne_01"]
    assert sorted(k for k, _ in read.problems) == ["casme2/sub01/EP02_01f", "samm/007/007_2_1"]


def test_bad_label_folders(tmp_path):
    clips = [FakeClip("samm", "006", "006_1_2", 0), FakeClip("samm", "007", "007_1_2", 1)]
    write_per_fold(tmp_path / "a", clips)
    (tmp_path / "a" / "006" / "u_test" / "0").rename(tmp_path / "a" / "006" / "u_test" / "neg")
    with pytest.raises(DatasetFormatError, match=r"006/u_test/neg/006_006_1_2\.png: label folder 'neg' is not a class number.*rename"):
        read_dataset("flow_png", tmp_path / "a")
    write_per_fold(tmp_path / "b", [FakeClip("samm", "006", "006_1_2", 3), clips[1]])
    with pytest.raises(DatasetFormatError, match="samm/006/006_1_2: .*label folder 3 is not 0, 1 or 2"):
        read_dataset("flow_png", tmp_path / "b")


def test_schemes_and_frame_based_inputs_refuse_png_clips(tmp_path):
    clips = [FakeClip("casme2", "sub01", "EP02_01f", 1), FakeClip("samm", "006", "006_1_2", 0)]
    write_per_fold(tmp_path / "f", clips)
    t = read_dataset("flow_png", tmp_path / "f").table
    with pytest.raises(ConfigError, match="objective5 does not cover dataset.*flow_png.*composite3"):
        apply_scheme(t, "objective5")
    native, classes, _ = apply_scheme(t, "native")
    assert classes == ("negative", "positive")
    assert dict(zip(native["key"], native["label_name"])) == {"casme2/sub01/EP02_01f": "positive", "samm/006/006_1_2": "negative"}
    with pytest.raises(ConfigError, match="'flow_image' needs video frames.*flow_png.*ststnet"):
        load_inputs(t, "flow_image", cache_dir=None, n_jobs=1, progress=False)
    # a real-reader table (no flow_png column) still maps by its dataset
    real = pd.DataFrame({**{c: t[c] for c in t.columns if c not in ("flow_png", "label_source")}})
    real["emotion"] = ["happiness" if d == "casme2" else "Anger" for d in real["dataset"]]
    mapped = apply_scheme(real, "composite3")[0]
    assert dict(zip(mapped["key"], mapped["label_name"])) == {"casme2/sub01/EP02_01f": "positive", "samm/006/006_1_2": "negative"}


def test_datasets_check_works_on_a_png_folder(tmp_path, capsys):
    clips = composite_clips()[::40]
    folder = write_flat(tmp_path / "png", clips)[clips[0].key].parent
    gt = write_official_labels(tmp_path / "gt.csv", clips)
    report = check_dataset("flow_png", folder, labels=str(gt), scheme="composite3")
    assert report.ok and len(report.table) == len(clips)
    assert cli_main(["datasets", "check", "--dataset", "flow_png", "--root", str(folder), "--option", f"labels={gt}",
                     "--scheme", "composite3"]) == 0
    out = capsys.readouterr().out
    assert f"{len(clips)} clips" in out and "OK" in out
    (folder / "broken_1.png").write_bytes(b"not a png")
    assert cli_main(["datasets", "check", "--dataset", "flow_png", "--root", str(folder), "--option", f"labels={gt}"]) == 1
    assert "broken_1.png: subject 'broken'" in capsys.readouterr().out
