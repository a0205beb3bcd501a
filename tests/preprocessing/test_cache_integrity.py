"""Cache entries are checked, not trusted: dtype and shape against the representation and a
checksum beside each file; a bad entry is named, deleted and recomputed (never used)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from microexpr.cliptable import new_clip_table
from microexpr.inputs import load_inputs_with_stats

from tests.preprocessing.synthclips import clip_row, planted_clip, write_clip


@pytest.fixture()
def clip_table(tmp_path, window_landmarks):
    frames, _ = planted_clip(n_frames=16, apex=9)
    paths = write_clip(tmp_path / "c0", frames, np.repeat(window_landmarks[None], len(frames), 0))
    return new_clip_table([clip_row("toy/s0/c0", paths, 0, 9, 15, str(tmp_path / "c0" / "landmarks68.npy"))])


@pytest.mark.parametrize("poison,why", [
    (lambda a: np.full(a.shape, 300, np.float32), "holds float32"),  # what an adversary (or a bug) left there
    (lambda a: np.zeros((a.shape[0] + 1, *a.shape[1:]), a.dtype), "holds uint8 (29, 28, 3) where uint8 (28, 28, 3)"),
    (lambda a: np.zeros_like(a), "does not match its checksum"),  # right dtype and shape, other content
])
def test_a_poisoned_cache_entry_is_named_deleted_and_recomputed(tmp_path, clip_table, caplog, poison, why):
    cache = tmp_path / "cache"
    kw = dict(cache_dir=cache, n_jobs=1, progress=False)
    good, _ = load_inputs_with_stats(clip_table, "flow_image", **kw)
    (entry,) = (cache / "flow_image").glob("*.npy")
    np.save(entry, poison(good[0]))
    with caplog.at_level(logging.WARNING, logger="microexpr"):
        again, stats = load_inputs_with_stats(clip_table, "flow_image", **kw)
    assert f"cache file {entry} {why}" in caplog.text and "deleting it and recomputing" in caplog.text
    assert stats.computed == 1
    np.testing.assert_array_equal(again, good)  # the recomputed array, bit for bit
    _, third = load_inputs_with_stats(clip_table, "flow_image", **kw)
    assert third.computed == 0  # the replacement is trusted again
