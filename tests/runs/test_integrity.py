"""Run-directory integrity: one live run per directory (a lock), and no resume over changed clips."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from microexpr.config import config_from_dict
from microexpr.datasets.layouts import ClipSpec, write_layout
from microexpr.errors import ConfigError
from microexpr.runs import execute_run
from microexpr.runs.lock import RunLockedError


def _corpus(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    clips = [ClipSpec(f"sub0{s}", f"EP0{c}_0{s}", [rng.integers(0, 255, (8, 8, 3), dtype=np.uint8) for _ in range(6)],
                      1, onset=1, apex=3, offset=6, emotion=("happiness", "disgust")[c % 2])
             for s in (1, 2, 3) for c in (1, 2)]
    return write_layout("casme2", tmp_path / "casme2", clips)


def _config(root: Path):
    return config_from_dict({"name": "integrity", "data": {"datasets": {"casme2": str(root)}, "scheme": "native"},
                             "protocol": {"name": "loso"}, "method": {"name": "majority"}})


def _holder(run_dir: Path) -> subprocess.Popen:
    """Another process holding the run directory's lock until it is killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from microexpr.runs.lock import run_lock
        with run_lock(Path({str(run_dir)!r})):
            print("locked", flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_live_run_holds_the_directory_and_a_dead_ones_lock_is_taken_over(tmp_path):
    root, run_dir = _corpus(tmp_path), tmp_path / "run"
    run_dir.mkdir()
    holder = _holder(run_dir)
    try:
        with pytest.raises(RunLockedError, match=rf"in use by another run: PID {holder.pid} on host"):
            execute_run(_config(root), run_dir, progress=False)
        assert not list(run_dir.glob("folds/**/*.csv"))  # the refused run wrote no fold
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # dies holding the lock: the kernel releases it
        holder.wait()
    res = execute_run(_config(root), run_dir, progress=False)
    assert len(res.computed) == 3
    log = (run_dir / "run.log").read_text()
    assert f"took over the lock left by PID {holder.pid}" in log and "no longer running" in log
    # a cleanly finished run leaves nothing stale behind
    execute_run(_config(root), run_dir, progress=False)
    assert (run_dir / "run.log").read_text().count("took over the lock") == 1


def test_resume_after_the_sheet_changed_is_refused_listing_the_clips(tmp_path):
    root, run_dir = _corpus(tmp_path), tmp_path / "run"
    execute_run(_config(root), run_dir, progress=False)
    for f in list((run_dir / "folds").rglob("*.csv"))[:2]:
        f.unlink()  # an interrupted run: two folds to compute again
    sheet = next(root.glob("*.xlsx"))
    wb = openpyxl.load_workbook(sheet)
    ws = wb.active
    header = [c.value for c in ws[1]]
    col = header.index("ApexFrame") + 1
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, header.index("Filename") + 1).value == "EP01_02":
            ws.cell(row, col).value = 5
    wb.save(sheet)
    with pytest.raises(ConfigError, match=r"annotations or frame files changed .*\['casme2/sub02/EP01_02'\]"):
        execute_run(_config(root), run_dir, progress=False)
    assert len(list((run_dir / "folds").rglob("*.csv"))) == 1  # nothing computed under the new annotations
