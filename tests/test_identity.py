"""One clip-identity rule wherever a name from outside meets the clip table.

The reference spellings are the official ones, written out literally here (not produced by
microexpr): the MEGC 2019 composite list (``smic,s01,s01_ne_01``, ``samm,6,006_1_2``,
``casme2,sub01,EP02_01f`` / ``casme2,1,EP02_01f``), the published STSTNet weight names
(``006.pth``, ``s01.pth``, ``sub01.pth``) and flow PNG names (``s01_s01_ne_01 .png``). The
clip tables come from the readers run on fake copies in the native folder spellings
(``SMIC/HS/s1/micro/negative/s1_ne_01``, ``SAMM/006/006_1_2``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from microexpr.datasets import read_dataset
from microexpr.errors import DatasetFormatError, ModelError, ProtocolError
from microexpr.identity import IdentityIndex, canonical_dataset, clip_identity, key_identity
from microexpr.labels import apply_scheme
from microexpr.methods.flownets import published_weight_file
from microexpr.protocols import make_folds
from microexpr.sources.feature_npz import load_feature_file, save_feature_file
from tests.datasets.fakes import write_casme2, write_samm, write_smic

OFFICIAL = {  # reader key -> official MEGC 2019 spelling of the same clip
    "smic/s01/s1_ne_01": "smic/s01/s01_ne_01",
    "smic/s01/s1_po_02": "smic/s01/s01_po_02",
    "smic/s03/s3_sur_01": "smic/s03/s03_sur_01",
    "samm/006/006_1_2": "samm/6/006_1_2",
    "samm/007/007_3_1": "samm/7/007_3_1",
    "casme2/sub01/EP02_01f": "casme2/1/EP02_01f",
}


@pytest.fixture(scope="module")
def native_table(tmp_path_factory) -> pd.DataFrame:
    tmp = tmp_path_factory.mktemp("copies")
    tables = [read_dataset(name, write(tmp)[0]).table for name, write in
              (("smic", write_smic), ("samm", write_samm), ("casme2", write_casme2))]
    return pd.concat(tables, ignore_index=True)


def test_the_rule_on_official_and_native_spellings():
    assert clip_identity("smic", "s01", "s01_ne_01") == clip_identity("smic", "smic/s01", "s1_ne_01")
    assert clip_identity("samm", "6", "006_1_2") == clip_identity("SAMM", "samm/006", "006_1_2")
    assert clip_identity("CASME II", "1", "EP02_01f") == clip_identity("casme2", "sub01", "EP02_01f")
    assert clip_identity("cas(me)^2", "s15", "15_0101") == clip_identity("casme_sq", "15", "15_0101")
    # identity never merges different clips or different datasets
    assert clip_identity("casme2", "sub01", "EP02_01f") != clip_identity("casme2", "sub01", "EP2_01f")
    assert clip_identity("casme2", "sub01", "EP02_01f") != clip_identity("casme", "sub01", "EP02_01f")
    assert clip_identity("smic", "s01", "s01_ne_01") != clip_identity("smic", "s01", "s01_ne_02")
    assert canonical_dataset("SMIC-HS") == "smic" and canonical_dataset("CAS(ME)^2") == "casme_sq"


@pytest.mark.parametrize("file_spelling", ["official", "native"])
def test_feature_file_keys_match_whatever_the_spelling(tmp_path, native_table, file_spelling):
    keys = [k for k in native_table["key"] if k in OFFICIAL]
    file_keys = [OFFICIAL[k] for k in keys] if file_spelling == "official" else keys
    table_keys = keys if file_spelling == "official" else [OFFICIAL[k] for k in keys]  # both ways round
    X = np.arange(len(keys) * 2, dtype=float).reshape(-1, 2)
    path = save_feature_file(tmp_path / "f.npz", X[::-1], file_keys[::-1])  # another row order
    np.testing.assert_array_equal(load_feature_file(path, table_keys), X)


def test_feature_file_with_two_spellings_of_one_clip_or_a_missing_clip(tmp_path):
    both = save_feature_file(tmp_path / "both.npz", np.zeros((2, 3)), ["casme2/sub01/EP02_01f", "casme2/1/EP02_01f"])
    with pytest.raises(DatasetFormatError, match=r"casme2/sub01/EP02_01f = casme2/1/EP02_01f"):
        load_feature_file(both, ["casme2/sub01/EP02_01f"])
    one = save_feature_file(tmp_path / "one.npz", np.zeros((1, 3)), ["smic/s01/s01_ne_01"])
    with pytest.raises(DatasetFormatError, match=r"1 clip key\(s\) missing, e.g. \['smic/s01/s1_ne_02'\]"):
        load_feature_file(one, ["smic/s01/s1_ne_01", "smic/s01/s1_ne_02"])


def test_ground_truth_csv_in_official_spelling_keeps_every_native_clip(tmp_path, native_table):
    gt = tmp_path / "gt.csv"  # the official file: no header, SAMM unpadded, SMIC s01_..., CASME II as 1
    gt.write_text("smic,s01,s01_ne_01,0\nsmic,s01,s01_po_02,1\nsmic,s03,s03_sur_01,2\n"
                  "samm,6,006_1_2,0\nsamm,7,007_3_1,1\ncasme2,1,EP02_01f,1\ncasme2,2,EP09_09,0\n")
    out, _, report = apply_scheme(native_table, "composite3", ground_truth_csv=gt)
    assert sorted(out["key"]) == sorted(OFFICIAL)
    assert report.missing_from_copy == ["casme2,2,EP09_09"]  # the truly missing clip is named as listed
    assert report.label_mismatches == []


def test_two_table_clips_collapsing_to_one_identity_is_an_error():
    with pytest.raises(DatasetFormatError, match=r"'samm/006/006_1_2' and 'samm/6/006_1_2' name the same clip"):
        IdentityIndex.of_keys(["samm/006/006_1_2", "samm/6/006_1_2"], "the clip table")
    assert key_identity("not a key") != key_identity("smic/s1/s1_ne_01")


def test_published_weight_files_match_official_subject_spellings(tmp_path):
    for name in ("006.pth", "s01.pth", "sub01.pth", "notes.pth"):
        torch.save({}, tmp_path / name)
    assert published_weight_file(tmp_path, "samm/006").name == "006.pth"
    assert published_weight_file(tmp_path, "smic/s01").name == "s01.pth"  # not sub01.pth: another corpus
    assert published_weight_file(tmp_path, "casme2/sub01").name == "sub01.pth"
    (tmp_path / "6.pth").write_bytes(b"")
    with pytest.raises(ModelError, match=r"samm/006: expected one weight file .* found \['006.pth', '6.pth'\]"):
        published_weight_file(tmp_path, "samm/006")


def test_hde_dataset_names_in_any_spelling(native_table):
    table, _, _ = apply_scheme(native_table, "composite3")
    (fold,) = make_folds(table, "hde", test="SMIC-HS", train=["CASME II", "SAMM"])
    assert fold.name == "train=casme2+samm_test=smic"
    with pytest.raises(ProtocolError, match="'casme' is not in the clip table"):
        make_folds(table, "hde", test="casme")
