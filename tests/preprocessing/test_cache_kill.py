"""A killed preprocessing run leaves no truncated cache file, and the next run completes it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from microexpr.cliptable import new_clip_table
from microexpr.inputs import load_inputs_with_stats

from tests.preprocessing.synthclips import clip_row, planted_clip, write_clip

CHILD = r"""
import json, os, signal, sys
import numpy as np
from microexpr.cliptable import new_clip_table
from microexpr.inputs import load_inputs

rows, cache, mode = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
if mode == "die_mid_write":
    real_save = np.save
    def half_save(fh, arr, allow_pickle=False):
        import io
        buf = io.BytesIO()
        real_save(buf, arr, allow_pickle=allow_pickle)
        fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of writing the file
    np.save = half_save
load_inputs(new_clip_table(rows), "flow_image", {"flow_preset": "fast"}, cache_dir=cache, n_jobs=1, progress=False)
"""


@pytest.fixture(scope="module")
def rows(tmp_path_factory, window_landmarks) -> list[dict]:
    root = tmp_path_factory.mktemp("killcorpus")
    frames, _ = planted_clip(n_frames=14, apex=8)
    paths = write_clip(root / "c", frames, np.repeat(window_landmarks[None], 14, 0))
    lm = str(root / "c" / "landmarks68.npy")
    # eight clips sharing frames but with different apex positions (so different arrays)
    return [clip_row(f"toy/s{k}/c{k}", paths, 0, 4 + k % 8, 13, lm) for k in range(8)]


def run_child(rows: list[dict], cache: Path, mode: str) -> subprocess.Popen:
    spec = cache.parent / f"rows_{mode}.json"
    spec.write_text(json.dumps([{**r, "frames": list(r["frames"])} for r in rows]))
    return subprocess.Popen([sys.executable, "-c", CHILD, str(spec), str(cache), mode])


def check_complete(cache: Path) -> int:
    finals = list(cache.rglob("*.npy"))
    for f in finals:
        arr = np.load(f, allow_pickle=False)  # raises on a truncated file
        if f.parent.name == "_flow":  # the onset -> apex flow step: a crop-sized float32 field
            assert arr.dtype == np.float32 and arr.ndim == 3 and arr.shape[2] == 2
        else:
            assert arr.shape in {(28, 28, 3), (68, 2)}
    return len([f for f in finals if f.parent.name == "flow_image"])


def test_death_in_the_middle_of_a_write(rows, tmp_path):
    cache = tmp_path / "cache"
    proc = run_child(rows, cache, "die_mid_write")
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert check_complete(cache) == 0  # the half-written array never got its final name
    assert list(cache.rglob(".*.tmp"))  # (the dead writer's temporary file is all that is left)
    table = new_clip_table(rows)
    _, st = load_inputs_with_stats(table, "flow_image", {"flow_preset": "fast"}, cache_dir=cache, n_jobs=1,
                                   progress=False)
    assert st.computed == len(rows)


def test_sigkill_at_an_arbitrary_moment(rows, tmp_path):
    cache = tmp_path / "cache"
    proc = run_child(rows, cache, "plain")
    deadline = time.monotonic() + 120
    while not list(cache.glob("flow_image/*.npy")):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the child finished or stalled before it could be killed")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = check_complete(cache)
    assert 1 <= done_before < len(rows)
    table = new_clip_table(rows)
    arr, st = load_inputs_with_stats(table, "flow_image", {"flow_preset": "fast"}, cache_dir=cache, n_jobs=1,
                                     progress=False)
    assert st.cached == done_before and st.computed == len(rows) - done_before
    fresh, _ = load_inputs_with_stats(table, "flow_image", {"flow_preset": "fast"}, cache_dir=None, n_jobs=1,
                                      progress=False)
    np.testing.assert_array_equal(arr, fresh)  # what survived the kill is exactly right
