"""Protocols: leak-free splits on random clip tables (hypothesis), and refusals."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microexpr.cliptable import new_clip_table
from microexpr.errors import ProtocolError
from microexpr.protocols import ClipLevelFoldsWarning, Fold, make_folds, verify_folds


def _table(layout: dict[str, list[int]], labels: list[int] | None = None) -> pd.DataFrame:
    """layout: dataset -> clips per subject. Labels cycle 0..2 unless given."""
    rows = []
    for ds, per_subject in layout.items():
        for s, n in enumerate(per_subject):
            subject = f"{ds}/s{s}"
            for c in range(n):
                rows.append(dict(dataset=ds, subject=subject, clip=f"c{c}", key=f"{subject}/c{c}", frames=("/x.jpg",), fps=30.0,
                                 onset=0, apex=0, offset=0, apex_source="annotated", emotion="e", aus=()))
    df = new_clip_table(rows)
    df["label"] = labels if labels is not None else [i % 3 for i in range(len(df))]
    return df


layouts = st.dictionaries(
    st.sampled_from(["casme2", "samm", "smic"]),
    st.lists(st.integers(1, 4), min_size=2, max_size=5),
    min_size=1,
    max_size=3,
)


def _check_clean(table: pd.DataFrame, folds: list[Fold]) -> None:
    subj = dict(zip(table["key"], table["subject"]))
    tested = [k for f in folds for k in f.test_keys]
    assert sorted(tested) == sorted(table["key"])  # every clip tested exactly once
    for f in folds:
        assert not {subj[k] for k in f.train_keys} & {subj[k] for k in f.test_keys}


@settings(max_examples=40, deadline=None, database=None)
@given(layouts)
def test_cde_is_subject_disjoint_and_tests_each_clip_once(layout):
    table = _table(layout)
    folds = make_folds(table, "cde")
    _check_clean(table, folds)
    assert sorted(f.name for f in folds) == sorted(table["subject"].unique())
    for f in folds:  # CDE trains on every other clip of every dataset
        assert len(f.train_keys) + len(f.test_keys) == len(table)


@settings(max_examples=40, deadline=None, database=None)
@given(layouts)
def test_loso_per_dataset_trains_only_on_the_test_subjects_dataset(layout):
    table = _table(layout)
    ds = dict(zip(table["key"], table["dataset"]))
    folds = make_folds(table, "loso")
    _check_clean(table, folds)
    for f in folds:
        test_ds = {ds[k] for k in f.test_keys}
        assert len(test_ds) == 1
        assert {ds[k] for k in f.train_keys} == test_ds
        assert len(f.train_keys) == int((table["dataset"] == next(iter(test_ds))).sum()) - len(f.test_keys)


@settings(max_examples=30, deadline=None, database=None)
@given(layouts.filter(lambda d: len(d) >= 2), st.data())
def test_hde_never_trains_on_the_test_dataset(layout, data):
    table = _table(layout)
    names = sorted(layout)
    test = data.draw(st.sampled_from(names))
    folds = make_folds(table, "hde", test=test)
    (fold,) = folds
    ds = dict(zip(table["key"], table["dataset"]))
    assert {ds[k] for k in fold.test_keys} == {test}
    assert test not in {ds[k] for k in fold.train_keys}
    assert sorted(fold.test_keys) == sorted(table.loc[table["dataset"] == test, "key"])
    assert fold.name == f"train={'+'.join(n for n in names if n != test)}_test={test}"
    with pytest.raises(ProtocolError, match="never trains on the dataset it tests"):
        make_folds(table, "hde", train=names, test=test)


@settings(max_examples=30, deadline=None, database=None)
@given(st.lists(st.integers(1, 4), min_size=3, max_size=9), st.integers(2, 3), st.integers(0, 5))
def test_grouped_kfold_is_subject_disjoint(per_subject, k, seed):
    table = _table({"casme2": per_subject})
    folds = make_folds(table, "kfold", k=k, seed=seed, grouped=True, stratified=False)
    assert [f.name for f in folds] == [f"fold{i}" for i in range(1, k + 1)]
    _check_clean(table, folds)
    assert not any(f.subjects_may_mix or f.note for f in folds)


def test_stratified_grouped_kfold_keeps_every_class_in_every_test_fold():
    table = _table({"casme2": [3] * 12})  # labels cycle 0,1,2 inside each subject
    folds = make_folds(table, "kfold", k=3, seed=0)
    _check_clean(table, folds)
    label = dict(zip(table["key"], table["label"]))
    assert all({label[k] for k in f.test_keys} == {0, 1, 2} for f in folds)
    sparse = _table({"casme2": [1] * 6}, labels=[0, 0, 0, 0, 1, 1])
    with pytest.raises(ProtocolError, match=r"label\(s\) \[1\] have fewer than k=3"):
        make_folds(sparse, "kfold", k=3)


def test_clip_level_kfold_declares_that_subjects_mix():
    table = _table({"casme2": [4, 4, 4]})
    with pytest.warns(ClipLevelFoldsWarning, match="subjects mix"):
        folds = make_folds(table, "kfold", k=4, grouped=False)
    assert all(f.subjects_may_mix and "subjects mix" in f.note for f in folds)
    assert sorted(k for f in folds for k in f.test_keys) == sorted(table["key"])
    # with 3 subjects and 4 folds of 3 clips, some fold necessarily shares subjects with training
    subj = dict(zip(table["key"], table["subject"]))
    assert any({subj[k] for k in f.train_keys} & {subj[k] for k in f.test_keys} for f in folds)


def test_kfold_is_deterministic_for_a_seed_and_changes_with_it():
    table = _table({"casme2": [2] * 10})
    a = make_folds(table, "kfold", k=3, seed=1)
    b = make_folds(table, "kfold", k=3, seed=1)
    c = make_folds(table, "kfold", k=3, seed=2)
    assert a == b
    assert [f.test_keys for f in a] != [f.test_keys for f in c]


@pytest.mark.parametrize(
    "protocol,params,column",
    [("loso", {}, "subject"), ("cde", {}, "subject"), ("kfold", {"k": 2}, "subject"), ("hde", {"test": "samm"}, "dataset")],
)
def test_missing_group_column_is_refused_naming_it(protocol, params, column):
    table = _table({"casme2": [2, 2], "samm": [2, 2]}).drop(columns=[column])
    with pytest.raises(ProtocolError, match=f"group column.*'{column}'"):
        make_folds(table, protocol, **params)


def test_verify_folds_rejects_a_leaking_split_and_double_testing():
    table = _table({"casme2": [2, 2]})
    k = list(table["key"])  # s0/c0, s0/c1, s1/c0, s1/c1
    with pytest.raises(ProtocolError, match="in both the training and the test set"):
        verify_folds(table, [Fold("bad", (k[0], k[2]), (k[1], k[3]))])
    with pytest.raises(ProtocolError, match="tested twice"):
        verify_folds(table, [Fold("a", (k[2], k[3]), (k[0], k[1])), Fold("b", (k[2],), (k[0],))])
    with pytest.raises(ProtocolError, match="never tested"):
        verify_folds(table, [Fold("a", (k[2], k[3]), (k[0], k[1]))])


def test_bad_protocol_requests_are_errors():
    table = _table({"casme2": [2, 2], "samm": [2]})
    with pytest.raises(ProtocolError, match="unknown protocol 'lso'"):
        make_folds(table, "lso")
    with pytest.raises(ProtocolError, match=r"unknown parameter\(s\) \['kk'\]; allowed: \['k'"):
        make_folds(table, "kfold", kk=3)
    with pytest.raises(ProtocolError, match="'smic' is not in the clip table"):
        make_folds(table, "hde", test="smic")
    with pytest.raises(ProtocolError, match="no training clips left"):
        make_folds(table, "loso")  # samm has a single subject
    with pytest.raises(ProtocolError, match="at least 4 subjects, found 3"):
        make_folds(table, "kfold", k=4, grouped=True)


def test_hde_with_two_test_datasets_gives_one_fold_each():
    table = _table({"casme2": [2, 3], "samm": [1, 2]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = make_folds(table, "hde", test=["casme2", "samm"])
    assert [f.name for f in folds] == ["train=samm_test=casme2", "train=casme2_test=samm"]
    assert sorted(k for f in folds for k in f.test_keys) == sorted(table["key"])
