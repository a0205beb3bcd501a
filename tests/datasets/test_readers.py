"""One harness over every registered reader, each run on its fake native copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from microexpr.cliptable import validate_clip_table
from microexpr.datasets import READERS, read_dataset
from microexpr.errors import ConfigError, DatasetNotFoundError
from microexpr.video.frames import read_frame

from tests.datasets.fakes import WRITERS


def test_every_reader_has_a_fake_writer():
    # flow_png reads precomputed flow images (rows carry their corpus, not the reader's name):
    # its own harness is tests/datasets/test_flow_png_reader.py
    assert set(WRITERS) == set(READERS) - {"flow_png"}


@pytest.fixture(params=sorted(WRITERS))
def fake(request, tmp_path):
    name = request.param
    root, n = WRITERS[name](tmp_path)
    return name, root, n


def test_reader_contract(fake):
    name, root, n = fake
    res = read_dataset(name, root)
    t = res.table
    assert len(t) == n
    validate_clip_table(t)  # apex filled, keys = subject/clip, onset <= apex <= offset
    assert t["key"].is_unique
    dataset = "manifest" if name == "manifest" else name
    assert (t["dataset"] == dataset).all()
    assert all(s.startswith(f"{dataset}/") for s in t["subject"])
    assert str(t["onset"].dtype) == "Int64" and str(t["apex"].dtype) == "Int64"
    assert t["fps"].dtype == float
    for row in t.itertuples():
        assert all(Path(p).is_file() and Path(p).is_absolute() for p in row.frames)
        # frames are in recording order: the fakes brighten frame by frame
        means = [read_frame(p, grey=True).mean() for p in row.frames]
        assert means == sorted(means), row.key
        assert row.onset <= row.apex <= row.offset < len(row.frames)
        assert row.apex_source in {"annotated", "midpoint", "middle"}


def test_stray_files_are_ignored_and_listed(fake):
    name, root, _ = fake
    res = read_dataset(name, root)
    skipped = [Path(p).name for p, _ in res.skipped]
    assert {"Thumbs.db", ".DS_Store", "README.txt"} & set(skipped), res.skipped
    for row in res.table.itertuples():
        assert all(Path(p).name not in {"Thumbs.db", ".DS_Store", "README.txt"} for p in row.frames)


def test_missing_root_gives_one_instructive_error(tmp_path):
    for name in READERS:
        with pytest.raises(DatasetNotFoundError) as err:
            read_dataset(name, tmp_path / "nowhere")
        assert "nowhere" in str(err.value)


def test_empty_root_names_the_expected_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"expected CASME2-coding-\*\.xlsx in"):
        read_dataset("casme2", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="SAMM_Micro_FACS_Codes_v2.xlsx"):
        read_dataset("samm", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="HS/s1/micro"):
        read_dataset("smic", tmp_path)


def test_unknown_dataset_and_option_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="known datasets"):
        read_dataset("casme3", tmp_path)
    with pytest.raises(ConfigError, match="accepted"):
        read_dataset("smic", tmp_path, apex_rule="middle")
    root, _ = WRITERS["smic"](tmp_path)
    with pytest.raises(ConfigError, match="variant"):
        read_dataset("smic", root, variant="XX")
