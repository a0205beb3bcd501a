"""Feature files (.npz with X and keys): alignment to clip keys and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from microexpr.errors import DatasetFormatError
from microexpr.sources.feature_npz import load_feature_file, save_feature_file


def test_rows_follow_the_requested_key_order(tmp_path):
    keys = ["a/s/1", "a/s/2", "b/t/3"]
    X = np.arange(6.0).reshape(3, 2)
    save_feature_file(tmp_path / "f.npz", X, keys)
    out = load_feature_file(tmp_path / "f.npz", ["b/t/3", "a/s/1"])
    assert out.tolist() == [[4.0, 5.0], [0.0, 1.0]]
    # rewriting the file is seen (no stale cache)
    save_feature_file(tmp_path / "f.npz", X * 10, keys)
    assert load_feature_file(tmp_path / "f.npz", ["a/s/2"]).tolist() == [[20.0, 30.0]]


def test_missing_and_extra_keys_are_named(tmp_path):
    save_feature_file(tmp_path / "f.npz", np.zeros((2, 3)), ["a/s/1", "a/s/2"])
    with pytest.raises(DatasetFormatError, match=r"1 clip key\(s\) missing, e.g. \['a/s/9'\]"):
        load_feature_file(tmp_path / "f.npz", ["a/s/1", "a/s/9"])
    with pytest.raises(DatasetFormatError, match=r"key\(s\) not in the clip table, e.g. \['a/s/2'\]"):
        load_feature_file(tmp_path / "f.npz", ["a/s/1"], strict=True)


@pytest.mark.parametrize(
    "arrays,match",
    [
        ({"X": np.zeros(3), "keys": np.array(["a", "b", "c"])}, "X must be 2-D"),
        ({"X": np.zeros((3, 2)), "keys": np.array(["a", "b"])}, r"one entry per row of X \(3\)"),
        ({"X": np.zeros((2, 2))}, r"lacks array\(s\) \['keys'\]"),
        ({"X": np.array([[1.0, np.nan], [0, 0]]), "keys": np.array(["a", "b"])}, r"non-finite values in the rows of \['a'\]"),
        ({"X": np.zeros((2, 2)), "keys": np.array(["a", "a"])}, r"duplicate keys \['a'\]"),
        ({"X": np.zeros((2, 2)), "keys": np.array(["a", "b"], dtype=object)}, "save keys as a string array"),
    ],
)
def test_malformed_files_are_refused_naming_the_problem(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetFormatError, match=match):
        load_feature_file(path, ["a"])


def test_missing_file(tmp_path):
    with pytest.raises(DatasetFormatError, match="not found"):
        load_feature_file(tmp_path / "none.npz", ["a"])
